package dev.fleetkeeper.controller.fleet;

/** Short durations for messages ("3m", "45s", "2h", "3d"), as the CLI prints them. Stateless. */
final class Ago {

    private Ago() {
    }

    static String format(long millis) {
        long s = Math.max(0, millis) / 1000;
        if (s < 60) {
            return s == 0 && millis > 0 ? millis + "ms" : s + "s";
        }
        if (s < 3600) {
            return s / 60 + "m";
        }
        if (s < 48 * 3600) {
            return s / 3600 + "h";
        }
        return s / 86400 + "d";
    }
}
