package dev.fleetkeeper.cli.e2e;

import dev.fleetkeeper.agent.Agent;
import dev.fleetkeeper.agent.config.AgentConfig;
import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.transport.ControllerChannel;
import dev.fleetkeeper.controller.Controller;
import dev.fleetkeeper.controller.config.ControllerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A controller and agents in this JVM on loopback, each agent scanning the real {@code /proc}
 * under its own host id (after Ratis's MiniRaftCluster). Whatever it starts, {@link #close()}
 * stops, in reverse order.
 */
final class MiniFleet implements AutoCloseable {

    private final Path dir;
    private final ControllerConfig controllerConfig;
    private Controller controller;
    private final List<RunningAgent> agents = new ArrayList<>();

    /** A running agent and the channel it owns. */
    record RunningAgent(String hostId, Agent agent, ControllerChannel channel) implements AutoCloseable {
        @Override
        public void close() {
            if (agent.services() != null) {
                agent.services().stopAll();
            }
            agent.close();
            channel.close();
        }
    }

    private MiniFleet(Path dir, ControllerConfig config) {
        this.dir = dir;
        this.controllerConfig = config;
    }

    /** Starts a controller on a free loopback port with a short offline grace. */
    static MiniFleet start(Path dir, Duration offlineGrace) {
        ControllerConfig config = ControllerConfig.defaults(dir.resolve("controller"))
                .withListen("127.0.0.1:0", "")
                .withOfflineGrace(offlineGrace, Duration.ofMillis(Math.max(200, offlineGrace.toMillis() / 4)))
                .withSyncWrites(false);
        MiniFleet fleet = new MiniFleet(dir, config);
        fleet.controller = new Controller(config, InstantSource.system());
        fleet.controller.start();
        return fleet;
    }

    /** The first of {@code count} consecutive loopback ports free now (a pool's ports, one per instance). */
    static int freePorts(int count) throws java.io.IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base;
            try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
                base = s.getLocalPort();
            }
            if (base + count > 65535) {
                continue;
            }
            if (allFree(base + 1, count - 1)) {
                return base;
            }
        }
        throw new IllegalStateException("no " + count + " free consecutive ports");
    }

    private static boolean allFree(int from, int count) {
        for (int p = from; p < from + count; p++) {
            try (java.net.ServerSocket s = new java.net.ServerSocket(p)) {
                if (!s.isBound()) {
                    return false;
                }
            } catch (java.io.IOException taken) {
                return false;
            }
        }
        return true;
    }

    String target() {
        return "127.0.0.1:" + controller.grpcPort();
    }

    /** Stops the controller gracefully and starts a new one on the same data and port. */
    void restartController() {
        int port = controller.grpcPort();
        controller.close();
        ControllerConfig sameData = controllerConfig.withListen("127.0.0.1:" + port, "");
        controller = new Controller(sameData, InstantSource.system());
        controller.start();
    }

    /** Starts an agent for {@code hostId} scanning this machine's /proc. */
    RunningAgent startAgent(String hostId) {
        return startAgent(hostId, List.of());
    }

    /**
     * Starts an agent for {@code hostId} that runs {@code services} (reconciling every 500 ms);
     * closing it stops their instances too.
     */
    RunningAgent startAgent(String hostId, List<ServiceDeclaration> services) {
        return startAgent(hostId, Map.of("fleet", "mini"), services);
    }

    /** Like {@link #startAgent(String, List)}, with these labels. */
    RunningAgent startAgent(String hostId, Map<String, String> labels, List<ServiceDeclaration> services) {
        AgentConfig config = AgentConfig.defaults(dir.resolve("agent-" + hostId))
                .withController(target())
                .withHostId(hostId)
                .withLabels(labels);
        config = new AgentConfig(config.controller(), config.hostId(), config.stateDir(), config.labels(),
                config.procRoot(), Duration.ofMillis(500), config.detailInterval(), Duration.ofMillis(500),
                Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofMillis(500), services);
        ControllerChannel channel = ControllerChannel.open(target());
        Agent agent = new Agent(config, channel.channel(), channel::resetConnectBackoff, InstantSource.system());
        agent.start();
        RunningAgent running = new RunningAgent(hostId, agent, channel);
        agents.add(running);
        return running;
    }

    void stopAgent(RunningAgent agent) {
        agents.remove(agent);
        agent.close();
    }

    @Override
    public void close() {
        for (int i = agents.size() - 1; i >= 0; i--) {
            agents.get(i).close();
        }
        agents.clear();
        if (controller != null) {
            controller.close();
        }
    }
}
