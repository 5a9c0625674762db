package dev.fleetkeeper.agent.config;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.function.Function;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.CollectionStartEvent;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.events.NodeEvent;
import org.yaml.snakeyaml.events.ScalarEvent;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.parser.Parser;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Reads {@code agent.yaml} into an {@link AgentConfig}. Unknown keys, wrong types and bad
 * values fail with a {@link ConfigException} naming the file, line and key. Stateless.
 *
 * <p>Walks SnakeYAML's node tree (every node knows its line) rather than binding with Jackson:
 * the agent runs on every host and must stay small, and Jackson's 550 classes cost it about
 * 5 MiB of metaspace for a file read once at start.
 */
public final class AgentConfigLoader {

    private static final List<String> KEYS = List.of("controller", "hostId", "stateDir", "labels", "procRoot",
            "scan", "heartbeatInterval", "reconnect", "reconcileInterval", "services");
    private static final List<String> SCAN_KEYS = List.of("interval", "detailInterval");
    private static final List<String> RECONNECT_KEYS = List.of("initialBackoff", "maxBackoff");

    private AgentConfigLoader() {
    }

    /** Loads {@code file}; keys it does not set take their defaults. */
    public static AgentConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": no such file (pass --config with the path of agent.yaml, "
                    + "or see deploy/conf/agent.yaml.example)");
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(file.toString(), text);
    }

    /** Parses YAML {@code text}; {@code source} names it in errors. */
    public static AgentConfig parse(String source, String text) {
        AgentConfig d = AgentConfig.defaults(Path.of("/var/lib/fleetkeeper-agent"));
        Node root = compose(source, text);
        if (root == null || isNull(root)) {
            // No document (blank, or comments only) or an explicit null: every key is unset.
            return d;
        }
        Reader r = new Reader(source);
        Map<String, Node> top = r.mapping("", root, KEYS);
        Map<String, Node> scan = r.mapping("scan", top.get("scan"), SCAN_KEYS);
        Map<String, Node> reconnect = r.mapping("reconnect", top.get("reconnect"), RECONNECT_KEYS);
        try {
            return new AgentConfig(
                    r.string("controller", top.get("controller"), d.controller()),
                    r.string("hostId", top.get("hostId"), d.hostId()),
                    Path.of(r.string("stateDir", top.get("stateDir"), d.stateDir().toString())),
                    r.labels("labels", top.get("labels"), d.labels()),
                    Path.of(r.string("procRoot", top.get("procRoot"), d.procRoot().toString())),
                    r.duration("scan.interval", scan.get("interval"), d.scanInterval()),
                    r.duration("scan.detailInterval", scan.get("detailInterval"), d.detailInterval()),
                    r.duration("heartbeatInterval", top.get("heartbeatInterval"), d.heartbeatInterval()),
                    r.duration("reconnect.initialBackoff", reconnect.get("initialBackoff"),
                            d.reconnectInitialBackoff()),
                    r.duration("reconnect.maxBackoff", reconnect.get("maxBackoff"), d.reconnectMaxBackoff()),
                    r.duration("reconcileInterval", top.get("reconcileInterval"), d.reconcileInterval()),
                    new ServiceSpecReader(r).services("services", top.get("services")));
        } catch (IllegalArgumentException e) {
            // Validation messages start with the key they are about ("scan.interval: 0s (...)").
            String message = e.getMessage();
            int colon = message.indexOf(':');
            Integer line = colon > 0 ? r.keyLines.get(message.substring(0, colon)) : null;
            throw new ConfigException(where(source, line == null ? 0 : line) + message, e);
        }
    }

    /** The first document's node tree, or null when there is none. */
    private static Node compose(String source, String text) {
        try {
            Composer composer = new Composer(parser(text), new Resolver(), new LoaderOptions());
            return composer.checkNode() ? composer.getNode() : null;
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            String key = pathAtError(text);
            StringBuilder message = new StringBuilder(where(source, mark == null ? 0 : mark.getLine() + 1));
            if (!key.isEmpty()) {
                message.append("key '").append(key).append("': ");
            }
            message.append("not valid YAML: ").append(e.getProblem() != null ? e.getProblem() : e.getContext());
            if (e.getProblem() != null && e.getContext() != null) {
                message.append(" (").append(e.getContext());
                if (e.getContextMark() != null) {
                    message.append(" from line ").append(e.getContextMark().getLine() + 1);
                }
                message.append(')');
            }
            throw new ConfigException(message.toString(), e);
        } catch (YAMLException e) {
            throw new ConfigException(source + ": not valid YAML: " + e.getMessage(), e);
        }
    }

    private static Parser parser(String text) {
        return new ParserImpl(new StreamReader(new StringReader(text)), new LoaderOptions());
    }

    /**
     * The dotted key whose value the parser was reading when {@code text} stopped being valid
     * YAML, or "" at the top level. Replays the events up to the failure, keeping a path.
     */
    private static String pathAtError(String text) {
        // One frame per open mapping or sequence: the key being read (null between entries), or
        // the index of the item being read.
        final class Frame {
            final boolean mapping;
            String key;
            boolean inValue;
            int index = -1;

            Frame(boolean mapping) {
                this.mapping = mapping;
            }
        }
        Deque<Frame> frames = new ArrayDeque<>();
        try {
            Parser parser = parser(text);
            while (!parser.checkEvent(Event.ID.StreamEnd)) {
                Event event = parser.getEvent();
                boolean collectionEnd = event.is(Event.ID.MappingEnd) || event.is(Event.ID.SequenceEnd);
                if (collectionEnd) {
                    frames.pop();
                } else if (event instanceof NodeEvent) {
                    Frame parent = frames.peek();
                    if (parent != null && parent.mapping && !parent.inValue) {
                        parent.key = event instanceof ScalarEvent s ? s.getValue() : "?";
                    } else if (parent != null && !parent.mapping) {
                        parent.index++;
                    }
                    if (event instanceof CollectionStartEvent) {
                        frames.push(new Frame(event.is(Event.ID.MappingStart)));
                        continue;
                    }
                } else {
                    continue; // stream and document boundaries
                }
                // A node is complete: a key (its value comes next) or a value (a key comes next).
                Frame parent = frames.peek();
                if (parent != null && parent.mapping) {
                    if (parent.inValue) {
                        parent.key = null;
                    }
                    parent.inValue = !parent.inValue;
                }
            }
        } catch (YAMLException e) {
            // Stopped where the text stops being valid YAML: the frames hold the path to there.
        }
        StringJoiner path = new StringJoiner(".");
        for (var it = frames.descendingIterator(); it.hasNext(); ) {
            Frame f = it.next();
            if (f.mapping && f.key != null) {
                path.add(f.key);
            } else if (!f.mapping && f.index >= 0 && it.hasNext()) {
                path.add("[" + f.index + "]");
            }
        }
        return path.toString().replace(".[", "[");
    }

    static boolean isNull(Node node) {
        return node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
    }

    static String where(String source, int line) {
        return line > 0 ? source + ":" + line + ": " : source + ": ";
    }

    static int line(Node node) {
        return node.getStartMark().getLine() + 1;
    }

    static String kind(Node node) {
        if (node instanceof MappingNode) {
            return "a mapping (key: value, ...)";
        }
        if (node instanceof SequenceNode) {
            return "a list";
        }
        return "'" + ((ScalarNode) node).getValue() + "'";
    }

    /** Reads typed values out of nodes for one source; remembers the line of every key it met. */
    static final class Reader {
        final String source;
        /** Dotted key to the line it is set on, for validation errors found after reading. */
        final Map<String, Integer> keyLines = new HashMap<>();

        Reader(String source) {
            this.source = source;
        }

        /**
         * The entries of the mapping at {@code path} by key, the last of repeated keys winning;
         * empty when {@code node} is absent or null. Fails on a key not in {@code known}.
         */
        Map<String, Node> mapping(String path, Node node, List<String> known) {
            if (node == null || isNull(node)) {
                return Map.of();
            }
            if (!(node instanceof MappingNode)) {
                throw error(path, node, "expected a mapping (keys: " + String.join(", ", sorted(known))
                        + "), got " + kind(node));
            }
            Map<String, Node> entries = new HashMap<>();
            for (NodeTuple t : ((MappingNode) node).getValue()) {
                String key = key(path, t.getKeyNode());
                String dotted = path.isEmpty() ? key : path + "." + key;
                if (!known.contains(key)) {
                    throw new ConfigException(where(source, line(t.getKeyNode())) + "unknown key '" + dotted
                            + "' (known keys here: " + String.join(", ", sorted(known)) + ")");
                }
                keyLines.put(dotted, line(t.getKeyNode()));
                entries.put(key, t.getValueNode());
            }
            return entries;
        }

        String string(String key, Node node, String fallback) {
            return value(key, node, fallback, "a string", text -> text);
        }

        Duration duration(String key, Node node, Duration fallback) {
            return value(key, node, fallback, "a duration such as 30s", Durations::parse);
        }

        /** Label names to values, in file order; both are text. */
        Map<String, String> labels(String key, Node node, Map<String, String> fallback) {
            if (node == null || isNull(node)) {
                return fallback;
            }
            if (!(node instanceof MappingNode)) {
                throw error(key, node, "expected a mapping of label names to values, e.g. {role: web}, got "
                        + kind(node));
            }
            Map<String, String> labels = new LinkedHashMap<>();
            for (NodeTuple t : ((MappingNode) node).getValue()) {
                String name = key(key, t.getKeyNode());
                Node value = t.getValueNode();
                if (!(value instanceof ScalarNode) || isNull(value)) {
                    throw error(key + "." + name, value, "expected a label value (text), got "
                            + (isNull(value) ? "nothing" : kind(value)));
                }
                labels.put(name, ((ScalarNode) value).getValue());
            }
            return labels;
        }

        /** The scalar at {@code key} converted, {@code fallback} when absent or null. */
        <T> T value(String key, Node node, T fallback, String expected, Function<String, T> convert) {
            if (node == null || isNull(node)) {
                return fallback;
            }
            if (!(node instanceof ScalarNode)) {
                throw error(key, node, "expected " + expected + ", got " + kind(node));
            }
            try {
                return convert.apply(((ScalarNode) node).getValue());
            } catch (IllegalArgumentException e) {
                throw new ConfigException(where(source, line(node)) + "key '" + key + "': " + e.getMessage(), e);
            }
        }

        String key(String path, Node keyNode) {
            if (!(keyNode instanceof ScalarNode)) {
                throw error(path, keyNode, "expected a key name, got " + kind(keyNode));
            }
            return ((ScalarNode) keyNode).getValue();
        }

        ConfigException error(String key, Node node, String message) {
            return new ConfigException(where(source, line(node)) + (key.isEmpty() ? "" : "key '" + key + "': ")
                    + message);
        }

        private static List<String> sorted(List<String> keys) {
            return keys.stream().sorted().toList();
        }
    }
}
