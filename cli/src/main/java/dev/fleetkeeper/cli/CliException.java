package dev.fleetkeeper.cli;

/**
 * An expected failure of a command: printed as one line, {@code fleetkeeper: <message>}, to
 * stderr, never with a stack trace, and ending the process with {@link #exitCode()}.
 * Immutable.
 */
public final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int exitCode;

    /**
     * A failure to report.
     *
     * @param exitCode one of {@link ExitCodes}
     * @param message what happened, to what, and what to do next, on one line
     */
    public CliException(int exitCode, String message) {
        super(message, null, false, false);
        this.exitCode = exitCode;
    }

    /** The process exit status to end with. */
    public int exitCode() {
        return exitCode;
    }
}
