package dev.fleetkeeper.controller;

import dev.fleetkeeper.controller.config.ConfigException;
import dev.fleetkeeper.controller.config.ControllerConfig;
import dev.fleetkeeper.controller.config.ControllerConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Entry point of {@code fleetkeeper-controller}: loads the config, starts the controller, and
 * closes it on shutdown. The only place in the controller that installs a shutdown hook.
 */
@Command(name = "fleetkeeper-controller", mixinStandardHelpOptions = true,
        versionProvider = ControllerMain.Version.class,
        description = "Receives every agent's stream, keeps fleet state and history in RocksDB, serves the admin API.")
public final class ControllerMain implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE",
            description = "Controller config (YAML). Default: /etc/fleetkeeper/controller.yaml if it exists, else built-in defaults.")
    private Path configFile;

    @Option(names = "--data", paramLabel = "DIR", description = "Data directory; overrides the config's 'dataDir'.")
    private Path dataDir;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "gRPC address; overrides the config's 'listen'.")
    private String listen;

    public static void main(String[] args) {
        System.exit(new CommandLine(new ControllerMain()).setParameterExceptionHandler(ControllerMain::badArguments).execute(args));
    }

    /**
     * A bad flag: the error, picocli's suggestions ("did you mean --config?"), then the usage;
     * picocli alone leaves the usage out whenever it has a suggestion.
     */
    private static int badArguments(CommandLine.ParameterException e, String[] args) {
        CommandLine cli = e.getCommandLine();
        java.io.PrintWriter err = cli.getErr();
        err.println(e.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        cli.usage(err);
        return cli.getCommandSpec().exitCodeOnInvalidInput();
    }

    @Override
    public Integer call() throws InterruptedException {
        ControllerConfig config;
        try {
            config = loadConfig();
        } catch (ConfigException | IllegalArgumentException e) {
            System.err.println("fleetkeeper-controller: " + e.getMessage());
            return 2;
        }
        Controller controller = new Controller(config, InstantSource.system());
        try {
            controller.start();
        } catch (RuntimeException e) {
            System.err.println("fleetkeeper-controller: cannot start: " + e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            controller.close();
            stopped.countDown();
        }, "fleetkeeper-controller-shutdown"));
        stopped.await();
        return 0;
    }

    private ControllerConfig loadConfig() {
        Path file = configFile;
        if (file == null) {
            Path standard = Path.of("/etc/fleetkeeper/controller.yaml");
            file = Files.exists(standard) ? standard : null;
        }
        ControllerConfig config = file == null ? ControllerConfig.defaults(Path.of("/var/lib/fleetkeeper"))
                : ControllerConfigLoader.load(file);
        if (dataDir != null) {
            config = config.withDataDir(dataDir);
        }
        if (listen != null) {
            config = config.withListen(listen, config.metricsListen());
        }
        return config;
    }

    /** Reports the controller version for {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"fleetkeeper-controller " + Controller.version()};
        }
    }
}
