package dev.fleetkeeper.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine;

/** Runs the real CLI in this JVM with a fixed clock (UTC) and captures what it prints. */
public final class CliRun {
    private CliRun() {}

    /**
     * What one run printed and returned.
     *
     * @param exitCode the exit status
     * @param out stdout
     * @param err stderr
     */
    public record Result(int exitCode, String out, String err) {
        /** stdout split into lines. */
        public List<String> lines() {
            return out.lines().toList();
        }

        /** stderr split into lines. */
        public List<String> errLines() {
            return err.lines().toList();
        }
    }

    /** Runs with {@code FLEETKEEPER_CONTROLLER} set to {@code controller} and 80 columns. */
    public static Result run(String controller, String... args) {
        Map<String, String> env = new HashMap<>();
        if (controller != null) {
            env.put(CliEnvironment.CONTROLLER_VARIABLE, controller);
        }
        return run(env, args);
    }

    /** Runs with exactly these environment variables. */
    public static Result run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exitCode = commandLine(env, out, err).execute(args);
        return new Result(exitCode, out.toString(), err.toString());
    }

    /**
     * Starts a run on another thread, for commands that stream: {@code out} can be read while it
     * runs ({@link StringWriter} is synchronized).
     */
    public static Background start(String controller, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = commandLine(Map.of(CliEnvironment.CONTROLLER_VARIABLE, controller), out, err);
        return new Background(out, err, CompletableFuture.supplyAsync(() -> cli.execute(args)));
    }

    /**
     * A run in progress.
     *
     * @param out what it has printed so far
     * @param err what it has printed to stderr so far
     * @param exitCode completes with the exit status
     */
    public record Background(StringWriter out, StringWriter err, CompletableFuture<Integer> exitCode) {}

    private static CommandLine commandLine(Map<String, String> env, StringWriter out, StringWriter err) {
        CliEnvironment environment =
                new CliEnvironment(env, InstantSource.fixed(FakeController.NOW), ZoneOffset.UTC);
        CommandLine cli = new CommandLine(new FleetkeeperCli(environment));
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli;
    }
}
