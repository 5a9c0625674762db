package dev.fleetkeeper.agent.probe;

import java.util.Locale;
import java.util.Objects;

/**
 * A health probe of one instance, run by its agent on loopback: {@code tcp} connects to every
 * port the instance is declared to listen on; {@code http:/path} sends {@code GET /path} to its
 * first port and wants a 2xx or 3xx answer. Immutable.
 *
 * @param kind what the probe does
 * @param path for HTTP, the request path (starts with '/'); "" for TCP
 */
public record ProbeSpec(Kind kind, String path) {

    /** What a probe does. */
    public enum Kind { TCP, HTTP }

    /** The syntax, for error messages. */
    public static final String SYNTAX = "\"tcp\" (connect to every declared port) or \"http:/path\" (GET on the "
            + "first declared port; 2xx or 3xx is healthy)";

    public ProbeSpec {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(path, "path");
        if (kind == Kind.HTTP && (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c == 127))) {
            throw new IllegalArgumentException("probe: path '" + path + "' (expected: starting with '/', without "
                    + "spaces or control characters, such as /healthz)");
        }
        if (kind == Kind.TCP && !path.isEmpty()) {
            throw new IllegalArgumentException("probe: a tcp probe has no path (expected: " + SYNTAX + ")");
        }
    }

    /**
     * Parses {@code tcp}, {@code http} (path /) or {@code http:/path}.
     *
     * @return the probe, or null for "" (none)
     * @throws IllegalArgumentException saying what is expected
     */
    public static ProbeSpec parse(String text) {
        String s = text.strip();
        if (s.isEmpty()) {
            return null;
        }
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.equals("tcp")) {
            return new ProbeSpec(Kind.TCP, "");
        }
        if (lower.equals("http")) {
            return new ProbeSpec(Kind.HTTP, "/");
        }
        if (lower.startsWith("http:")) {
            return new ProbeSpec(Kind.HTTP, s.substring("http:".length()));
        }
        throw new IllegalArgumentException("probe: '" + text + "' (expected: " + SYNTAX + ")");
    }

    /** The probe as it is written: "tcp" or "http:/path". */
    @Override
    public String toString() {
        return kind == Kind.TCP ? "tcp" : "http:" + path;
    }
}
