package dev.fleetkeeper.agent.telemetry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * One-off reads of a single process under a {@code /proc} root, for code that must prove what a
 * pid is right before it acts on it (drivers, remedies): its {@code stat} fields and its
 * environment. Stateless apart from the root; thread-safe. Not the scanner's reader: these reads
 * are rare, so clarity wins over allocation.
 */
public final class ProcLookup {

    private final Path root;

    public ProcLookup(Path root) {
        this.root = root;
    }

    /** The fields of {@code /proc/PID/stat} that identify a process and its group. */
    public record Stat(int pid, char state, int ppid, int pgrp, int session, long startTicks) {
        /** A zombie or dead task: it holds its pid but can neither run nor be signalled usefully. */
        public boolean dead() {
            return state == 'Z' || state == 'X' || state == 'x';
        }
    }

    /** {@code /proc/PID/stat} of {@code pid}, or null if there is no such process. */
    public Stat stat(int pid) {
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
     * clock ticks after boot. Null when the line is malformed.
     */
    public static Stat parseStat(int pid, String text) {
        int close = text.lastIndexOf(')');
        if (close < 0) {
            return null;
        }
        String[] f = text.substring(close + 1).trim().split(" ");
        if (f.length < 20 || f[0].isEmpty()) {
            return null;
        }
        // f[0] is field 3 (state), so field n is f[n - 3].
        try {
            return new Stat(pid, f[0].charAt(0), Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]),
                    Long.parseLong(f[19]));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The environment of {@code pid}; empty if it is gone or not readable (another user's, and we are not root). */
    public Map<String, String> environ(int pid) {
        byte[] raw;
        try {
            raw = Files.readAllBytes(root.resolve(Integer.toString(pid)).resolve("environ"));
        } catch (IOException e) {
            return Map.of();
        }
        return parseEnviron(raw);
    }

    /** NUL-separated KEY=VALUE entries; entries without '=' are skipped. */
    public static Map<String, String> parseEnviron(byte[] raw) {
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
}
