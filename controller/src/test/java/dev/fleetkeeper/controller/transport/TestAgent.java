package dev.fleetkeeper.controller.transport;

import dev.fleetkeeper.proto.v1.Action;
import dev.fleetkeeper.proto.v1.ActionResult;
import dev.fleetkeeper.proto.v1.AgentMessage;
import dev.fleetkeeper.proto.v1.AgentServiceGrpc;
import dev.fleetkeeper.proto.v1.ControllerMessage;
import dev.fleetkeeper.proto.v1.Hello;
import dev.fleetkeeper.proto.v1.HostStats;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.Snapshot;
import io.grpc.Channel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * An agent's side of one {@code AgentService.Connect} stream, for tests: says Hello, sends a
 * snapshot, sends what the test asks, records acks and the actions it receives, and answers
 * each action with {@link #answers} unless that returns null. Thread-safe; {@link #disconnect()}
 * ends the stream (the caller owns the channel).
 */
final class TestAgent {

    static final String BOOT = "0f3c6a2e-8b1d-4c55-9a7e-2d4b6f8e1a90";

    final BlockingQueue<Action> actions = new LinkedBlockingQueue<>();
    final AtomicLong acked = new AtomicLong();
    volatile Function<Action, ActionResult> answers = a -> null;
    private final AtomicLong sequence = new AtomicLong();
    private volatile ClientCallStreamObserver<AgentMessage> out;
    private volatile boolean ended;

    /** Connects, says Hello as {@code hostId}/{@code hostname} and sends an empty snapshot. */
    static TestAgent connect(Channel channel, String hostId, String hostname) {
        TestAgent agent = new TestAgent();
        AgentServiceGrpc.newStub(channel).connect(agent.new Inbound());
        agent.send(AgentMessage.newBuilder().setHello(Hello.newBuilder().setHostId(hostId).setHostname(hostname)
                .setAgentVersion("test").setKernel("6.8.0").setBootId(BOOT).setClockTicksPerSecond(100)));
        agent.send(AgentMessage.newBuilder().setSnapshot(Snapshot.newBuilder()
                .setTakenAtUnixMs(System.currentTimeMillis()).setHost(HostStats.getDefaultInstance())));
        return agent;
    }

    /** Sends a service report; returns its sequence. */
    long report(ServiceReport report) {
        return send(AgentMessage.newBuilder().setServices(report));
    }

    /** Sends an action result (again, after a reconnect, as the agent's outbox does); returns its sequence. */
    long result(ActionResult result) {
        return send(AgentMessage.newBuilder().setActionResult(result));
    }

    /** Waits for the next action, at most 10 s. */
    Action nextAction() throws InterruptedException {
        Action a = actions.poll(10, TimeUnit.SECONDS);
        if (a == null) {
            throw new AssertionError("no action arrived within 10 s");
        }
        return a;
    }

    /** Whether the controller acknowledged everything up to {@code seq}. */
    boolean acknowledged(long seq) {
        return acked.get() >= seq;
    }

    /** Ends the stream as a dying agent would (cancel). */
    void disconnect() {
        ended = true;
        ClientCallStreamObserver<AgentMessage> o = out;
        if (o != null) {
            o.cancel("test agent disconnects", null);
        }
    }

    private synchronized long send(AgentMessage.Builder m) {
        long seq = sequence.incrementAndGet();
        out.onNext(m.setSequence(seq).build());
        return seq;
    }

    private final class Inbound implements ClientResponseObserver<AgentMessage, ControllerMessage> {
        @Override
        public void beforeStart(ClientCallStreamObserver<AgentMessage> requests) {
            out = requests;
        }

        @Override
        public void onNext(ControllerMessage m) {
            if (m.hasAck()) {
                acked.accumulateAndGet(m.getAck().getUpToSequence(), Math::max);
            }
            if (m.hasAction()) {
                actions.add(m.getAction());
                ActionResult r = answers.apply(m.getAction());
                if (r != null && !ended) {
                    result(r);
                }
            }
        }

        @Override
        public void onError(Throwable t) {
            ended = true;
        }

        @Override
        public void onCompleted() {
            ended = true;
        }
    }
}
