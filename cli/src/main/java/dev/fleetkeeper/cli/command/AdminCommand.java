package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.CliException;
import dev.fleetkeeper.cli.ConnectionOptions;
import dev.fleetkeeper.cli.ExitCodes;
import dev.fleetkeeper.cli.FleetkeeperCli;
import dev.fleetkeeper.cli.output.Table;
import dev.fleetkeeper.cli.transport.AdminClient;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * A subcommand that reads from the controller's admin API: connects, runs, closes, and turns
 * an expected failure into one line on stderr and an exit status. One instance per command
 * line; not thread-safe.
 */
abstract class AdminCommand implements Callable<Integer> {
    /** The root command (also for nested subcommands such as {@code rollout start}); set by {@link #call}. */
    FleetkeeperCli cli;

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--json", description = "Print the response as JSON (see 'fleetkeeper help').")
    boolean json;

    /** The exit status once {@link #run} returns; a command sets it for an outcome that is not an error. */
    int status = ExitCodes.OK;

    @Override
    public final Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        cli = (FleetkeeperCli) spec.root().userObject();
        try {
            validate();
            try (AdminClient client = cli.connect(connection, defaultTimeout())) {
                run(client, out);
            }
            return status;
        } catch (CliException e) {
            out.flush();
            PrintWriter err = spec.commandLine().getErr();
            err.println("fleetkeeper: " + e.getMessage());
            err.flush();
            return e.exitCode();
        } finally {
            out.flush();
        }
    }

    /** How long calls wait without {@code --timeout}: longer for commands that wait for an agent. */
    java.time.Duration defaultTimeout() {
        return dev.fleetkeeper.cli.ConnectionOptions.DEFAULT_TIMEOUT;
    }

    /** Checks arguments picocli cannot; throws {@link #usage(String)} for a bad one. */
    void validate() {}

    /** Does the work; throws {@link CliException} for an expected failure. */
    abstract void run(AdminClient client, PrintWriter out);

    /** A usage error (exit 2, usage on stderr) about this command's arguments. */
    final ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /** {@code -n}: at most this many; 0 for the server's default. */
    final void requireLimit(int limit) {
        if (limit < 0) {
            throw usage("-n: " + limit + " (expected: >= 0; 0 for the default)");
        }
    }

    /** The width a table line may take: the terminal's, or unlimited for {@code --wide}. */
    final int width(boolean wide) {
        return wide ? Table.UNLIMITED : cli.environment().columns();
    }
}
