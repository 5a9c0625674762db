package dev.fleetkeeper.controller.transport;

import dev.fleetkeeper.controller.fleet.FleetEngine;
import dev.fleetkeeper.proto.v1.AgentMessage;
import dev.fleetkeeper.proto.v1.AgentServiceGrpc;
import dev.fleetkeeper.proto.v1.ControllerMessage;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code AgentService.Connect}: translates each agent stream into calls on the
 * {@link FleetEngine} and nothing more. Inbound flow control is manual: the stream delivers a
 * small window of messages and one more each time the engine has applied one, so a slow
 * controller slows its agents down (which then merge their scans) instead of buffering.
 */
final class AgentServiceImpl extends AgentServiceGrpc.AgentServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(AgentServiceImpl.class);
    private static final int INBOUND_WINDOW = 8;

    private final FleetEngine engine;
    private final String controllerVersion;
    private final AtomicLong sessions = new AtomicLong();
    private final String sessionPrefix = Long.toString(System.currentTimeMillis(), 36) + "-";

    AgentServiceImpl(FleetEngine engine, String controllerVersion) {
        this.engine = engine;
        this.controllerVersion = controllerVersion;
    }

    @Override
    public StreamObserver<AgentMessage> connect(StreamObserver<ControllerMessage> responses) {
        ServerCallStreamObserver<ControllerMessage> out = (ServerCallStreamObserver<ControllerMessage>) responses;
        GrpcAgentSession session = new GrpcAgentSession(sessionPrefix + sessions.incrementAndGet(),
                PeerAddress.current(), controllerVersion, out);
        out.disableAutoRequest();
        out.setOnReadyHandler(session::onReady);
        out.setOnCancelHandler(() -> {
            session.markClosed();
            engine.disconnected(session, "cancelled (the agent went away or the network dropped)");
        });
        out.request(INBOUND_WINDOW);
        return new StreamObserver<>() {
            private boolean helloSeen;

            @Override
            public void onNext(AgentMessage m) {
                java.util.Optional<String> invalid = AgentMessages.parseError(m);
                if (invalid.isPresent()) {
                    // One line, no stack trace: a broken or hostile client must not flood the log.
                    log.warn("{} sent bytes that are not an AgentMessage ({}); ending its stream", session,
                            invalid.get());
                    session.reject(Status.INVALID_ARGUMENT.withDescription("not a valid AgentMessage: "
                            + invalid.get() + " (is the client a Fleetkeeper agent of a compatible version?)"));
                    if (helloSeen) {
                        engine.disconnected(session, "sent an invalid message");
                    }
                    return;
                }
                long seq = m.getSequence();
                if (!helloSeen && m.getBodyCase() != AgentMessage.BodyCase.HELLO) {
                    session.close("protocol error: the first message must be Hello, got " + m.getBodyCase());
                    return;
                }
                switch (m.getBodyCase()) {
                    case HELLO:
                        helloSeen = true;
                        engine.hello(session, seq, m.getHello());
                        break;
                    case SNAPSHOT:
                        engine.snapshot(session, seq, m.getSnapshot());
                        break;
                    case DELTA:
                        engine.delta(session, seq, m.getDelta());
                        break;
                    case HEARTBEAT:
                        engine.heartbeat(session, seq);
                        break;
                    case EVENT:
                        engine.agentEvent(session, seq, m.getEvent());
                        break;
                    case ACTION_RESULT:
                        engine.actionResult(session, seq, m.getActionResult());
                        break;
                    case SERVICES:
                        engine.services(session, seq, m.getServices());
                        break;
                    default:
                        log.warn("{} sent a message this controller does not know ({}); ignoring it. "
                                + "Is the agent newer than the controller?", session, m.getBodyCase());
                        engine.heartbeat(session, seq);
                }
            }

            @Override
            public void onError(Throwable t) {
                session.markClosed();
                engine.disconnected(session, Status.fromThrowable(t).getCode().toString());
            }

            @Override
            public void onCompleted() {
                engine.disconnected(session, "the agent closed the stream");
                session.complete();
            }
        };
    }
}
