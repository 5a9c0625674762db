package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.agent.Agent;
import dev.fleetkeeper.agent.config.AgentConfig;
import dev.fleetkeeper.agent.transport.ControllerChannel;
import dev.fleetkeeper.proto.v1.AgentMessage;
import dev.fleetkeeper.proto.v1.Delta;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.Heartbeat;
import dev.fleetkeeper.proto.v1.Hello;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that sends the controller bytes that are not an AgentMessage, or messages out of
 * protocol order, gets its own stream ended with a status that says why; a real agent connected
 * at the same time stays online and its deltas keep being stored; the controller logs it
 * without a stack trace.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CorruptAgentStreamTest {

    private static final String STEADY = "steady-host";
    private static final String BOOT_ID = "0f3c6a2e-8b1d-4c55-9a7e-2d4b6f8e1a90";

    /** AgentService/Connect with raw bytes each way, so that anything can be sent. */
    private static final MethodDescriptor<byte[], byte[]> CONNECT = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .setFullMethodName("fleetkeeper.v1.AgentService/Connect")
            .setRequestMarshaller(new Bytes())
            .setResponseMarshaller(new Bytes())
            .build();

    @TempDir
    static Path dir;

    private static ControllerProcess controller;
    private final Procs procs = new Procs();
    private ControllerChannel agentChannel;
    private Agent agent;
    private ManagedChannel raw;

    @BeforeEach
    void start() throws Exception {
        if (controller == null) {
            controller = new ControllerProcess(dir.resolve("controller"));
            controller.start();
        }
        AgentConfig config = AgentConfig.defaults(dir.resolve("agent")).withController(controller.target())
                .withHostId(STEADY).withLabels(Map.of());
        config = new AgentConfig(config.controller(), config.hostId(), config.stateDir(), config.labels(),
                config.procRoot(), Duration.ofMillis(500), config.detailInterval(), Duration.ofMillis(500),
                Duration.ofMillis(100), Duration.ofMillis(500), config.reconcileInterval(), config.services());
        agentChannel = ControllerChannel.open(controller.target());
        agent = new Agent(config, agentChannel.channel(), agentChannel::resetConnectBackoff, InstantSource.system());
        agent.start();
        raw = Grpc.newChannelBuilder(controller.target(), InsecureChannelCredentials.create()).build();
        await().atMost(Duration.ofSeconds(30)).until(() -> FleetQueries.online(controller.target(), STEADY));
    }

    @AfterEach
    void stop() throws Exception {
        procs.close();
        raw.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        agent.close();
        agentChannel.close();
    }

    @org.junit.jupiter.api.AfterAll
    static void stopController() {
        if (controller != null) {
            controller.close();
        }
    }

    @Test
    void bytesThatAreNotAnAgentMessage_endThatStreamWithAStatusSayingSo_andOtherAgentsGoOn() throws Exception {
        // Field 1 as a varint whose continuation bits never end: no protobuf parser accepts it.
        byte[] garbage = {0x08, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
            (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};

        Status status = send(garbage);

        assertThat(status.getCode()).as(status.toString()).isIn(Status.Code.INVALID_ARGUMENT, Status.Code.INTERNAL);
        assertThat(status.getDescription()).as(status.toString()).isNotBlank()
                .contains("not a valid AgentMessage");
        steadyAgentStillDeliversDeltas();
        String log = controller.log();
        assertThat(log).doesNotContain("\tat ").doesNotContain("Exception in thread");
    }

    @Test
    void aFirstMessageOtherThanHello_isAborted_saying_firstMessageMustBeHello() throws Exception {
        Status status = send(AgentMessage.newBuilder().setSequence(1)
                .setHeartbeat(Heartbeat.getDefaultInstance()).build().toByteArray());

        assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.ABORTED);
        assertThat(status.getDescription()).contains("first message must be Hello");
        steadyAgentStillDeliversDeltas();
    }

    @Test
    void aDeltaBeforeTheFirstSnapshot_endsTheStream_withAProtocolError() throws Exception {
        byte[] hello = AgentMessage.newBuilder().setSequence(1).setHello(Hello.newBuilder()
                .setHostId("rogue-host").setHostname("rogue").setBootId(BOOT_ID).setAgentVersion("test")).build()
                .toByteArray();
        byte[] delta = AgentMessage.newBuilder().setSequence(2).setDelta(Delta.getDefaultInstance()).build()
                .toByteArray();

        Status status = send(hello, delta);

        assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.ABORTED);
        assertThat(status.getDescription()).contains("protocol error").contains("Delta before the first Snapshot");
        steadyAgentStillDeliversDeltas();
    }

    /** Opens a stream, sends {@code messages} without half-closing, and waits for the controller to end it. */
    private Status send(byte[]... messages) throws Exception {
        CompletableFuture<Status> closed = new CompletableFuture<>();
        ClientCall<byte[], byte[]> call = raw.newCall(CONNECT, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS));
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.request(Integer.MAX_VALUE);
        for (byte[] m : messages) {
            call.sendMessage(m);
        }
        return closed.get(25, TimeUnit.SECONDS);
    }

    /** The real agent is online and a process started now is stored as an event (it came in a Delta). */
    private void steadyAgentStillDeliversDeltas() throws Exception {
        Process p = procs.start("sleep", "30");
        await().atMost(Duration.ofSeconds(20)).until(() -> FleetQueries.processEvent(controller.target(),
                EventType.EVENT_TYPE_PROCESS_STARTED, STEADY, p.pid()).isPresent());
        assertThat(FleetQueries.online(controller.target(), STEADY)).isTrue();
        assertThat(controller.isAlive()).isTrue();
    }

    private static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
