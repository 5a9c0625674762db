package dev.fleetkeeper.agent.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The agent's effective configuration, validated at load. Immutable; one per agent process.
 *
 * <p>Every key with its default (also in {@code deploy/conf/agent.yaml.example} and the README):
 * <pre>
 * controller: 127.0.0.1:7700            # host:port of the controller's gRPC endpoint
 * hostId: ""                            # default: kept in stateDir, seeded from /etc/machine-id
 * stateDir: /var/lib/fleetkeeper-agent  # host id and applied action ids
 * labels: {}                            # e.g. {role: worker, env: prod}
 * procRoot: /proc
 * scan: {interval: 1s, detailInterval: 30s}
 * heartbeatInterval: 5s
 * reconnect: {initialBackoff: 500ms, maxBackoff: 30s}
 * reconcileInterval: 5s                 # how often managed services are compared with /proc
 * services: []                          # managed services; see ServiceSpec and the README
 * </pre>
 */
public record AgentConfig(
        String controller,
        String hostId,
        Path stateDir,
        Map<String, String> labels,
        Path procRoot,
        Duration scanInterval,
        Duration detailInterval,
        Duration heartbeatInterval,
        Duration reconnectInitialBackoff,
        Duration reconnectMaxBackoff,
        Duration reconcileInterval,
        List<ServiceDeclaration> services) {

    public static final String DEFAULT_CONTROLLER = "127.0.0.1:7700";

    public AgentConfig {
        Objects.requireNonNull(controller, "controller");
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(procRoot, "procRoot");
        labels = Map.copyOf(labels);
        requirePositive("scan.interval", scanInterval);
        requirePositive("scan.detailInterval", detailInterval);
        requirePositive("heartbeatInterval", heartbeatInterval);
        requirePositive("reconnect.initialBackoff", reconnectInitialBackoff);
        requirePositive("reconnect.maxBackoff", reconnectMaxBackoff);
        requirePositive("reconcileInterval", reconcileInterval);
        services = List.copyOf(services);
        if (reconnectMaxBackoff.compareTo(reconnectInitialBackoff) < 0) {
            throw new IllegalArgumentException("reconnect.maxBackoff: " + Durations.format(reconnectMaxBackoff)
                    + " (expected: >= reconnect.initialBackoff " + Durations.format(reconnectInitialBackoff) + ")");
        }
        HostPort.parse("controller", controller);
    }

    /** Defaults for everything, with the given state directory. */
    public static AgentConfig defaults(Path stateDir) {
        return new AgentConfig(DEFAULT_CONTROLLER, "", stateDir, Map.of(), Path.of("/proc"),
                Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(5),
                Duration.ofMillis(500), Duration.ofSeconds(30), Duration.ofSeconds(5), List.of());
    }

    public AgentConfig withController(String newController) {
        return new AgentConfig(newController, hostId, stateDir, labels, procRoot, scanInterval, detailInterval,
                heartbeatInterval, reconnectInitialBackoff, reconnectMaxBackoff, reconcileInterval, services);
    }

    public AgentConfig withLabels(Map<String, String> newLabels) {
        return new AgentConfig(controller, hostId, stateDir, newLabels, procRoot, scanInterval, detailInterval,
                heartbeatInterval, reconnectInitialBackoff, reconnectMaxBackoff, reconcileInterval, services);
    }

    public AgentConfig withHostId(String newHostId) {
        return new AgentConfig(controller, newHostId, stateDir, labels, procRoot, scanInterval, detailInterval,
                heartbeatInterval, reconnectInitialBackoff, reconnectMaxBackoff, reconcileInterval, services);
    }

    public AgentConfig withScanInterval(Duration newInterval) {
        return new AgentConfig(controller, hostId, stateDir, labels, procRoot, newInterval, detailInterval,
                heartbeatInterval, reconnectInitialBackoff, reconnectMaxBackoff, reconcileInterval, services);
    }

    public AgentConfig withServices(List<ServiceDeclaration> newServices) {
        return new AgentConfig(controller, hostId, stateDir, labels, procRoot, scanInterval, detailInterval,
                heartbeatInterval, reconnectInitialBackoff, reconnectMaxBackoff, reconcileInterval, newServices);
    }

    /** One line per key, for the start-up log. */
    public String describe() {
        return "controller=" + controller
                + " hostId=" + (hostId.isEmpty() ? "(from stateDir)" : hostId)
                + " stateDir=" + stateDir
                + " labels=" + labels
                + " procRoot=" + procRoot
                + " scan.interval=" + Durations.format(scanInterval)
                + " scan.detailInterval=" + Durations.format(detailInterval)
                + " heartbeatInterval=" + Durations.format(heartbeatInterval)
                + " reconnect.initialBackoff=" + Durations.format(reconnectInitialBackoff)
                + " reconnect.maxBackoff=" + Durations.format(reconnectMaxBackoff)
                + " reconcileInterval=" + Durations.format(reconcileInterval)
                + " services=" + services.stream().map(ServiceDeclaration::name).toList();
    }

    private static void requirePositive(String key, Duration d) {
        Objects.requireNonNull(d, key);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(key + ": " + Durations.format(d) + " (expected: > 0)");
        }
    }
}
