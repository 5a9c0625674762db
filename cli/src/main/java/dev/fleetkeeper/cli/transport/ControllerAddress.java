package dev.fleetkeeper.cli.transport;

/**
 * Where the controller's admin API listens: a host name or IP address and a port. Immutable.
 *
 * @param host host name, IPv4 address, or IPv6 address without brackets
 * @param port TCP port, 1 to 65535
 */
public record ControllerAddress(String host, int port) {
    /** The controller's default admin port. */
    public static final int DEFAULT_PORT = 7700;
    /** Used when neither {@code --controller} nor {@code FLEETKEEPER_CONTROLLER} is set. */
    public static final ControllerAddress DEFAULT = new ControllerAddress("127.0.0.1", DEFAULT_PORT);

    public ControllerAddress {
        if (host == null || host.isBlank() || host.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("host: '" + host + "' (expected: a host name or address)");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1 to 65535)");
        }
    }

    /**
     * Parses {@code HOST:PORT}, {@code [IPV6]:PORT}, or a bare host (port 7700).
     *
     * @throws IllegalArgumentException saying what was expected
     */
    public static ControllerAddress parse(String text) {
        String s = text == null ? "" : text.trim();
        String host;
        String port = null;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || (close + 1 < s.length() && s.charAt(close + 1) != ':')) {
                throw invalid(text);
            }
            host = s.substring(1, close);
            port = close + 1 < s.length() ? s.substring(close + 2) : null;
        } else {
            int colon = s.lastIndexOf(':');
            if (colon >= 0 && s.indexOf(':') != colon) {
                throw invalid(text); // a bare IPv6 address: the port would be ambiguous
            }
            host = colon < 0 ? s : s.substring(0, colon);
            port = colon < 0 ? null : s.substring(colon + 1);
        }
        try {
            return new ControllerAddress(host, port == null ? DEFAULT_PORT : Integer.parseInt(port));
        } catch (IllegalArgumentException e) { // NumberFormatException included
            throw invalid(text);
        }
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException(
                "'" + text + "' is not a controller address (expected: HOST:PORT, e.g. 10.0.0.5:7700 or [::1]:7700)");
    }

    /** The address as a gRPC target and as shown to people: {@code host:port}, IPv6 bracketed. */
    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
