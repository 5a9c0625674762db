package dev.fleetkeeper.cli;

import dev.fleetkeeper.cli.transport.ControllerAddress;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * {@code --controller} and {@code --timeout}, accepted both before the subcommand (global) and
 * after it; the subcommand's value wins. A picocli mixin: one instance per command, filled in by
 * parsing.
 */
public final class ConnectionOptions {
    /** Deadline of each call when {@code --timeout} is not given. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    @Option(
            names = "--controller",
            paramLabel = "HOST:PORT",
            converter = Converters.Address.class,
            description = "Controller's admin address. Default: $" + CliEnvironment.CONTROLLER_VARIABLE
                    + ", else 127.0.0.1:7700.")
    ControllerAddress controller;

    @Option(
            names = "--timeout",
            paramLabel = "DURATION",
            converter = Converters.PositiveDuration.class,
            description = "Deadline of each call, e.g. 10s, 500ms. Default: 10s.")
    Duration timeout;
}
