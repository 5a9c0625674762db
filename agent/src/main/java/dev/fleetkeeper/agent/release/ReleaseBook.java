package dev.fleetkeeper.agent.release;

import dev.fleetkeeper.agent.probe.ProbeSpec;
import dev.fleetkeeper.agent.storage.DurableFiles;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The release each instance of each service has been moved to, kept in the agent's state
 * directory so that an agent restart keeps every instance on its release. One JSON file per
 * service ({@code <dir>/<service>.json}), replaced atomically and durably on every change
 * (temp file, fsync, rename, fsync of the directory): after a crash it is the old or the new
 * book, never a mix. An instance with no entry runs the declared spec. Thread-safe; owned by
 * the service manager.
 *
 * <p>A file that cannot be read is logged and left alone (never deleted): its service's
 * instances run their declared spec until it is fixed or the next release replaces it.
 */
public final class ReleaseBook {

    private static final Logger log = LoggerFactory.getLogger(ReleaseBook.class);
    private static final int FORMAT = 1;

    /** Null: in memory only (tests, demos). */
    private final Path dir;
    private final Map<String, TreeMap<Integer, Release>> releases = new HashMap<>();

    private ReleaseBook(Path dir) {
        this.dir = dir;
    }

    /** A book that keeps nothing on disk. */
    public static ReleaseBook inMemory() {
        return new ReleaseBook(null);
    }

    /** Loads the book kept in {@code dir} (created on the first write). */
    public static ReleaseBook open(Path dir) {
        ReleaseBook book = new ReleaseBook(dir);
        if (!Files.isDirectory(dir)) {
            return book;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
            for (Path f : files) {
                String service = f.getFileName().toString().replaceFirst("\\.json$", "");
                try {
                    book.releases.put(service, decode(Files.readString(f, StandardCharsets.UTF_8)));
                } catch (IOException | RuntimeException e) {
                    log.error("Cannot read the releases of service '{}' from {}: {}; its instances run the declared "
                            + "spec until the file is fixed or removed", service, f, e.toString());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the release records in " + dir + ": " + e.getMessage(), e);
        }
        return book;
    }

    /** The release applied to {@code service}'s instance {@code instance}, or null: the declared spec. */
    public synchronized Release get(String service, int instance) {
        TreeMap<Integer, Release> byInstance = releases.get(service);
        return byInstance == null ? null : byInstance.get(instance);
    }

    /** Every instance of {@code service} with a release, by index. */
    public synchronized Map<Integer, Release> of(String service) {
        TreeMap<Integer, Release> byInstance = releases.get(service);
        return byInstance == null ? Map.of() : Map.copyOf(byInstance);
    }

    /**
     * Records {@code release} (null: none, back to the declared spec) for the instance, durably
     * before it returns. On a write failure nothing changes, in memory or on disk.
     *
     * @throws UncheckedIOException when the file cannot be written
     */
    public synchronized void put(String service, int instance, Release release) {
        TreeMap<Integer, Release> next = new TreeMap<>(releases.getOrDefault(service, new TreeMap<>()));
        if (release == null) {
            next.remove(instance);
        } else {
            next.put(instance, release);
        }
        if (dir != null) {
            write(dir.resolve(service + ".json"), encode(next));
        }
        releases.put(service, next);
    }

    // ---- format -----------------------------------------------------------------------------

    static String encode(Map<Integer, Release> byInstance) {
        JsonObject root = new JsonObject();
        root.addProperty("format", FORMAT);
        JsonObject instances = new JsonObject();
        for (Map.Entry<Integer, Release> e : byInstance.entrySet()) {
            Release r = e.getValue();
            JsonObject o = new JsonObject();
            o.addProperty("version", r.version());
            o.addProperty("command", r.command());
            JsonArray args = new JsonArray();
            r.args().forEach(args::add);
            o.add("args", args);
            o.addProperty("argsSet", r.argsSet());
            JsonObject env = new JsonObject();
            new TreeMap<>(r.env()).forEach(env::addProperty);
            o.add("env", env);
            if (r.probe() != null) {
                o.addProperty("probe", r.probe().toString());
            }
            instances.add(Integer.toString(e.getKey()), o);
        }
        root.add("instances", instances);
        return root + "\n";
    }

    static TreeMap<Integer, Release> decode(String text) {
        JsonObject root = JsonParser.parseString(text).getAsJsonObject();
        int format = root.get("format").getAsInt();
        if (format != FORMAT) {
            throw new IllegalArgumentException("format " + format + " (expected: " + FORMAT
                    + "; written by another agent version)");
        }
        TreeMap<Integer, Release> out = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : root.getAsJsonObject("instances").entrySet()) {
            JsonObject o = e.getValue().getAsJsonObject();
            List<String> args = new ArrayList<>();
            o.getAsJsonArray("args").forEach(a -> args.add(a.getAsString()));
            Map<String, String> env = new LinkedHashMap<>();
            o.getAsJsonObject("env").entrySet().forEach(kv -> env.put(kv.getKey(), kv.getValue().getAsString()));
            // "probe" is absent from books written before releases carried probes: the declared one.
            out.put(Integer.parseInt(e.getKey()), new Release(o.get("version").getAsString(),
                    o.get("command").getAsString(), args, o.get("argsSet").getAsBoolean(), env,
                    o.has("probe") ? ProbeSpec.parse(o.get("probe").getAsString()) : null));
        }
        return out;
    }

    /** Replaces {@code file} atomically and durably. */
    private static void write(Path file, String content) {
        try {
            DurableFiles.replace(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record releases in " + file + ": " + e.getMessage(), e);
        }
    }
}
