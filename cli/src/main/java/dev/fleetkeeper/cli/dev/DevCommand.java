package dev.fleetkeeper.cli.dev;

import dev.fleetkeeper.agent.Agent;
import dev.fleetkeeper.agent.config.AgentConfig;
import dev.fleetkeeper.agent.transport.ControllerChannel;
import dev.fleetkeeper.controller.Controller;
import dev.fleetkeeper.controller.config.ControllerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code fleetkeeper dev}: a controller and an agent in this JVM on loopback, with embedded
 * storage under {@code ./.fleetkeeper} and a demo service, so that every other command has
 * something real to show. Runs until interrupted; closes everything it started.
 */
@Command(name = "dev", mixinStandardHelpOptions = true,
        description = {"Run a controller and an agent for this host in one JVM on loopback, with a demo service.",
                "Data is kept under --data (default ./.fleetkeeper) and survives restarts."})
public final class DevCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR", defaultValue = ".fleetkeeper",
            description = "Where the controller and agent keep their data (default: ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "7700",
            description = "Controller gRPC port on 127.0.0.1 (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--metrics-port", paramLabel = "PORT", defaultValue = "7701",
            description = "Prometheus /metrics port on 127.0.0.1 (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int metricsPort;

    @Option(names = "--demo-port", paramLabel = "PORT", defaultValue = "3000",
            description = "Port of the demo service on 127.0.0.1 (default: ${DEFAULT-VALUE}; the next free one if taken).")
    int demoPort;

    @Option(names = "--no-demo", description = "Do not start the demo service.")
    boolean noDemo;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path root = data.toAbsolutePath().normalize();
        Files.createDirectories(root);

        ControllerConfig controllerConfig = ControllerConfig.defaults(root.resolve("controller"))
                .withListen("127.0.0.1:" + port, "127.0.0.1:" + metricsPort);
        Controller controller = new Controller(controllerConfig, InstantSource.system());
        List<AutoCloseable> started = new ArrayList<>();
        try {
            controller.start();
        } catch (RuntimeException e) {
            err.println("fleetkeeper dev: cannot start the controller: " + e.getMessage());
            return 1;
        }
        started.add(controller);
        String target = "127.0.0.1:" + controller.grpcPort();
        ControllerChannel channel = ControllerChannel.open(target);
        started.add(channel);
        AgentConfig agentConfig = AgentConfig.defaults(root.resolve("agent"))
                .withController(target)
                .withLabels(Map.of("env", "dev"));
        Agent agent = new Agent(agentConfig, channel.channel(), channel::resetConnectBackoff, InstantSource.system());
        DemoService demo = null;
        try {
            agent.start();
            started.add(agent);
            if (!noDemo) {
                demo = DemoService.start(freePortFrom(demoPort), root.resolve("demo"));
                started.add(demo);
            }
        } catch (RuntimeException | IOException e) {
            err.println("fleetkeeper dev: cannot start: " + e.getMessage());
            closeAll(started);
            return 1;
        }

        CountDownLatch stop = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            closeAll(started);
            stop.countDown();
        }, "fleetkeeper-dev-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        String launcher = System.getProperty("fleetkeeper.launcher", "fleetkeeper");
        String host = hostname();
        out.println();
        out.println("Fleetkeeper dev mode is running.");
        out.println("  controller  " + target + " (gRPC)"
                + (controller.metricsPort() > 0 ? "   metrics http://127.0.0.1:" + controller.metricsPort() + "/metrics" : ""));
        out.println("  agent       host " + host + " (id " + agent.hostId() + ")");
        if (demo != null) {
            out.println("  demo        " + demo.describe());
        }
        out.println("  data        " + root);
        out.println();
        out.println("Try, in another terminal:");
        String c = port == 7700 ? launcher : launcher + " --controller " + target;
        out.println("  " + c + " hosts");
        out.println("  " + c + " ps " + host + " --sort mem -n 10");
        out.println("  " + c + " ports " + host);
        out.println("  " + c + " ps " + host + " --zombies");
        out.println("  " + c + " top -n 5");
        out.println("  " + c + " events --follow");
        out.println("Press Ctrl-C to stop.");
        out.flush();
        stop.await();
        return 0;
    }

    private static String hostname() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
        } catch (IOException e) {
            return "localhost";
        }
    }

    private static int freePortFrom(int first) {
        for (int p = first; p < first + 100 && p <= 65535; p++) {
            try (ServerSocket s = new ServerSocket(p, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // Try the next one.
            }
        }
        return 0;
    }

    private static void closeAll(List<AutoCloseable> started) {
        for (int i = started.size() - 1; i >= 0; i--) {
            try {
                started.get(i).close();
            } catch (Exception e) {
                System.err.println("fleetkeeper dev: while stopping: " + e);
            }
        }
        started.clear();
    }

    /** The demo service process: started in its own session so that its whole tree can be stopped. */
    static final class DemoService implements AutoCloseable {
        private final Process process;
        private final int port;

        private DemoService(Process process, int port) {
            this.process = process;
            this.port = port;
        }

        static DemoService start(int port, Path dir) throws IOException {
            Files.createDirectories(dir);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> cmd = new ArrayList<>(List.of("setsid", java, "-Xmx32m", "-XX:+UseSerialGC",
                    "-cp", System.getProperty("java.class.path"), DemoWorker.class.getName(),
                    Integer.toString(port), "demo-web"));
            Process p = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("demo-web.log").toFile())
                    .start();
            return new DemoService(p, port);
        }

        String describe() {
            return "demo-web pid " + process.pid() + " on 127.0.0.1:" + port;
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

}
