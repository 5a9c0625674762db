package dev.fleetkeeper.controller.fleet;

import java.time.Duration;

/**
 * What the fleet engine needs from one agent's open stream. Implemented by the transport, so
 * that the engine never touches gRPC. Implementations must be thread-safe: the engine calls
 * from its own thread and the store writer's.
 */
public interface AgentSession {

    /** Id of this stream, unique for the controller's lifetime. */
    String sessionId();

    /** Remote address, for logs. */
    String peer();

    /** Sends Welcome with the cadence the agent should sample at. */
    void welcome(Duration scanInterval, Duration detailInterval, Duration heartbeatInterval);

    /** Every message up to {@code sequence} is durable. */
    void acknowledge(long sequence);

    /** The engine has consumed a message; the stream may deliver {@code n} more. */
    void requestMore(int n);

    /**
     * Sends an action to the agent. Actions are rare and small, so they are written even when
     * the stream is not ready (gRPC buffers them); they are never dropped or merged.
     *
     * @return false if the stream has ended, so that the action was not sent
     */
    boolean sendAction(String actionId, long issuedAtMillis, AgentAction action);

    /** Ends the stream with {@code reason} (replaced by a newer one, storage failing). */
    void close(String reason);
}
