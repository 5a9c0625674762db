package dev.fleetkeeper.agent.service.builtin;

import dev.fleetkeeper.agent.storage.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What the driver remembers about a running instance across an agent restart: the pid and its
 * start time (field 22 of {@code /proc/PID/stat}) within the boot {@code bootId}. The pair
 * names one process for the life of a boot; pids alone are reused. Immutable.
 *
 * <p>Stored as {@code key=value} lines in {@code STATE/services/SERVICE/INSTANCE}, written
 * atomically (temp file, fsync, rename, fsync of the directory): after a crash the file is the
 * old record or the new one, never half of each. Format 1; unknown keys are ignored, so a
 * later version may add keys without breaking an older reader. See the golden file
 * {@code builtin/instance-record-v1} in the test resources.
 */
record InstanceRecord(int pid, long startTicks, String bootId, long startedAtMillis, String version, int restarts) {

    static final int FORMAT = 1;

    InstanceRecord {
        Objects.requireNonNull(bootId, "bootId");
        Objects.requireNonNull(version, "version");
        if (pid <= 0) {
            throw new IllegalArgumentException("pid: " + pid + " (expected: > 0)");
        }
    }

    String encode() {
        return "# fleetkeeper built-in driver: one running instance (do not edit)\n"
                + "format=" + FORMAT + "\n"
                + "pid=" + pid + "\n"
                + "start_ticks=" + startTicks + "\n"
                + "boot_id=" + bootId + "\n"
                + "started_at_ms=" + startedAtMillis + "\n"
                + "version=" + version.replace('\n', ' ') + "\n"
                + "restarts=" + restarts + "\n";
    }

    /** Parses {@link #encode()}'s text; null if it is not a record this version can read. */
    static InstanceRecord decode(String text) {
        Map<String, String> kv = new HashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (!line.startsWith("#") && eq > 0) {
                kv.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        try {
            if (Integer.parseInt(kv.getOrDefault("format", "0")) != FORMAT) {
                return null;
            }
            return new InstanceRecord(Integer.parseInt(kv.get("pid")), Long.parseLong(kv.get("start_ticks")),
                    kv.getOrDefault("boot_id", ""), Long.parseLong(kv.getOrDefault("started_at_ms", "0")),
                    kv.getOrDefault("version", ""), Integer.parseInt(kv.getOrDefault("restarts", "0")));
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Reads the record at {@code file}; null if there is none or it is unreadable. */
    static InstanceRecord read(Path file) {
        try {
            return decode(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read instance record " + file, e);
        }
    }

    /** Replaces the record at {@code file} atomically and durably. */
    void write(Path file) {
        try {
            DurableFiles.replace(file, encode());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write instance record " + file, e);
        }
    }

    /** Deletes the record at {@code file}, if any. */
    static void delete(Path file) {
        try {
            if (Files.deleteIfExists(file)) {
                DurableFiles.syncDirectory(file.getParent());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete instance record " + file, e);
        }
    }

}
