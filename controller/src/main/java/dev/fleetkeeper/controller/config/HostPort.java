package dev.fleetkeeper.controller.config;

/** A {@code host:port} pair as written in config files and flags. Immutable. */
public record HostPort(String host, int port) {

    /** Parses {@code text}; {@code key} names the setting in the error message. */
    public static HostPort parse(String key, String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException(key + ": '" + text + "' (expected: host:port, e.g. 127.0.0.1:7700)");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": '" + text + "' (expected: host:port with a numeric port)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(key + ": port " + port + " (expected: 0-65535)");
        }
        return new HostPort(host, port);
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
