package dev.fleetkeeper.cli.bench;

import dev.fleetkeeper.agent.memory.bench.LeakBench;
import dev.fleetkeeper.agent.telemetry.bench.ScanBench;
import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code fleetkeeper bench}: the project's benchmarks. Each prints its figures next to a peer
 * measured in the same run. Nothing here asserts; the figures go in notes and the README.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure the agent's scan against ps + ss, the controller's ingest, and the leak detector.",
        subcommands = {BenchCommand.Scan.class, BenchCommand.Ingest.class, BenchCommand.Leak.class})
public final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
    }

    /** {@code bench scan}. */
    @Command(name = "scan", mixinStandardHelpOptions = true,
            description = {"Spawn a population of processes, listeners and zombies, then measure CPU and allocation",
                    "per /proc scan of ours against ps -eo ... plus ss -ltnup, in the same run."})
    static final class Scan implements Callable<Integer> {
        @Option(names = "--processes", defaultValue = "1000", description = "Sleeping processes to spawn (default: ${DEFAULT-VALUE}).")
        int processes;
        @Option(names = "--listeners", defaultValue = "64", description = "Listening sockets (default: ${DEFAULT-VALUE}).")
        int listeners;
        @Option(names = "--zombies", defaultValue = "5", description = "Zombies (default: ${DEFAULT-VALUE}).")
        int zombies;
        @Option(names = "--warmup", defaultValue = "20", description = "Warm-up scans (default: ${DEFAULT-VALUE}).")
        int warmup;
        @Option(names = "--iterations", defaultValue = "50", description = "Measured scans (default: ${DEFAULT-VALUE}).")
        int iterations;

        @Override
        public Integer call() throws Exception {
            ScanBench.run(new ScanBench.Options(processes, listeners, zombies, warmup, iterations,
                    Duration.ofSeconds(1)), System.out);
            return 0;
        }
    }

    /** {@code bench ingest}. */
    @Command(name = "ingest", mixinStandardHelpOptions = true,
            description = {"Stream from N simulated agents to a real controller process on loopback and measure",
                    "durable host-samples/s, process-samples/s, p99 latency to durable, and controller CPU."})
    static final class Ingest implements Callable<Integer> {
        @Option(names = "--agents", defaultValue = "2000", description = "Simulated agents (default: ${DEFAULT-VALUE}).")
        int agents;
        @Option(names = "--connections", description = "TCP connections (default: one per 10 agents, at least 1).")
        Integer connections;
        @Option(names = "--processes", defaultValue = "50", description = "Processes per agent (default: ${DEFAULT-VALUE}).")
        int processes;
        @Option(names = "--changed", defaultValue = "5", description = "Processes changed per delta (default: ${DEFAULT-VALUE}).")
        int changed;
        @Option(names = "--interval-ms", defaultValue = "100", description = "Milliseconds between deltas of one agent (default: ${DEFAULT-VALUE}).")
        long intervalMs;
        @Option(names = "--warmup", defaultValue = "10", description = "Warm-up seconds (default: ${DEFAULT-VALUE}).")
        long warmup;
        @Option(names = "--seconds", defaultValue = "20", description = "Measured seconds (default: ${DEFAULT-VALUE}).")
        long seconds;
        @Option(names = "--no-sync", description = "Do not fsync the controller's WAL before acknowledging.")
        boolean noSync;

        @Override
        public Integer call() throws Exception {
            PrintStream out = System.out;
            int conns = connections != null ? connections : Math.max(1, agents / 10);
            IngestBench.run(new IngestBench.Options(agents, conns, processes, changed, Duration.ofMillis(intervalMs),
                    Duration.ofSeconds(warmup), Duration.ofSeconds(seconds), !noSync), out);
            return 0;
        }
    }

    /** {@code bench leak}. */
    @Command(name = "leak", mixinStandardHelpOptions = true,
            description = {"Run the leak detector on a generated, labelled set of memory series (every shape, random",
                    "rates, noise, GC periods, limits) and print precision, recall and the confusion per shape;",
                    "then its CPU per assessment and for tracking N instances, next to this host's scan."})
    static final class Leak implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--series", defaultValue = "200", description = "Series per shape (default: ${DEFAULT-VALUE}).")
        int series;
        @Option(names = "--seed", defaultValue = "1", description = "Generator seed (default: ${DEFAULT-VALUE}).")
        long seed;
        @Option(names = "--instances", defaultValue = "100", description = "Instances tracked for the CPU figure (default: ${DEFAULT-VALUE}).")
        int instances;
        @Option(names = "--scans", defaultValue = "20", description = "Scans of this host for scale; 0 skips them (default: ${DEFAULT-VALUE}).")
        int scans;

        @Override
        public Integer call() {
            LeakBench.run(new LeakBench.Options(series, seed, instances, LeakBench.Options.defaults().rounds(), scans),
                    spec.commandLine().getOut());
            return 0;
        }
    }
}
