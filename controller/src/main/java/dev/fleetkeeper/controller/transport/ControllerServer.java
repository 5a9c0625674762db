package dev.fleetkeeper.controller.transport;

import dev.fleetkeeper.controller.fleet.FleetEngine;
import dev.fleetkeeper.controller.recycle.RecycleCoordinator;
import dev.fleetkeeper.controller.rollout.RolloutCoordinator;
import dev.fleetkeeper.controller.store.FleetStore;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The controller's gRPC endpoint: AgentService, AdminService, the standard
 * {@code grpc.health.v1} health service and server reflection, so that stock gRPC tooling
 * works. Owns the server; not the engine or store.
 */
public final class ControllerServer implements AutoCloseable {

    private final Server server;
    private final HealthStatusManager health = new HealthStatusManager();

    public ControllerServer(InetSocketAddress address, FleetEngine engine, FleetStore store, String version) {
        this(address, engine, store, null, null, version);
    }

    /**
     * @param recycles runs fleet-wide recycles; null when this server offers none (its RPCs answer UNIMPLEMENTED)
     * @param rollouts runs rollouts; null when this server offers none (its RPCs answer UNIMPLEMENTED)
     */
    public ControllerServer(InetSocketAddress address, FleetEngine engine, FleetStore store,
                            RecycleCoordinator recycles, RolloutCoordinator rollouts, String version) {
        PeerAddress peer = new PeerAddress();
        this.server = NettyServerBuilder.forAddress(address)
                .addService(ServerInterceptors.intercept(AgentMessages.bind(new AgentServiceImpl(engine, version)), peer))
                .addService(ServerInterceptors.intercept(new AdminServiceImpl(engine, store, recycles, rollouts), peer))
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .maxInboundMessageSize(64 * 1024 * 1024)
                .build();
    }

    /** Binds and starts serving; fails with a message naming the address when it is taken. */
    public void start() {
        try {
            server.start();
        } catch (IOException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof BindException || String.valueOf(cause.getMessage()).contains("in use")) {
                throw new IllegalStateException("cannot listen on " + describeAddresses() + ": address already in use "
                        + "(is another controller running? find it with 'ss -ltnp'; or change 'listen')", e);
            }
            throw new UncheckedIOException("cannot start the gRPC server: " + e.getMessage(), e);
        }
        health.setStatus("", ServingStatus.SERVING);
        health.setStatus("fleetkeeper.v1.AgentService", ServingStatus.SERVING);
        health.setStatus("fleetkeeper.v1.AdminService", ServingStatus.SERVING);
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    private String describeAddresses() {
        return server.toString();
    }

    @Override
    public void close() {
        health.enterTerminalState();
        server.shutdown();
        try {
            if (!server.awaitTermination(3, TimeUnit.SECONDS)) {
                server.shutdownNow();
                server.awaitTermination(3, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
        }
    }
}
