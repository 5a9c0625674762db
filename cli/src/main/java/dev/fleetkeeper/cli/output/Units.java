package dev.fleetkeeper.cli.output;

import java.util.Locale;

/** Numbers for people: sizes in binary units, percentages. Stateless. */
public final class Units {
    private static final String[] SUFFIXES = {"K", "M", "G", "T", "P", "E"};

    private Units() {}

    /**
     * A byte count in binary units the way {@code ps}/{@code free -h} readers expect: {@code 512B},
     * {@code 12.3M} (one decimal below 100), {@code 412M}, {@code 1.5G}.
     */
    public static String bytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes: " + bytes + " (expected: >= 0)");
        }
        if (bytes < 1024) {
            return bytes + "B";
        }
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < SUFFIXES.length - 1) {
            value /= 1024;
            unit++;
        }
        // Rounding 1023.96K to "1024K" would read oddly: move up a unit.
        if (Math.round(value) >= 1024 && unit < SUFFIXES.length - 1) {
            value /= 1024;
            unit++;
        }
        String number = value < 99.95
                ? String.format(Locale.ROOT, "%.1f", value)
                : String.format(Locale.ROOT, "%.0f", value);
        return number + SUFFIXES[unit];
    }

    /** A percentage with one decimal: {@code 37.5}; the column header carries the {@code %}. */
    public static String percent(double percent) {
        return String.format(Locale.ROOT, "%.1f", percent);
    }

    /** A load average with two decimals, as {@code uptime} prints it. */
    public static String load(double load) {
        return String.format(Locale.ROOT, "%.2f", load);
    }
}
