package dev.fleetkeeper.controller.config;

import java.time.Duration;
import java.util.Locale;

/**
 * Parses the duration syntax of Fleetkeeper config files: a whole number followed by
 * {@code ms}, {@code s}, {@code m}, {@code h} or {@code d} ({@code 500ms}, {@code 30s},
 * {@code 48h}). Stateless.
 */
public final class Durations {

    private Durations() {
    }

    /**
     * Parses {@code text}; throws {@link IllegalArgumentException} with the expected syntax
     * when it does not parse.
     */
    public static Duration parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        int split = 0;
        while (split < s.length() && Character.isDigit(s.charAt(split))) {
            split++;
        }
        if (split == 0 || split == s.length()) {
            throw invalid(text);
        }
        long amount;
        try {
            amount = Long.parseLong(s.substring(0, split));
        } catch (NumberFormatException e) {
            throw invalid(text);
        }
        switch (s.substring(split)) {
            case "ms": return Duration.ofMillis(amount);
            case "s": return Duration.ofSeconds(amount);
            case "m": return Duration.ofMinutes(amount);
            case "h": return Duration.ofHours(amount);
            case "d": return Duration.ofDays(amount);
            default: throw invalid(text);
        }
    }

    /** Formats {@code d} in the largest unit that represents it exactly. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 86_400_000L == 0 && ms != 0) {
            return ms / 86_400_000L + "d";
        }
        if (ms % 3_600_000L == 0 && ms != 0) {
            return ms / 3_600_000L + "h";
        }
        if (ms % 60_000L == 0 && ms != 0) {
            return ms / 60_000L + "m";
        }
        if (ms % 1000L == 0) {
            return ms / 1000L + "s";
        }
        return ms + "ms";
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException("'" + text
                + "' is not a duration (expected: a whole number and a unit, e.g. 500ms, 30s, 5m, 48h, 14d)");
    }
}
