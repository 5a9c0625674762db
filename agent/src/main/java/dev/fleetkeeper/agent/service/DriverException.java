package dev.fleetkeeper.agent.service;

/**
 * A process manager could not do what was asked, or could not be reached. The message says
 * what failed, where (socket, command, file) and what to do, in words an operator can act on.
 */
public final class DriverException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Whether the manager itself could not be reached (socket gone, binary missing). */
    private final boolean unreachable;

    public DriverException(String message) {
        this(message, false, null);
    }

    public DriverException(String message, Throwable cause) {
        this(message, false, cause);
    }

    public DriverException(String message, boolean unreachable, Throwable cause) {
        super(message, cause);
        this.unreachable = unreachable;
    }

    /** A failure to reach the manager at all, as opposed to a refusal of one request. */
    public static DriverException unreachable(String message, Throwable cause) {
        return new DriverException(message, true, cause);
    }

    public boolean isUnreachable() {
        return unreachable;
    }
}
