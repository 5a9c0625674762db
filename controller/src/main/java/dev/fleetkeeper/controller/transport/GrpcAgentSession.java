package dev.fleetkeeper.controller.transport;

import dev.fleetkeeper.controller.fleet.AgentAction;
import dev.fleetkeeper.controller.fleet.AgentSession;
import dev.fleetkeeper.proto.v1.Ack;
import dev.fleetkeeper.proto.v1.Action;
import dev.fleetkeeper.proto.v1.ApplyRelease;
import dev.fleetkeeper.proto.v1.ControllerMessage;
import dev.fleetkeeper.proto.v1.RecycleInstance;
import dev.fleetkeeper.proto.v1.RestartService;
import dev.fleetkeeper.proto.v1.RunDoctor;
import dev.fleetkeeper.proto.v1.SamplingSettings;
import dev.fleetkeeper.proto.v1.TailLogs;
import dev.fleetkeeper.proto.v1.Welcome;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.time.Duration;

/**
 * One agent's stream as the fleet engine sees it. Sends are serialised on this object;
 * acknowledgements that find the stream not ready are coalesced into the highest one and sent
 * when it is (acks are cumulative), so a slow agent never makes the controller buffer.
 * Thread-safe.
 */
final class GrpcAgentSession implements AgentSession {

    private final String sessionId;
    private final String peer;
    private final String controllerVersion;
    private final ServerCallStreamObserver<ControllerMessage> out;
    private long durable;
    private long acknowledged;
    private boolean closed;

    GrpcAgentSession(String sessionId, String peer, String controllerVersion,
                     ServerCallStreamObserver<ControllerMessage> out) {
        this.sessionId = sessionId;
        this.peer = peer;
        this.controllerVersion = controllerVersion;
        this.out = out;
    }

    @Override
    public String sessionId() {
        return sessionId;
    }

    @Override
    public String peer() {
        return peer;
    }

    @Override
    public synchronized void welcome(Duration scanInterval, Duration detailInterval, Duration heartbeatInterval) {
        if (closed) {
            return;
        }
        out.onNext(ControllerMessage.newBuilder().setWelcome(Welcome.newBuilder()
                .setSessionId(sessionId)
                .setControllerVersion(controllerVersion)
                .setSampling(SamplingSettings.newBuilder()
                        .setScanIntervalMs((int) scanInterval.toMillis())
                        .setDetailIntervalMs((int) detailInterval.toMillis())
                        .setHeartbeatIntervalMs((int) heartbeatInterval.toMillis())))
                .build());
    }

    @Override
    public synchronized void acknowledge(long sequence) {
        if (closed || sequence <= durable) {
            return;
        }
        durable = sequence;
        flushAck();
    }

    synchronized void onReady() {
        flushAck();
    }

    private void flushAck() {
        if (durable > acknowledged && out.isReady() && !closed) {
            out.onNext(ControllerMessage.newBuilder().setAck(Ack.newBuilder().setUpToSequence(durable)).build());
            acknowledged = durable;
        }
    }

    @Override
    public synchronized boolean sendAction(String actionId, long issuedAtMillis, AgentAction action) {
        if (closed) {
            return false;
        }
        try {
            out.onNext(ControllerMessage.newBuilder().setAction(action(actionId, issuedAtMillis, action)).build());
            return true;
        } catch (IllegalStateException | io.grpc.StatusRuntimeException ended) {
            // The call ended on its own meanwhile.
            return false;
        }
    }

    /** The wire form of an action. */
    static Action action(String actionId, long issuedAtMillis, AgentAction action) {
        Action.Builder b = Action.newBuilder().setActionId(actionId).setIssuedAtUnixMs(issuedAtMillis);
        if (action instanceof AgentAction.RunDoctor d) {
            b.setRunDoctor(RunDoctor.newBuilder().setService(d.service()).setFix(d.fix()));
        } else if (action instanceof AgentAction.RestartService r) {
            b.setRestartService(RestartService.newBuilder().setService(r.service()).setInstance(r.instance()));
        } else if (action instanceof AgentAction.RecycleInstance r) {
            b.setRecycleInstance(RecycleInstance.newBuilder().setService(r.service()).setInstance(r.instance())
                    .setReason(r.reason()).setJobId(r.jobId()));
        } else if (action instanceof AgentAction.ApplyRelease a) {
            b.setApplyRelease(ApplyRelease.newBuilder().setService(a.service()).setInstance(a.instance())
                    .setRelease(AdminProtoMapper.release(a.release())).setToDeclared(a.toDeclared())
                    .setRolloutId(a.rolloutId()).setCurrentTarget(a.currentTarget()));
        } else if (action instanceof AgentAction.TailLogs t) {
            b.setTailLogs(TailLogs.newBuilder().setService(t.service()).setInstance(t.instance()).setLines(t.lines()));
        } else {
            throw new IllegalArgumentException("action: " + action + " (expected: a known AgentAction)");
        }
        return b.build();
    }

    @Override
    public void requestMore(int n) {
        if (!isClosed()) {
            out.request(n);
        }
    }

    @Override
    public void close(String reason) {
        reject(Status.ABORTED.withDescription(reason));
    }

    /** Ends the stream with {@code status} (INVALID_ARGUMENT for bytes that are not a message). */
    synchronized void reject(Status status) {
        if (closed) {
            return;
        }
        closed = true;
        try {
            out.onError(status.asRuntimeException());
        } catch (IllegalStateException alreadyClosed) {
            // The call ended on its own meanwhile.
        }
    }

    /** The agent half-closed: finish our side too. */
    synchronized void complete() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            out.onCompleted();
        } catch (IllegalStateException alreadyClosed) {
            // The call ended on its own meanwhile.
        }
    }

    synchronized void markClosed() {
        closed = true;
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "session " + sessionId + " from " + peer;
    }
}
