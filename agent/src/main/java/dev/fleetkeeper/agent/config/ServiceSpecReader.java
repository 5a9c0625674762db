package dev.fleetkeeper.agent.config;

import static dev.fleetkeeper.agent.config.AgentConfigLoader.isNull;
import static dev.fleetkeeper.agent.config.AgentConfigLoader.kind;
import static dev.fleetkeeper.agent.config.AgentConfigLoader.line;
import static dev.fleetkeeper.agent.config.AgentConfigLoader.where;

import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.BackoffSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.CrashLoopSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.Capacity;
import dev.fleetkeeper.agent.service.ServiceSpec.LogSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.MemorySpec;
import dev.fleetkeeper.agent.service.ServiceSpec.Pm2Spec;
import dev.fleetkeeper.agent.service.ServiceSpec.RemedyPolicy;
import dev.fleetkeeper.agent.service.ServiceSpec.RestartPolicy;
import dev.fleetkeeper.agent.service.ServiceSpec.SupervisorSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.WritablePath;
import dev.fleetkeeper.agent.probe.ProbeSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads the {@code services} list of {@code agent.yaml} into {@link ServiceDeclaration}s. An
 * error inside one service's entry (unknown driver, unknown key, bad value) makes that service
 * invalid, with file, line and key in its error, and leaves the others alone; only a
 * {@code services} value that is not a list fails the whole file.
 */
final class ServiceSpecReader {

    static final List<String> KEYS = List.of("name", "driver", "instances", "command", "args", "env", "workingDir",
            "user", "ports", "portStride", "pidfile", "writablePaths", "stopSignal", "stopTimeout", "restart", "backoff",
            "crashLoop", "startTimeout", "version", "remedies", "logs", "supervisor", "pm2", "memory", "releases",
            "probe");
    private static final List<String> BACKOFF_KEYS = List.of("initial", "max", "resetAfter");
    private static final List<String> CRASH_LOOP_KEYS = List.of("restarts", "window");
    private static final List<String> LOGS_KEYS = List.of("dir", "maxSize", "keep");
    private static final List<String> SUPERVISOR_KEYS = List.of("url", "username", "password", "program", "configFile");
    private static final List<String> PM2_KEYS = List.of("bin", "home", "app");
    private static final List<String> MEMORY_KEYS = List.of("limit", "window", "warmUp", "overLimitFor",
            "forecastUnder", "maxAge", "maxRecycling", "minAvailable", "baselineSettle", "baselineTolerance");
    private static final List<String> PATH_KEYS = List.of("path", "owner", "mode");

    private final AgentConfigLoader.Reader r;

    ServiceSpecReader(AgentConfigLoader.Reader r) {
        this.r = r;
    }

    List<ServiceDeclaration> services(String key, Node node) {
        if (node == null || isNull(node)) {
            return List.of();
        }
        if (!(node instanceof SequenceNode)) {
            throw r.error(key, node, "expected a list of services (- name: web ...), got " + kind(node));
        }
        List<ServiceDeclaration> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        List<Node> items = ((SequenceNode) node).getValue();
        for (int i = 0; i < items.size(); i++) {
            String path = key + "[" + i + "]";
            Node item = items.get(i);
            String name = nameOf(item, path);
            try {
                ServiceSpec spec = spec(path, item);
                if (!names.add(spec.name())) {
                    throw r.error(path + ".name", item, "service '" + spec.name() + "' is declared twice");
                }
                out.add(ServiceDeclaration.valid(spec));
            } catch (ConfigException e) {
                out.add(ServiceDeclaration.invalid(name, e.getMessage()));
            }
        }
        return out;
    }

    /** The entry's name for reports, even when the rest of it is broken. */
    private static String nameOf(Node item, String path) {
        if (item instanceof MappingNode m) {
            for (NodeTuple t : m.getValue()) {
                if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals("name")
                        && t.getValueNode() instanceof ScalarNode v && !v.getValue().isBlank()) {
                    return v.getValue();
                }
            }
        }
        return path;
    }

    private ServiceSpec spec(String path, Node item) {
        Map<String, Node> m = r.mapping(path, item, KEYS);
        if (!m.containsKey("name")) {
            throw r.error(path, item, "missing key 'name'");
        }
        if (!m.containsKey("driver")) {
            throw r.error(path, item, "missing key 'driver' (builtin, supervisor or pm2)");
        }
        String name = r.string(path + ".name", m.get("name"), "");
        DriverKind driver = r.value(path + ".driver", m.get("driver"), null, "a driver", DriverKind::parse);
        Map<String, Node> backoff = r.mapping(path + ".backoff", m.get("backoff"), BACKOFF_KEYS);
        Map<String, Node> loop = r.mapping(path + ".crashLoop", m.get("crashLoop"), CRASH_LOOP_KEYS);
        Map<String, Node> logs = r.mapping(path + ".logs", m.get("logs"), LOGS_KEYS);
        Map<String, Node> sup = r.mapping(path + ".supervisor", m.get("supervisor"), SUPERVISOR_KEYS);
        Map<String, Node> pm2 = r.mapping(path + ".pm2", m.get("pm2"), PM2_KEYS);
        BackoffSpec bd = BackoffSpec.DEFAULT;
        CrashLoopSpec cd = CrashLoopSpec.DEFAULT;
        LogSpec ld = LogSpec.DEFAULT;
        try {
            String dir = r.string(path + ".logs.dir", logs.get("dir"), "");
            String configFile = r.string(path + ".supervisor.configFile", sup.get("configFile"), "");
            String pm2Home = r.string(path + ".pm2.home", pm2.get("home"), "");
            String workingDir = r.string(path + ".workingDir", m.get("workingDir"), "");
            String releases = r.string(path + ".releases", m.get("releases"), "");
            return new ServiceSpec(
                    name,
                    driver,
                    r.value(path + ".instances", m.get("instances"), 1, "a whole number", Integer::parseInt),
                    r.string(path + ".command", m.get("command"), ""),
                    strings(path + ".args", m.get("args")),
                    map(path + ".env", m.get("env")),
                    workingDir.isEmpty() ? null : Path.of(workingDir),
                    r.string(path + ".user", m.get("user"), ""),
                    ints(path + ".ports", m.get("ports")),
                    r.value(path + ".portStride", m.get("portStride"), 1, "a whole number", Integer::parseInt),
                    r.string(path + ".pidfile", m.get("pidfile"), ""),
                    paths(path + ".writablePaths", m.get("writablePaths")),
                    r.value(path + ".stopSignal", m.get("stopSignal"), "TERM", "a signal name such as TERM",
                            s -> s.toUpperCase(Locale.ROOT).replaceFirst("^SIG", "")),
                    r.duration(path + ".stopTimeout", m.get("stopTimeout"), ServiceSpec.DEFAULT_STOP_TIMEOUT),
                    r.value(path + ".restart", m.get("restart"), RestartPolicy.ALWAYS, "always, on-failure or never",
                            ServiceSpecReader::restart),
                    new BackoffSpec(
                            r.duration(path + ".backoff.initial", backoff.get("initial"), bd.initial()),
                            r.duration(path + ".backoff.max", backoff.get("max"), bd.max()),
                            r.duration(path + ".backoff.resetAfter", backoff.get("resetAfter"), bd.resetAfter())),
                    new CrashLoopSpec(
                            r.value(path + ".crashLoop.restarts", loop.get("restarts"), cd.restarts(), "a whole number",
                                    Integer::parseInt),
                            r.duration(path + ".crashLoop.window", loop.get("window"), cd.window())),
                    r.duration(path + ".startTimeout", m.get("startTimeout"), ServiceSpec.DEFAULT_START_TIMEOUT),
                    r.string(path + ".version", m.get("version"), ""),
                    r.value(path + ".remedies", m.get("remedies"), RemedyPolicy.REFUSE, "auto or refuse",
                            ServiceSpecReader::remedies),
                    new LogSpec(dir.isEmpty() ? null : Path.of(dir),
                            r.value(path + ".logs.maxSize", logs.get("maxSize"), ld.maxBytes(), "a size such as 10MiB",
                                    ServiceSpecReader::size),
                            r.value(path + ".logs.keep", logs.get("keep"), ld.keep(), "a whole number", Integer::parseInt)),
                    driver == DriverKind.SUPERVISOR ? new SupervisorSpec(
                            r.string(path + ".supervisor.url", sup.get("url"), SupervisorSpec.DEFAULT_URL),
                            r.string(path + ".supervisor.username", sup.get("username"), ""),
                            r.string(path + ".supervisor.password", sup.get("password"), ""),
                            r.string(path + ".supervisor.program", sup.get("program"), name),
                            configFile.isEmpty() ? null : Path.of(configFile)) : noSettings(path, "supervisor", m),
                    driver == DriverKind.PM2 ? new Pm2Spec(
                            r.string(path + ".pm2.bin", pm2.get("bin"), "pm2"),
                            pm2Home.isEmpty() ? null : Path.of(pm2Home),
                            r.string(path + ".pm2.app", pm2.get("app"), name)) : noSettings(path, "pm2", m),
                    memory(path + ".memory", m.get("memory")),
                    releases.isEmpty() ? null : Path.of(releases),
                    r.value(path + ".probe", m.get("probe"), null, ProbeSpec.SYNTAX, ProbeSpec::parse));
        } catch (IllegalArgumentException e) {
            // A validation message starts with the key it is about ("instances: 0 (...)").
            String message = e.getMessage();
            int colon = message.indexOf(':');
            String key = colon > 0 ? path + "." + message.substring(0, colon) : path;
            Integer at = r.keyLines.get(key);
            throw new ConfigException(where(r.source, at == null ? line(item) : at) + "service '" + name + "': " + message, e);
        }
    }

    /** The {@code memory:} section, null when absent: no memory policy. */
    private MemorySpec memory(String key, Node node) {
        if (node == null || isNull(node)) {
            return null;
        }
        Map<String, Node> mem = r.mapping(key, node, MEMORY_KEYS);
        MemorySpec d = MemorySpec.DEFAULTS;
        return new MemorySpec(
                r.value(key + ".limit", mem.get("limit"), d.limitBytes(), "a size such as 512MiB (0: the host share)",
                        ServiceSpecReader::size),
                r.duration(key + ".window", mem.get("window"), d.window()),
                r.duration(key + ".warmUp", mem.get("warmUp"), d.warmUp()),
                r.value(key + ".overLimitFor", mem.get("overLimitFor"), d.overLimitSamples(), "a whole number of samples",
                        Integer::parseInt),
                r.value(key + ".forecastUnder", mem.get("forecastUnder"), d.forecastUnder(),
                        "a duration such as 10m, or off", ServiceSpecReader::durationOrOff),
                r.value(key + ".maxAge", mem.get("maxAge"), d.maxAge(), "a duration such as 12h, or off",
                        ServiceSpecReader::durationOrOff),
                r.value(key + ".maxRecycling", mem.get("maxRecycling"), d.maxRecycling(), "a whole number",
                        Integer::parseInt),
                r.value(key + ".minAvailable", mem.get("minAvailable"), d.minAvailable(), "a number or a percentage",
                        Capacity::parse),
                r.duration(key + ".baselineSettle", mem.get("baselineSettle"), d.baselineSettle()),
                r.value(key + ".baselineTolerance", mem.get("baselineTolerance"), d.baselineTolerance(),
                        "a percentage such as 20%", ServiceSpecReader::percent));
    }

    /** "20%" as 0.2. */
    private static double percent(String text) {
        String s = text.trim();
        if (!s.endsWith("%")) {
            throw new IllegalArgumentException("'" + text + "' (expected: a percentage such as 20%)");
        }
        return Double.parseDouble(s.substring(0, s.length() - 1).trim()) / 100.0;
    }

    /** A duration, or "off" / "0" for zero (a trigger turned off). */
    private static Duration durationOrOff(String text) {
        String s = text.trim();
        return s.equals("off") || s.equals("0") ? Duration.ZERO : Durations.parse(s);
    }

    private <T> T noSettings(String path, String key, Map<String, Node> m) {
        if (m.containsKey(key)) {
            throw r.error(path + "." + key, m.get(key), "settings for driver '" + key + "', but the driver is another");
        }
        return null;
    }

    private static RestartPolicy restart(String s) {
        switch (s) {
            case "always": return RestartPolicy.ALWAYS;
            case "on-failure": return RestartPolicy.ON_FAILURE;
            case "never": return RestartPolicy.NEVER;
            default: throw new IllegalArgumentException("'" + s + "' (expected: always, on-failure or never)");
        }
    }

    private static RemedyPolicy remedies(String s) {
        switch (s) {
            case "auto": return RemedyPolicy.AUTO;
            case "refuse": return RemedyPolicy.REFUSE;
            default: throw new IllegalArgumentException("'" + s + "' (expected: auto or refuse)");
        }
    }

    /** "10485760", "512KiB", "10MiB", "1GiB" (also K, M, G, KB, MB, GB, all powers of 1024). */
    static long size(String text) {
        String s = text.trim();
        int split = 0;
        while (split < s.length() && Character.isDigit(s.charAt(split))) {
            split++;
        }
        if (split == 0) {
            throw new IllegalArgumentException("'" + text + "' is not a size (expected e.g. 10MiB, 512KiB, 1048576)");
        }
        long n = Long.parseLong(s.substring(0, split));
        switch (s.substring(split).trim().toUpperCase(Locale.ROOT)) {
            case "": case "B": return n;
            case "K": case "KB": case "KIB": return n << 10;
            case "M": case "MB": case "MIB": return n << 20;
            case "G": case "GB": case "GIB": return n << 30;
            default: throw new IllegalArgumentException("'" + text + "' is not a size (expected e.g. 10MiB, 512KiB, 1048576)");
        }
    }

    private List<String> strings(String key, Node node) {
        if (node == null || isNull(node)) {
            return List.of();
        }
        if (!(node instanceof SequenceNode)) {
            throw r.error(key, node, "expected a list of strings, e.g. [server.js, --port, '3000'], got " + kind(node));
        }
        List<String> out = new ArrayList<>();
        for (Node n : ((SequenceNode) node).getValue()) {
            if (!(n instanceof ScalarNode) || isNull(n)) {
                throw r.error(key, n, "expected a string, got " + (isNull(n) ? "nothing" : kind(n)));
            }
            out.add(((ScalarNode) n).getValue());
        }
        return out;
    }

    private List<Integer> ints(String key, Node node) {
        List<Integer> out = new ArrayList<>();
        for (String s : strings(key, node)) {
            try {
                out.add(Integer.parseInt(s));
            } catch (NumberFormatException e) {
                throw r.error(key, node, "'" + s + "' is not a port number");
            }
        }
        return out;
    }

    private Map<String, String> map(String key, Node node) {
        if (node == null || isNull(node)) {
            return Map.of();
        }
        if (!(node instanceof MappingNode)) {
            throw r.error(key, node, "expected a mapping of names to values, e.g. {NODE_ENV: production}, got " + kind(node));
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (NodeTuple t : ((MappingNode) node).getValue()) {
            String name = r.key(key, t.getKeyNode());
            Node v = t.getValueNode();
            if (!(v instanceof ScalarNode) || isNull(v)) {
                throw r.error(key + "." + name, v, "expected a value (text), got " + (isNull(v) ? "nothing" : kind(v)));
            }
            out.put(name, ((ScalarNode) v).getValue());
        }
        return out;
    }

    private List<WritablePath> paths(String key, Node node) {
        if (node == null || isNull(node)) {
            return List.of();
        }
        if (!(node instanceof SequenceNode)) {
            throw r.error(key, node, "expected a list of paths, got " + kind(node));
        }
        List<WritablePath> out = new ArrayList<>();
        List<Node> items = ((SequenceNode) node).getValue();
        for (int i = 0; i < items.size(); i++) {
            Node n = items.get(i);
            String at = key + "[" + i + "]";
            if (n instanceof ScalarNode s && !isNull(n)) {
                out.add(new WritablePath(Path.of(s.getValue()), "", -1));
                continue;
            }
            Map<String, Node> m = r.mapping(at, n, PATH_KEYS);
            if (!m.containsKey("path")) {
                throw r.error(at, n, "missing key 'path'");
            }
            out.add(new WritablePath(Path.of(r.string(at + ".path", m.get("path"), "")),
                    r.string(at + ".owner", m.get("owner"), ""),
                    r.value(at + ".mode", m.get("mode"), -1, "an octal mode such as '0750'", s -> Integer.parseInt(s, 8))));
        }
        return out;
    }
}
