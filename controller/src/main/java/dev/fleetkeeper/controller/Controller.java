package dev.fleetkeeper.controller;

import dev.fleetkeeper.controller.config.ControllerConfig;
import dev.fleetkeeper.controller.config.HostPort;
import dev.fleetkeeper.controller.fleet.FleetEngine;
import dev.fleetkeeper.controller.fleet.FleetSettings;
import dev.fleetkeeper.controller.metrics.MetricsEndpoint;
import dev.fleetkeeper.controller.recycle.RecycleCoordinator;
import dev.fleetkeeper.controller.rollout.RolloutCoordinator;
import dev.fleetkeeper.controller.store.FleetStore;
import dev.fleetkeeper.controller.store.StoreOptions;
import dev.fleetkeeper.controller.transport.ControllerServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.time.InstantSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller: store, fleet engine, recycle and rollout coordinators, gRPC server and metrics endpoint, started in that order
 * and closed in reverse. {@link #close()} is idempotent. Used by {@code ControllerMain} and by
 * {@code fleetkeeper dev}.
 */
public final class Controller implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Controller.class);

    /** How often running recycle jobs are re-decided. */
    private static final java.time.Duration RECYCLE_TICK = java.time.Duration.ofMillis(250);
    /** How often running rollouts are re-decided. */
    private static final java.time.Duration ROLLOUT_TICK = java.time.Duration.ofMillis(250);

    private final ControllerConfig config;
    private final InstantSource clock;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private FleetStore store;
    private FleetEngine engine;
    private RecycleCoordinator recycles;
    private RolloutCoordinator rollouts;
    private ControllerServer server;
    private MetricsEndpoint metrics;
    private boolean closed;

    public Controller(ControllerConfig config, InstantSource clock) {
        this.config = config;
        this.clock = clock;
    }

    public static String version() {
        String v = Controller.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /**
     * Opens the store and starts serving. A store that cannot be opened fails here with a
     * message naming the directory and what to do; nothing is deleted.
     */
    public synchronized void start() {
        log.info("Fleetkeeper controller {} starting: {}", version(), config.describe());
        try {
            store = FleetStore.open(config.dataDir(), StoreOptions.defaults()
                    .withMemoryRetention(config.memoryRetention())
                    .withEventRetention(config.eventRetention())
                    .withSyncWrites(config.syncWrites()), clock, registry);
            engine = new FleetEngine(store, new FleetSettings(config.offlineGrace(), config.scanInterval(),
                    config.detailInterval(), config.heartbeatInterval(), config.checkpointInterval(),
                    config.memoryResolution()), clock, registry);
            engine.start();
            recycles = new RecycleCoordinator(store, engine, clock, RECYCLE_TICK, registry);
            recycles.start();
            rollouts = new RolloutCoordinator(store, engine, clock, ROLLOUT_TICK, registry);
            rollouts.start();
            HostPort listen = HostPort.parse("listen", config.listen());
            server = new ControllerServer(new InetSocketAddress(listen.host(), listen.port()), engine, store, recycles,
                    rollouts, version());
            server.start();
            if (!config.metricsListen().isEmpty()) {
                HostPort m = HostPort.parse("metrics.listen", config.metricsListen());
                metrics = new MetricsEndpoint(new InetSocketAddress(m.host(), m.port()), registry);
                metrics.start();
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        log.info("Controller listening on {} (gRPC){}", grpcPort(),
                metrics == null ? "" : ", metrics on :" + metrics.port() + "/metrics");
    }

    public int grpcPort() {
        return server.port();
    }

    public int metricsPort() {
        return metrics == null ? -1 : metrics.port();
    }

    public FleetEngine engine() {
        return engine;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (metrics != null) {
            metrics.close();
        }
        if (engine != null && server != null) {
            engine.prepareForShutdown();
        }
        if (rollouts != null) {
            // First: nothing new is sent while the rest stops; a step in flight stays SENT in the
            // store and is re-sent with the same id by the next controller.
            rollouts.close();
        }
        if (recycles != null) {
            // Likewise for recycle steps.
            recycles.close();
        }
        if (server != null) {
            server.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (store != null) {
            store.close();
        }
        log.info("Fleetkeeper controller stopped");
    }
}
