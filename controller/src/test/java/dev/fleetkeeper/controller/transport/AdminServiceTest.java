package dev.fleetkeeper.controller.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.controller.fleet.AgentAction;
import dev.fleetkeeper.controller.fleet.AgentSession;
import dev.fleetkeeper.controller.fleet.FleetEngine;
import dev.fleetkeeper.controller.fleet.FleetSettings;
import dev.fleetkeeper.controller.store.FleetStore;
import dev.fleetkeeper.controller.store.StoreOptions;
import dev.fleetkeeper.proto.v1.AdminServiceGrpc;
import dev.fleetkeeper.proto.v1.Delta;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.GetHostRequest;
import dev.fleetkeeper.proto.v1.Hello;
import dev.fleetkeeper.proto.v1.HostStats;
import dev.fleetkeeper.proto.v1.ListEventsRequest;
import dev.fleetkeeper.proto.v1.ListProcessesRequest;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.Snapshot;
import dev.fleetkeeper.proto.v1.WatchEventsRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The real ControllerServer on a loopback port, with a real engine and store, called over a real channel. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminServiceTest {

    private static final String BOOT = "0f3c6a2e-8b1d-4c55-9a7e-2d4b6f8e1a90";

    @TempDir
    Path dir;

    private FleetStore store;
    private FleetEngine engine;
    private ControllerServer server;
    private ManagedChannel channel;
    private AdminServiceGrpc.AdminServiceBlockingStub admin;

    @BeforeEach
    void setUp() {
        store = FleetStore.open(dir.resolve("store"), StoreOptions.defaults());
        engine = new FleetEngine(store, new FleetSettings(Duration.ofSeconds(15), Duration.ofSeconds(1),
                Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(10)),
                InstantSource.system(), new SimpleMeterRegistry());
        engine.start();
        server = new ControllerServer(new InetSocketAddress("127.0.0.1", 0), engine, store, "test");
        server.start();
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        admin = AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    @AfterEach
    void tearDown() throws Exception {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
        server.close();
        engine.close();
        store.close();
    }

    @Test
    void unknownHost_isNotFound_withAMessageSayingWhatToDo() {
        assertThatThrownBy(() -> admin.getHost(GetHostRequest.newBuilder().setHost("db-9").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription())
                            .isEqualTo("no host with id or name 'db-9' (list them with 'fleetkeeper hosts')");
                });
    }

    @Test
    void emptyHost_isInvalidArgument() {
        assertThatThrownBy(() -> admin.getHost(GetHostRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).startsWith("host: missing (expected: a host id or name");
                });
        assertThatThrownBy(() -> admin.listProcesses(ListProcessesRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }

    @Test
    void knownHost_isFoundByIdAndByName() {
        FakeSession s = new FakeSession("s1");
        engine.hello(s, 1, hello("host-a", "web-1"));
        await().atMost(5, TimeUnit.SECONDS).until(() -> s.acked.get() == 1);

        assertThat(admin.getHost(GetHostRequest.newBuilder().setHost("web-1").build()).getHostId()).isEqualTo("host-a");
        assertThat(admin.getHost(GetHostRequest.newBuilder().setHost("host-a").build()).getOnline()).isTrue();
    }

    @Test
    void watchEvents_deliversTheBacklog_thenLiveEvents_withoutGapsOrDuplicates() {
        FakeSession a = new FakeSession("a");
        engine.hello(a, 1, hello("host-a", "web-1"));
        engine.snapshot(a, 2, snapshot(100, 101));
        await().atMost(5, TimeUnit.SECONDS).until(() -> a.acked.get() == 2);

        Iterator<Event> watch = admin.watchEvents(WatchEventsRequest.newBuilder()
                .setFilter(ListEventsRequest.getDefaultInstance()).build());
        List<Event> seen = new ArrayList<>();
        seen.add(watch.next());
        assertThat(seen.get(0).getType()).isEqualTo(EventType.EVENT_TYPE_HOST_REGISTERED);

        // Live: a second host, and changes on the first, while the watch is open.
        FakeSession b = new FakeSession("b");
        engine.hello(b, 1, hello("host-b", "web-2"));
        for (int i = 0; i < 20; i++) {
            engine.delta(a, 3 + i, Delta.newBuilder().setTakenAtUnixMs(System.currentTimeMillis())
                    .setHost(HostStats.getDefaultInstance()).setMergedScans(1)
                    .addProcessesUpserted(proc(200 + i)).build());
        }
        // 1 registration + 20 starts.
        for (int i = 0; i < 21; i++) {
            seen.add(watch.next());
        }

        List<Long> sequences = seen.stream().map(Event::getSequence).collect(Collectors.toList());
        for (int i = 1; i < sequences.size(); i++) {
            assertThat(sequences.get(i)).as("sequence after %d", sequences.get(i - 1)).isEqualTo(sequences.get(i - 1) + 1);
        }
        assertThat(seen.stream().filter(e -> e.getType() == EventType.EVENT_TYPE_PROCESS_STARTED)).hasSize(20);
        assertThat(seen.stream().filter(e -> e.getType() == EventType.EVENT_TYPE_HOST_REGISTERED)).hasSize(2);
    }

    @Test
    void watchEvents_forOneHostByName_deliversOnlyItsEvents() {
        FakeSession a = new FakeSession("a");
        engine.hello(a, 1, hello("host-a", "web-1"));
        engine.snapshot(a, 2, snapshot(100));
        await().atMost(5, TimeUnit.SECONDS).until(() -> a.acked.get() == 2);

        Iterator<Event> watch = admin.watchEvents(WatchEventsRequest.newBuilder()
                .setFilter(ListEventsRequest.newBuilder().setHost("web-1")).build());
        assertThat(watch.next().getHostId()).isEqualTo("host-a");

        FakeSession b = new FakeSession("b");
        engine.hello(b, 1, hello("host-b", "web-2"));
        engine.delta(a, 3, Delta.newBuilder().setTakenAtUnixMs(System.currentTimeMillis())
                .setHost(HostStats.getDefaultInstance()).setMergedScans(1).addProcessesUpserted(proc(300)).build());

        Event live = watch.next();
        assertThat(live.getHostId()).isEqualTo("host-a");
        assertThat(live.getType()).isEqualTo(EventType.EVENT_TYPE_PROCESS_STARTED);
    }

    @Test
    void watchEvents_forAnUnknownHost_isNotFound() {
        Iterator<Event> watch = admin.watchEvents(WatchEventsRequest.newBuilder()
                .setFilter(ListEventsRequest.newBuilder().setHost("db-9")).build());

        assertThatThrownBy(watch::hasNext).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    }

    @Test
    void healthCheck_answersServing() {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);

        assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus())
                .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        assertThat(health.check(HealthCheckRequest.newBuilder().setService("fleetkeeper.v1.AdminService").build())
                .getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    }

    @Test
    void reflection_listsTheAdminService() throws Exception {
        CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
        StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse value) {
                        answer.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        answer.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());

        List<String> services = answer.get(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList().stream()
                .map(ServiceResponse::getName).collect(Collectors.toList());
        requests.onCompleted();

        assertThat(services).contains("fleetkeeper.v1.AdminService", "fleetkeeper.v1.AgentService",
                "grpc.health.v1.Health");
    }

    private static Hello hello(String hostId, String hostname) {
        return Hello.newBuilder().setHostId(hostId).setHostname(hostname).setAgentVersion("1.0").setKernel("6.8.0")
                .setBootId(BOOT).setClockTicksPerSecond(100).build();
    }

    private static Snapshot snapshot(int... pids) {
        Snapshot.Builder b = Snapshot.newBuilder().setTakenAtUnixMs(System.currentTimeMillis())
                .setHost(HostStats.getDefaultInstance());
        for (int pid : pids) {
            b.addProcesses(proc(pid));
        }
        return b.build();
    }

    private static Process proc(int pid) {
        return Process.newBuilder().setKey(ProcessKey.newBuilder().setPid(pid).setStartTicks(1000 + pid))
                .setPpid(1).setComm("node").addCmdline("node").setExe("/usr/bin/node").setRssBytes(pid * 1000L).build();
    }

    /** Records acks; the engine's view of an agent stream without gRPC. Thread-safe. */
    private static final class FakeSession implements AgentSession {
        final String id;
        final AtomicLong acked = new AtomicLong();

        FakeSession(String id) {
            this.id = id;
        }

        @Override
        public String sessionId() {
            return id;
        }

        @Override
        public String peer() {
            return "test";
        }

        @Override
        public void welcome(Duration scanInterval, Duration detailInterval, Duration heartbeatInterval) {
        }

        @Override
        public void acknowledge(long sequence) {
            acked.set(sequence);
        }

        @Override
        public boolean sendAction(String actionId, long issuedAtMillis, AgentAction action) {
            return true;
        }

        @Override
        public void requestMore(int n) {
        }

        @Override
        public void close(String reason) {
        }
    }
}
