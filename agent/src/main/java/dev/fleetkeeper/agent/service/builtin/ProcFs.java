package dev.fleetkeeper.agent.service.builtin;

import java.io.IOException;
import java.io.UncheckedIOException;
import dev.fleetkeeper.agent.telemetry.ProcLookup;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The few {@code /proc} reads the built-in driver needs to prove what a pid is before it acts
 * on it. Stateless apart from the root path; thread-safe. Not the telemetry scanner's reader:
 * these reads are rare (a start, a stop, a poll per adopted instance), so clarity wins over
 * allocation.
 */
final class ProcFs {

    private final Path root;
    private final ProcLookup lookup;

    ProcFs(Path root) {
        this.root = root;
        this.lookup = new ProcLookup(root);
    }

    /** One process's {@code /proc/PID/stat}: the fields the driver needs. */
    record Stat(int pid, char state, int pgrp, int session, long startTicks) {
        /** A zombie or dead task: it holds its pid but can neither run nor be signalled usefully. */
        boolean dead() {
            return state == 'Z' || state == 'X' || state == 'x';
        }

        static Stat of(ProcLookup.Stat s) {
            return s == null ? null : new Stat(s.pid(), s.state(), s.pgrp(), s.session(), s.startTicks());
        }
    }

    /** {@code /proc/PID/stat} of {@code pid}, or null if there is no such process. */
    Stat stat(int pid) {
        return Stat.of(lookup.stat(pid));
    }

    /** Parses a stat line (see {@link ProcLookup#parseStat}). */
    static Stat parseStat(int pid, String text) {
        return Stat.of(ProcLookup.parseStat(pid, text));
    }

    /** The environment of {@code pid}, empty if gone or unreadable. */
    Map<String, String> environ(int pid) {
        return lookup.environ(pid);
    }

    /** Every live (not zombie) process whose process group is {@code pgid}. */
    List<Stat> liveMembers(int pgid) {
        List<Stat> out = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path d : dirs) {
                String name = d.getFileName().toString();
                if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
                    continue;
                }
                int pid;
                try {
                    pid = Integer.parseInt(name);
                } catch (NumberFormatException e) {
                    continue;
                }
                Stat s = stat(pid);
                if (s != null && s.pgrp() == pgid && !s.dead()) {
                    out.add(s);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root, e);
        }
        return out;
    }

    /** This boot's id ({@code sys/kernel/random/boot_id}), "" if unreadable. */
    String bootId() {
        try {
            return Files.readString(root.resolve("sys/kernel/random/boot_id"), StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            return "";
        }
    }

    /** The effective uid of this JVM, from {@code self/status}; -1 if unreadable. */
    int selfEffectiveUid() {
        try {
            for (String line : Files.readAllLines(root.resolve("self/status"), StandardCharsets.ISO_8859_1)) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
