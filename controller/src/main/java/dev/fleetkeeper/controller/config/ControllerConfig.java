package dev.fleetkeeper.controller.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The controller's effective configuration, validated at load. Immutable; one per controller
 * process.
 *
 * <p>Every key with its default (also in {@code deploy/conf/controller.yaml.example} and the
 * README):
 * <pre>
 * listen: 0.0.0.0:7700               # gRPC: agents and the CLI
 * dataDir: /var/lib/fleetkeeper      # RocksDB
 * offlineGrace: 15s                  # silence after which a host is offline
 * scanInterval: 1s                   # pushed to agents in Welcome
 * detailInterval: 30s                # smaps_rollup cadence for unmanaged processes
 * heartbeatInterval: 5s              # longest agent silence while connected
 * checkpointInterval: 10s            # how often each host's latest full state is stored
 * memoryResolution: 10s              # one memory point per process per this interval at most
 * retention: {memory: 48h, events: 14d}
 * store: {sync: true}                # fsync the write-ahead log before acknowledging
 * metrics: {listen: 127.0.0.1:7701}  # Prometheus /metrics; "" to disable
 * </pre>
 */
public record ControllerConfig(
        String listen,
        Path dataDir,
        Duration offlineGrace,
        Duration scanInterval,
        Duration detailInterval,
        Duration heartbeatInterval,
        Duration checkpointInterval,
        Duration memoryResolution,
        Duration memoryRetention,
        Duration eventRetention,
        boolean syncWrites,
        String metricsListen) {

    public ControllerConfig {
        Objects.requireNonNull(dataDir, "dataDir");
        HostPort.parse("listen", listen);
        if (!metricsListen.isEmpty()) {
            HostPort.parse("metrics.listen", metricsListen);
        }
        positive("offlineGrace", offlineGrace);
        positive("scanInterval", scanInterval);
        positive("detailInterval", detailInterval);
        positive("heartbeatInterval", heartbeatInterval);
        positive("checkpointInterval", checkpointInterval);
        positive("memoryResolution", memoryResolution);
        positive("retention.memory", memoryRetention);
        positive("retention.events", eventRetention);
        if (offlineGrace.compareTo(heartbeatInterval) <= 0) {
            throw new IllegalArgumentException("offlineGrace: " + Durations.format(offlineGrace)
                    + " (expected: > heartbeatInterval " + Durations.format(heartbeatInterval)
                    + ", or healthy hosts would flap offline)");
        }
    }

    /** Defaults for everything, with the given data directory. */
    public static ControllerConfig defaults(Path dataDir) {
        return new ControllerConfig("0.0.0.0:7700", dataDir, Duration.ofSeconds(15), Duration.ofSeconds(1),
                Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(10),
                Duration.ofHours(48), Duration.ofDays(14), true, "127.0.0.1:7701");
    }

    public ControllerConfig withListen(String newListen, String newMetricsListen) {
        return new ControllerConfig(newListen, dataDir, offlineGrace, scanInterval, detailInterval,
                heartbeatInterval, checkpointInterval, memoryResolution, memoryRetention, eventRetention,
                syncWrites, newMetricsListen);
    }

    public ControllerConfig withDataDir(Path newDataDir) {
        return new ControllerConfig(listen, newDataDir, offlineGrace, scanInterval, detailInterval, heartbeatInterval,
                checkpointInterval, memoryResolution, memoryRetention, eventRetention, syncWrites, metricsListen);
    }

    public ControllerConfig withOfflineGrace(Duration grace, Duration heartbeat) {
        return new ControllerConfig(listen, dataDir, grace, scanInterval, detailInterval, heartbeat,
                checkpointInterval, memoryResolution, memoryRetention, eventRetention, syncWrites, metricsListen);
    }

    public ControllerConfig withSyncWrites(boolean sync) {
        return new ControllerConfig(listen, dataDir, offlineGrace, scanInterval, detailInterval, heartbeatInterval,
                checkpointInterval, memoryResolution, memoryRetention, eventRetention, sync, metricsListen);
    }

    /** One line with every key, for the start-up log. */
    public String describe() {
        return "listen=" + listen + " dataDir=" + dataDir
                + " offlineGrace=" + Durations.format(offlineGrace)
                + " scanInterval=" + Durations.format(scanInterval)
                + " detailInterval=" + Durations.format(detailInterval)
                + " heartbeatInterval=" + Durations.format(heartbeatInterval)
                + " checkpointInterval=" + Durations.format(checkpointInterval)
                + " memoryResolution=" + Durations.format(memoryResolution)
                + " retention.memory=" + Durations.format(memoryRetention)
                + " retention.events=" + Durations.format(eventRetention)
                + " store.sync=" + syncWrites
                + " metrics.listen=" + (metricsListen.isEmpty() ? "(off)" : metricsListen);
    }

    private static void positive(String key, Duration d) {
        Objects.requireNonNull(d, key);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(key + ": " + Durations.format(d) + " (expected: > 0)");
        }
    }
}
