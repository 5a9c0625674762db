package dev.fleetkeeper.cli.e2e;

import dev.fleetkeeper.proto.v1.Ack;
import dev.fleetkeeper.proto.v1.ActionResult;
import dev.fleetkeeper.proto.v1.AgentMessage;
import dev.fleetkeeper.proto.v1.AgentServiceGrpc;
import dev.fleetkeeper.proto.v1.ControllerMessage;
import dev.fleetkeeper.proto.v1.Hello;
import dev.fleetkeeper.proto.v1.Welcome;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A fake controller's AgentService: answers Hello with Welcome, acknowledges every message,
 * records Hellos and action results, and sends what the test asks on the newest stream.
 * Thread-safe.
 */
final class RecordingAgentService extends AgentServiceGrpc.AgentServiceImplBase {

    final List<Hello> hellos = new CopyOnWriteArrayList<>();
    final List<ActionResult> results = new CopyOnWriteArrayList<>();
    private volatile StreamObserver<ControllerMessage> current;

    /** Sends {@code message} on the newest stream. */
    void send(ControllerMessage message) {
        StreamObserver<ControllerMessage> out = current;
        synchronized (out) {
            out.onNext(message);
        }
    }

    @Override
    public StreamObserver<AgentMessage> connect(StreamObserver<ControllerMessage> out) {
        return new StreamObserver<>() {
            @Override
            public void onNext(AgentMessage m) {
                synchronized (out) {
                    if (m.hasHello()) {
                        out.onNext(ControllerMessage.newBuilder().setWelcome(Welcome.newBuilder()
                                .setSessionId("fake-" + hellos.size())).build());
                    }
                    out.onNext(ControllerMessage.newBuilder()
                            .setAck(Ack.newBuilder().setUpToSequence(m.getSequence())).build());
                }
                if (m.hasHello()) {
                    current = out;
                    hellos.add(m.getHello());
                }
                if (m.hasActionResult()) {
                    results.add(m.getActionResult());
                }
            }

            @Override
            public void onError(Throwable t) {
                // The agent went away (killed): nothing to clean up.
            }

            @Override
            public void onCompleted() {
                synchronized (out) {
                    out.onCompleted();
                }
            }
        };
    }
}
