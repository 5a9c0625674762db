package dev.fleetkeeper.cli;

/** The exit statuses of {@code fleetkeeper}, listed in its help footer. Constants only. */
public final class ExitCodes {
    /** The command did what was asked. */
    public static final int OK = 0;
    /** The controller answered with an error, e.g. an unknown host. */
    public static final int FAILED = 1;
    /**
     * The command line was wrong (picocli's own code for usage errors), or the controller could
     * not be reached: both are fixed by changing how the command is run.
     */
    public static final int USAGE_OR_UNREACHABLE = 2;

    private ExitCodes() {}
}
