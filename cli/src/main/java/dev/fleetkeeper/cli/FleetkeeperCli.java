package dev.fleetkeeper.cli;

import dev.fleetkeeper.cli.bench.BenchCommand;
import dev.fleetkeeper.cli.command.DoctorCommand;
import dev.fleetkeeper.cli.command.EventsCommand;
import dev.fleetkeeper.cli.command.HostsCommand;
import dev.fleetkeeper.cli.command.LogsCommand;
import dev.fleetkeeper.cli.command.PortsCommand;
import dev.fleetkeeper.cli.command.PsCommand;
import dev.fleetkeeper.cli.command.RecycleCommand;
import dev.fleetkeeper.cli.command.RolloutCommand;
import dev.fleetkeeper.cli.command.RestartCommand;
import dev.fleetkeeper.cli.command.MemoryCommand;
import dev.fleetkeeper.cli.command.ServicesCommand;
import dev.fleetkeeper.cli.command.TopCommand;
import dev.fleetkeeper.cli.dev.DevCommand;
import dev.fleetkeeper.cli.output.TimeFormat;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.cli.transport.ControllerAddress;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code fleetkeeper} command: the operator's client of the controller's admin API. Owns
 * what subcommands share (environment, connection settings); each subcommand connects, runs
 * once, and closes. One instance per command line; not thread-safe.
 */
@Command(
        name = "fleetkeeper",
        mixinStandardHelpOptions = true,
        versionProvider = FleetkeeperCli.Version.class,
        description = "Look at the processes, ports, services and events of a Fleetkeeper fleet;"
                + " diagnose, repair and restart services through their hosts' agents.",
        subcommands = {
            HostsCommand.class,
            PsCommand.class,
            PortsCommand.class,
            TopCommand.class,
            EventsCommand.class,
            ServicesCommand.class,
            MemoryCommand.class,
            DoctorCommand.class,
            RestartCommand.class,
            RecycleCommand.class,
            RolloutCommand.class,
            LogsCommand.class,
            DevCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class
        },
        footer = {
            "",
            "Listing commands take --json: the API's response message in the proto3",
            "JSON mapping, with the field names of fleetkeeper/v1/admin.proto, every",
            "field present, enums as names and 64-bit integers as strings.",
            "events --follow --json prints one Event per line.",
            "",
            "Exit status: 0 done; 1 the controller reported an error (e.g. unknown host,",
            "host offline, the agent refused or did not answer), or doctor found something",
            "that remains; 2 bad command line, or the controller could not be reached.",
            "doctor, restart and logs wait for the host's agent: 2m (doctor), 5m (doctor",
            "--fix, restart), 30s (logs) unless --timeout says otherwise."
        })
public final class FleetkeeperCli implements Callable<Integer> {
    private final CliEnvironment environment;

    @Mixin
    ConnectionOptions connection;

    @Spec
    CommandSpec spec;

    /** The CLI against the real environment, system clock and default zone. */
    public FleetkeeperCli() {
        this(CliEnvironment.system());
    }

    /** The CLI against a given environment: tests pass fixed variables, clock and zone. */
    public FleetkeeperCli(CliEnvironment environment) {
        this.environment = Objects.requireNonNull(environment, "environment");
    }

    /** Runs the CLI and exits with its status. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new FleetkeeperCli()).execute(args));
    }

    /** Without a subcommand: the usage, on stderr, as for any other usage error. */
    @Override
    public Integer call() {
        spec.commandLine().getErr().println("fleetkeeper: missing command");
        spec.commandLine().usage(spec.commandLine().getErr());
        return ExitCodes.USAGE_OR_UNREACHABLE;
    }

    /** Environment variables, clock and zone. */
    public CliEnvironment environment() {
        return environment;
    }

    /** Relative and absolute times against the environment's clock and zone. */
    public TimeFormat timeFormat() {
        return new TimeFormat(environment.clock(), environment.zone());
    }

    /**
     * The controller to talk to: {@code --controller} after the subcommand, else before it, else
     * {@code $FLEETKEEPER_CONTROLLER}, else {@code 127.0.0.1:7700}.
     *
     * @throws CliException (exit 2) when the environment variable is not an address
     */
    public ControllerAddress controllerAddress(ConnectionOptions local) {
        if (local != null && local.controller != null) {
            return local.controller;
        }
        if (connection.controller != null) {
            return connection.controller;
        }
        String fromEnvironment = environment.variable(CliEnvironment.CONTROLLER_VARIABLE);
        if (fromEnvironment != null) {
            try {
                return ControllerAddress.parse(fromEnvironment);
            } catch (IllegalArgumentException e) {
                throw new CliException(ExitCodes.USAGE_OR_UNREACHABLE,
                        CliEnvironment.CONTROLLER_VARIABLE + ": " + e.getMessage());
            }
        }
        return ControllerAddress.DEFAULT;
    }

    /** The deadline of each call: {@code --timeout} after the subcommand, else before, else 10 s. */
    public Duration timeout(ConnectionOptions local) {
        return timeout(local, ConnectionOptions.DEFAULT_TIMEOUT);
    }

    /** {@code --timeout} after the subcommand, else before, else {@code otherwise}. */
    public Duration timeout(ConnectionOptions local, Duration otherwise) {
        if (local != null && local.timeout != null) {
            return local.timeout;
        }
        return connection.timeout != null ? connection.timeout : otherwise;
    }

    /** A client of the controller named by the options; the caller closes it. */
    public AdminClient connect(ConnectionOptions local) {
        return connect(local, ConnectionOptions.DEFAULT_TIMEOUT);
    }

    /** A client whose calls wait {@code --timeout}, else {@code otherwise} (commands that wait for an agent). */
    public AdminClient connect(ConnectionOptions local, Duration otherwise) {
        return AdminClient.connect(controllerAddress(local), timeout(local, otherwise),
                "fleetkeeper-cli/" + Version.version());
    }

    /** {@code --version}: the version Maven recorded in the jar, and the JVM running it. */
    public static final class Version implements IVersionProvider {
        private static final String POM_PROPERTIES = "/META-INF/maven/dev.fleetkeeper/fleetkeeper-cli/pom.properties";

        /** This CLI's version, or {@code dev} when run from classes rather than the jar. */
        static String version() {
            try (InputStream in = FleetkeeperCli.class.getResourceAsStream(POM_PROPERTIES)) {
                if (in != null) {
                    Properties properties = new Properties();
                    properties.load(in);
                    return properties.getProperty("version", "dev");
                }
            } catch (IOException e) {
                // Unreadable jar entry: report the version as unknown rather than fail --version.
            }
            return "dev";
        }

        @Override
        public String[] getVersion() {
            return new String[] {
                "fleetkeeper " + version(),
                "JVM: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
            };
        }
    }
}
