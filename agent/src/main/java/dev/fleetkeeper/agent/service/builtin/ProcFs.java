package dev.fleetkeeper.agent.service.builtin;

import java.io.IOException;
import java.io.UncheckedIOException;
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

    ProcFs(Path root) {
        this.root = root;
    }

    /** One process's {@code /proc/PID/stat}: the fields the driver needs. */
    record Stat(int pid, char state, int pgrp, int session, long startTicks) {
        /** A zombie or dead task: it holds its pid but can neither run nor be signalled usefully. */
        boolean dead() {
            return state == 'Z' || state == 'X' || state == 'x';
        }
    }

    /** {@code /proc/PID/stat} of {@code pid}, or null if there is no such process. */
    Stat stat(int pid) {
        String text;
        try {
            text = Files.readString(root.resolve(Integer.toString(pid)).resolve("stat"), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return null;
        }
        return parseStat(pid, text);
    }

    /**
     * Parses a stat line. The command name (field 2) is in parentheses and may contain spaces
     * and parentheses, so fields are counted from the last ')'. Field 22 is the start time in
     * clock ticks after boot.
     */
    static Stat parseStat(int pid, String text) {
        int close = text.lastIndexOf(')');
        if (close < 0) {
            return null;
        }
        String[] f = text.substring(close + 1).trim().split(" ");
        if (f.length < 20) {
            return null;
        }
        // f[0] is field 3 (state), so field n is f[n - 3].
        try {
            return new Stat(pid, f[0].charAt(0), Integer.parseInt(f[2]), Integer.parseInt(f[3]), Long.parseLong(f[19]));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The environment of {@code pid}, empty if gone or unreadable. */
    Map<String, String> environ(int pid) {
        byte[] raw;
        try {
            raw = Files.readAllBytes(root.resolve(Integer.toString(pid)).resolve("environ"));
        } catch (IOException e) {
            return Map.of();
        }
        Map<String, String> env = new HashMap<>();
        int start = 0;
        for (int i = 0; i <= raw.length; i++) {
            if (i == raw.length || raw[i] == 0) {
                if (i > start) {
                    String kv = new String(raw, start, i - start, StandardCharsets.UTF_8);
                    int eq = kv.indexOf('=');
                    if (eq > 0) {
                        env.put(kv.substring(0, eq), kv.substring(eq + 1));
                    }
                }
                start = i + 1;
            }
        }
        return env;
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
