package dev.fleetkeeper.cli.dev;

import dev.fleetkeeper.agent.Agent;
import dev.fleetkeeper.agent.config.AgentConfig;
import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.probe.ProbeSpec;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.transport.ControllerChannel;
import dev.fleetkeeper.controller.Controller;
import dev.fleetkeeper.controller.config.ControllerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
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
            description = "First port of the demo service's instances on 127.0.0.1 (default: ${DEFAULT-VALUE}; "
                    + "the next free ones if taken).")
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
        int demoBase = noDemo ? 0 : freePortsFrom(demoPort, DEMO_INSTANCES);
        AgentConfig agentConfig = AgentConfig.defaults(root.resolve("agent"))
                .withController(target)
                .withLabels(Map.of("env", "dev"));
        if (!noDemo) {
            agentConfig = agentConfig.withServices(List.of(ServiceDeclaration.valid(demoService(root, demoBase))));
        }
        Agent agent = new Agent(agentConfig, channel.channel(), channel::resetConnectBackoff, InstantSource.system());
        try {
            agent.start();
            started.add(() -> {
                // Dev mode owns its demo: stop it with the agent (a real agent leaves its
                // instances running, to adopt them after a restart).
                if (agent.services() != null) {
                    agent.services().stopAll();
                }
                agent.close();
            });
        } catch (RuntimeException e) {
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
        if (!noDemo) {
            out.println("  demo        service demo-web: " + DEMO_INSTANCES + " instances (built-in driver) on 127.0.0.1:"
                    + demoBase + "-" + (demoBase + DEMO_INSTANCES - 1) + "; #" + (DEMO_INSTANCES - 1)
                    + " leaks 1 MiB/s and is recycled before its 140 MiB limit");
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
        if (!noDemo) {
            out.println("  " + c + " services");
            out.println("  " + c + " doctor " + host);
            out.println("  " + c + " logs demo-web --host " + host + " --instance 1");
            out.println("  " + c + " restart demo-web --host " + host);
            out.println("  " + c + " memory demo-web        # demo-web#1 leaks 1 MiB/s: watch it get recycled");
            out.println("  " + c + " events --follow --type service-instance");
        }
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

    /** The first port at or after {@code first} from which {@code n} consecutive loopback ports are free. */
    private static int freePortsFrom(int first, int n) {
        for (int p = first; p < first + 100 && p + n - 1 <= 65535; p++) {
            boolean free = true;
            for (int k = 0; k < n && free; k++) {
                try (ServerSocket s = new ServerSocket(p + k, 1, InetAddress.getLoopbackAddress())) {
                    free = s.getLocalPort() == p + k;
                } catch (IOException taken) {
                    free = false;
                }
            }
            if (free) {
                return p;
            }
        }
        throw new IllegalStateException("no " + n + " free ports from " + first + " to " + (first + 99)
                + "; pass --demo-port");
    }

    /**
     * The demo: a pool of {@link DemoWorker}s under the built-in driver, each on its own port,
     * with a pidfile, a declared writable directory and an HTTP probe, so that services, doctor,
     * logs, restart and rollouts show real things.
     */
    static ServiceSpec demoService(Path root, int basePort) throws IOException {
        Path dir = Files.createDirectories(root.resolve("demo"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return ServiceSpec.builder("demo-web", DriverKind.BUILTIN)
                .instances(DEMO_INSTANCES)
                .command(java, "-Xms8m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                        "-cp", System.getProperty("java.class.path"), DemoWorker.class.getName())
                .env(Map.of("DEMO_BASE_PORT", Integer.toString(basePort), "DEMO_DIR", dir.toString(),
                        "DEMO_LEAK_INSTANCE", Integer.toString(DEMO_INSTANCES - 1)))
                .workingDir(dir)
                .ports(List.of(basePort), 1)
                .probe(ProbeSpec.parse("http:/healthz"))
                .pidfile(dir.resolve("demo-web-{instance}.pid").toString())
                .writablePaths(List.of(new ServiceSpec.WritablePath(dir, "", -1)))
                .stopTimeout(Duration.ofSeconds(10))
                .startTimeout(Duration.ofSeconds(30))
                .remedies(ServiceSpec.RemedyPolicy.AUTO)
                .logs(new ServiceSpec.LogSpec(dir.resolve("logs"), 1L << 20, 2))
                .version("1")
                // Instance 1 leaks 1 MiB/s from about 45 MiB: detected after about a minute, recycled
                // before it reaches 140 MiB, while instance 0 keeps serving (min available 1).
                .memory(new ServiceSpec.MemorySpec(140L << 20, Duration.ofSeconds(60), Duration.ofSeconds(10), 3,
                        Duration.ofSeconds(45), Duration.ZERO, 1, ServiceSpec.Capacity.parse("1"), Duration.ofSeconds(15),
                        0.5))
                .build();
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

    private static final int DEMO_INSTANCES = 2;
}
