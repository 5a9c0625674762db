package dev.fleetkeeper.agent;

import dev.fleetkeeper.agent.config.AgentConfig;
import dev.fleetkeeper.agent.config.AgentConfigLoader;
import dev.fleetkeeper.agent.config.ConfigException;
import dev.fleetkeeper.agent.transport.ControllerChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Entry point of {@code fleetkeeper-agent}: loads the config, wires the agent to its channel,
 * and closes both in reverse order on shutdown. The only place in the agent that installs a
 * shutdown hook.
 */
@Command(name = "fleetkeeper-agent", mixinStandardHelpOptions = true, versionProvider = AgentMain.Version.class,
        description = "Samples this host's processes, sockets and memory from /proc and streams them to the "
                + "Fleetkeeper controller.")
public final class AgentMain implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE",
            description = "Agent config (YAML). Default: /etc/fleetkeeper/agent.yaml if it exists, else built-in defaults.")
    private Path configFile;

    @Option(names = "--controller", paramLabel = "HOST:PORT",
            description = "Controller address; overrides the config's 'controller'.")
    private String controller;

    public static void main(String[] args) {
        System.exit(new CommandLine(new AgentMain()).setParameterExceptionHandler(AgentMain::badArguments).execute(args));
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
        AgentConfig config;
        try {
            config = loadConfig();
        } catch (ConfigException | IllegalArgumentException e) {
            System.err.println("fleetkeeper-agent: " + e.getMessage());
            return 2;
        }
        ControllerChannel channel = ControllerChannel.open(config.controller());
        Agent agent = new Agent(config, channel.channel(), channel::resetConnectBackoff, InstantSource.system());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.close();
            channel.close();
            stopped.countDown();
        }, "fleetkeeper-agent-shutdown"));
        try {
            agent.start();
        } catch (RuntimeException e) {
            System.err.println("fleetkeeper-agent: cannot start: " + e.getMessage());
            return 1;
        }
        stopped.await();
        return 0;
    }

    private AgentConfig loadConfig() {
        Path file = configFile;
        if (file == null) {
            Path standard = Path.of("/etc/fleetkeeper/agent.yaml");
            file = Files.exists(standard) ? standard : null;
        }
        AgentConfig config = file == null ? AgentConfig.defaults(Path.of("/var/lib/fleetkeeper-agent"))
                : AgentConfigLoader.load(file);
        return controller == null ? config : config.withController(controller);
    }

    /** Reports the agent version for {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"fleetkeeper-agent " + Agent.version()};
        }
    }
}
