package dev.fleetkeeper.cli.output;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people type and read them: {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h30m},
 * {@code 14d}, the same text the config files use. Stateless.
 */
public final class Durations {
    private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

    private Durations() {}

    /**
     * Parses one or more {@code <number><unit>} parts, units {@code ms s m h d}.
     *
     * @throws IllegalArgumentException saying what was expected
     */
    public static Duration parse(String text) {
        String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        Matcher m = PART.matcher(s);
        Duration total = Duration.ZERO;
        int at = 0;
        while (at < s.length() && m.find(at) && m.start() == at) {
            long n;
            try {
                n = Long.parseLong(m.group(1));
            } catch (NumberFormatException e) {
                throw invalid(text);
            }
            total = total.plus(switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            });
            at = m.end();
        }
        if (s.isEmpty() || at != s.length()) {
            throw invalid(text);
        }
        return total;
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException(
                "'" + text + "' is not a duration (expected: a number and a unit, e.g. 500ms, 30s, 10m, 2h, 1h30m, 14d)");
    }

    /**
     * The coarsest one or two units that describe {@code d}: {@code 0s}, {@code 3s}, {@code 5m},
     * {@code 2h5m}, {@code 3d4h}; sub-second durations below one second show as ms.
     */
    public static String format(Duration d) {
        Duration abs = d.abs();
        long seconds = abs.toSeconds();
        if (seconds == 0) {
            return abs.toMillis() == 0 ? "0s" : abs.toMillis() + "ms";
        }
        if (seconds < 60) {
            return seconds + "s";
        }
        long minutes = seconds / 60;
        if (minutes < 60) {
            return minutes + "m";
        }
        long hours = minutes / 60;
        if (hours < 24) {
            return hours + "h" + (minutes % 60 == 0 ? "" : minutes % 60 + "m");
        }
        long days = hours / 24;
        return days + "d" + (hours % 24 == 0 ? "" : hours % 24 + "h");
    }
}
