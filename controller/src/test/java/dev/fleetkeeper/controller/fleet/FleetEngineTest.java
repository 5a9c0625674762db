package dev.fleetkeeper.controller.fleet;

import static dev.fleetkeeper.controller.fleet.HostViewTest.delta;
import static dev.fleetkeeper.controller.fleet.HostViewTest.key;
import static dev.fleetkeeper.controller.fleet.HostViewTest.proc;
import static dev.fleetkeeper.controller.fleet.HostViewTest.snapshot;
import static dev.fleetkeeper.controller.fleet.HostViewTest.socket;
import static dev.fleetkeeper.controller.fleet.HostViewTest.zombie;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.controller.ManualClock;
import dev.fleetkeeper.controller.store.EventQuery;
import dev.fleetkeeper.controller.store.FleetStore;
import dev.fleetkeeper.controller.store.StoreOptions;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.Hello;
import dev.fleetkeeper.proto.v1.Process;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FleetEngineTest {

    private static final long T0 = 1_767_225_600_000L;
    private static final String BOOT_1 = "0f3c6a2e-8b1d-4c55-9a7e-2d4b6f8e1a90";
    private static final String BOOT_2 = "7d2e9b14-3c6f-4a81-b5d0-9e8f7a6b5c4d";
    private static final Duration GRACE = Duration.ofSeconds(15);
    private static final FleetSettings SETTINGS = new FleetSettings(GRACE, Duration.ofSeconds(1),
            Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(10));

    @TempDir
    Path dir;

    private final ManualClock clock = new ManualClock(T0);
    private FleetStore store;
    private FleetEngine engine;

    @BeforeEach
    void setUp() {
        openEngine();
    }

    @AfterEach
    void tearDown() {
        closeEngine();
    }

    private void openEngine() {
        store = FleetStore.open(dir.resolve("store"), StoreOptions.defaults());
        engine = new FleetEngine(store, SETTINGS, clock, new SimpleMeterRegistry());
        engine.start();
    }

    private void closeEngine() {
        if (engine != null) {
            engine.close();
            store.close();
            engine = null;
        }
    }

    // ---- stream handling -------------------------------------------------------------------

    @Test
    void hello_isWelcomed_withTheConfiguredCadence_andRegistersTheHost() throws Exception {
        RecordingSession s = new RecordingSession("s1");

        engine.hello(s, 1, hello("host-a", "web-1", BOOT_1));

        await().atMost(5, TimeUnit.SECONDS).until(() -> !s.welcomes.isEmpty());
        assertThat(s.welcomes).containsExactly(List.of(Duration.ofSeconds(1), Duration.ofSeconds(30),
                Duration.ofSeconds(5)));
        await().atMost(5, TimeUnit.SECONDS).until(() -> s.acked.get() == 1);
        HostStatus status = get(engine.host("host-a"));
        assertThat(status.record().online()).isTrue();
        assertThat(status.record().hostname()).isEqualTo("web-1");
        assertThat(status.record().labels()).containsEntry("role", "web");
        assertThat(types(storedEvents())).containsExactly(EventType.EVENT_TYPE_HOST_REGISTERED);
    }

    @Test
    void helloWithAMalformedBootId_endsTheStreamWithAReason_andRegistersNothing() throws Exception {
        RecordingSession s = new RecordingSession("s1");

        engine.hello(s, 1, hello("host-a", "web-1", "not-a-uuid"));

        await().atMost(5, TimeUnit.SECONDS).until(() -> !s.closed.isEmpty());
        assertThat(s.closed.get(0)).contains("boot id").contains("UUID");
        assertThat(s.welcomes).isEmpty();
        assertThat(get(engine.hosts(java.util.Map.of()))).isEmpty();
    }

    @Test
    void actionResultResentAfterAReconnect_isStoredOnce() throws Exception {
        RecordingSession first = connect("host-a", "web-1", BOOT_1);
        dev.fleetkeeper.proto.v1.ActionResult result = dev.fleetkeeper.proto.v1.ActionResult.newBuilder()
                .setActionId("act-1").setStatus(dev.fleetkeeper.proto.v1.ActionStatus.ACTION_STATUS_SUCCEEDED)
                .setMessage("done").setFinishedAtUnixMs(clock.millis()).build();
        engine.actionResult(first, 2, result);
        await().atMost(5, TimeUnit.SECONDS).until(() -> first.acked.get() == 2);

        RecordingSession second = new RecordingSession("s2");
        engine.hello(second, 1, hello("host-a", "web-1", BOOT_1));
        engine.actionResult(second, 2, result);
        await().atMost(5, TimeUnit.SECONDS).until(() -> second.acked.get() == 2);

        assertThat(storedEvents()).filteredOn(e -> e.getType() == EventType.EVENT_TYPE_AGENT).hasSize(1);
    }

    @Test
    void acks_comeOnlyOnceTheirEffectsAreDurable() throws Exception {
        RecordingSession s = new RecordingSession("s1");
        s.onAck = seq -> s.visibleAtAck.add(types(store.events(EventQuery.oldest(1000))));

        engine.hello(s, 1, hello("host-a", "web-1", BOOT_1));
        engine.snapshot(s, 2, snapshot(T0, List.of(proc(1, "systemd", 0), proc(100, "node", 1)), List.of()));
        engine.delta(s, 3, delta(T0 + 1000).addProcessesRemoved(key(100))
                .addProcessesUpserted(proc(200, "queue", 1)).build());

        await().atMost(5, TimeUnit.SECONDS).until(() -> s.acked.get() == 3);
        // At the moment the last ack went out, its events could already be read back.
        assertThat(s.visibleAtAck.get(s.visibleAtAck.size() - 1)).contains(EventType.EVENT_TYPE_HOST_REGISTERED,
                EventType.EVENT_TYPE_PROCESS_EXITED, EventType.EVENT_TYPE_PROCESS_STARTED);
        assertThat(s.ackSequences).isSorted();

        closeEngine();
        try (FleetStore reopened = FleetStore.open(dir.resolve("store"), StoreOptions.defaults())) {
            assertThat(types(reopened.events(EventQuery.oldest(1000)))).containsExactly(
                    EventType.EVENT_TYPE_HOST_REGISTERED, EventType.EVENT_TYPE_PROCESS_EXITED,
                    EventType.EVENT_TYPE_PROCESS_STARTED);
            assertThat(reopened.latestState("host-a")).hasValueSatisfying(state ->
                    assertThat(state.getProcessesList()).extracting(p -> p.getKey().getPid())
                            .containsExactlyInAnyOrder(1, 200));
        }
    }

    @Test
    void silentHost_goesOfflineAfterTheGrace_withHostOffline() throws Exception {
        RecordingSession s = connect("host-a", "web-1", BOOT_1);

        clock.advance(GRACE.minusSeconds(1));
        Thread.sleep(1500); // at least one tick inside the grace: the host stays online
        assertThat(get(engine.host("host-a")).record().online()).isTrue();

        clock.advance(Duration.ofSeconds(2));

        await().atMost(5, TimeUnit.SECONDS).until(() -> !get(engine.host("host-a")).record().online());
        await().atMost(5, TimeUnit.SECONDS).until(() -> types(storedEvents()).contains(EventType.EVENT_TYPE_HOST_OFFLINE));
        assertThat(s.closed).singleElement().asString().startsWith("no message for 16 s");
        Event offline = storedEvents().stream().filter(e -> e.getType() == EventType.EVENT_TYPE_HOST_OFFLINE)
                .findFirst().orElseThrow();
        assertThat(offline.getMessage()).contains("web-1 is offline", "grace is 15 s");
    }

    @Test
    void messagesWithinTheGrace_keepTheHostOnline() throws Exception {
        RecordingSession s = connect("host-a", "web-1", BOOT_1);
        for (int i = 0; i < 4; i++) {
            clock.advance(Duration.ofSeconds(10));
            engine.heartbeat(s, 3 + i);
            long seq = 3 + i;
            await().atMost(5, TimeUnit.SECONDS).until(() -> s.acked.get() == seq);
        }
        Thread.sleep(1500);

        assertThat(get(engine.host("host-a")).record().online()).isTrue();
        assertThat(s.closed).isEmpty();
    }

    @Test
    void secondSessionWithTheSameHostId_replacesTheFirst() throws Exception {
        RecordingSession first = connect("host-a", "web-1", BOOT_1);
        RecordingSession second = new RecordingSession("s2");

        engine.hello(second, 1, hello("host-a", "web-1", BOOT_1));

        await().atMost(5, TimeUnit.SECONDS).until(() -> !first.closed.isEmpty());
        assertThat(first.closed).singleElement().asString().startsWith("replaced by a newer connection");
        assertThat(second.welcomes).hasSize(1);
        // The old stream's late messages change nothing; the new one's do.
        engine.delta(first, 3, delta(T0 + 5000).addProcessesRemoved(key(100)).build());
        engine.snapshot(second, 2, snapshot(T0 + 6000, List.of(proc(1, "systemd", 0), proc(100, "node", 1),
                proc(300, "cron", 1)), List.of()));
        await().atMost(5, TimeUnit.SECONDS).until(() -> second.acked.get() == 2);
        assertThat(pids(get(engine.processes("host-a", ProcessOrder.PID, false, 0)).rows()))
                .containsExactly(1, 100, 300);
        // Replacing a live session is not a disconnect: still online, no offline event.
        engine.disconnected(first, "cancelled");
        assertThat(get(engine.host("host-a")).record().online()).isTrue();
        assertThat(types(storedEvents())).doesNotContain(EventType.EVENT_TYPE_HOST_OFFLINE);
    }

    @Test
    void newBootId_isReportedAsHostRebooted_andTheNextSnapshotStartsAfresh() throws Exception {
        RecordingSession s = connect("host-a", "web-1", BOOT_1);
        engine.disconnected(s, "connection reset");
        RecordingSession after = new RecordingSession("s2");

        engine.hello(after, 1, hello("host-a", "web-1", BOOT_2));
        engine.snapshot(after, 2, snapshot(T0 + 60_000, List.of(proc(1, "systemd", 0), proc(400, "node", 1)),
                List.of()));

        await().atMost(5, TimeUnit.SECONDS).until(() -> after.acked.get() == 2);
        List<EventType> types = types(storedEvents());
        assertThat(types).contains(EventType.EVENT_TYPE_HOST_REBOOTED, EventType.EVENT_TYPE_HOST_ONLINE);
        // After a reboot, old processes did not "exit" and new ones did not "start": the boot is new.
        assertThat(types).doesNotContain(EventType.EVENT_TYPE_PROCESS_STARTED);
        assertThat(types.stream().filter(t -> t == EventType.EVENT_TYPE_PROCESS_EXITED)).isEmpty();
        assertThat(get(engine.host("host-a")).record().bootId()).isEqualTo(BOOT_2);
    }

    @Test
    void afterRestart_hostsAndEventsRemain_andAHostThatDoesNotReconnectGoesOffline() throws Exception {
        connect("host-a", "web-1", BOOT_1);
        closeEngine();
        // A restart takes time; the engine's event ids are unique per start instant.
        clock.advance(Duration.ofSeconds(1));

        openEngine();

        HostStatus status = get(engine.host("host-a"));
        assertThat(status.record().hostname()).isEqualTo("web-1");
        assertThat(status.processCount()).isEqualTo(3);
        assertThat(types(storedEvents())).contains(EventType.EVENT_TYPE_HOST_REGISTERED);
        assertThat(pids(get(engine.processes("web-1", ProcessOrder.PID, false, 0)).rows())).containsExactly(1, 100, 101);

        clock.advance(GRACE.plusSeconds(1));
        await().atMost(5, TimeUnit.SECONDS).until(() -> !get(engine.host("host-a")).record().online());
        await().atMost(5, TimeUnit.SECONDS).until(() -> types(storedEvents()).contains(EventType.EVENT_TYPE_HOST_OFFLINE));
    }

    @Test
    void reconnectAfterRestart_reportsProcessesThatExitedMeanwhile() throws Exception {
        connect("host-a", "web-1", BOOT_1);
        closeEngine();
        clock.advance(Duration.ofSeconds(1));
        openEngine();
        RecordingSession s = new RecordingSession("s2");

        engine.hello(s, 1, hello("host-a", "web-1", BOOT_1));
        engine.snapshot(s, 2, snapshot(T0 + 60_000, List.of(proc(1, "systemd", 0), proc(101, "worker", 100)),
                List.of()));

        await().atMost(5, TimeUnit.SECONDS).until(() -> s.acked.get() == 2);
        assertThat(storedEvents()).filteredOn(e -> e.getType() == EventType.EVENT_TYPE_PROCESS_EXITED).singleElement()
                .satisfies(e -> {
                    assertThat(e.getProcess()).isEqualTo(key(100));
                    assertThat(e.getMessage()).contains("while the agent was not connected");
                });
    }

    // ---- queries ---------------------------------------------------------------------------

    @Test
    void processes_sortByMemoryOrCpu_andZombiesComeWithTheirParents() throws Exception {
        RecordingSession s = new RecordingSession("s1");
        engine.hello(s, 1, hello("host-a", "web-1", BOOT_1));
        engine.snapshot(s, 2, snapshot(T0, List.of(
                proc(1, "systemd", 0).toBuilder().setRssBytes(5_000).setCpuPercent(0.1f).build(),
                proc(100, "node", 1).toBuilder().setRssBytes(900_000).setCpuPercent(3f).build(),
                proc(200, "queue", 1).toBuilder().setRssBytes(300_000).setCpuPercent(80f).build(),
                zombie(proc(201, "worker", 200))), List.of()));
        await().atMost(5, TimeUnit.SECONDS).until(() -> s.acked.get() == 2);

        assertThat(pids(get(engine.processes("host-a", ProcessOrder.MEMORY, false, 0)).rows()))
                .containsExactly(100, 200, 1, 201);
        assertThat(pids(get(engine.processes("host-a", ProcessOrder.CPU, false, 2)).rows())).containsExactly(200, 100);
        HostProcesses zombies = get(engine.processes("web-1", ProcessOrder.MEMORY, true, 0));
        assertThat(zombies.rows()).singleElement().satisfies(r -> {
            assertThat(r.process().getKey()).isEqualTo(key(201));
            assertThat(r.parent().getKey()).isEqualTo(key(200));
            assertThat(r.parent().getCmdlineList()).containsExactly("queue", "--serve");
        });
        assertThat(zombies.host().zombieCount()).isEqualTo(1);
    }

    @Test
    void ports_comeWithTheirOwners_orderedByPort() throws Exception {
        RecordingSession s = new RecordingSession("s1");
        engine.hello(s, 1, hello("host-a", "web-1", BOOT_1));
        engine.snapshot(s, 2, snapshot(T0, List.of(proc(1, "systemd", 0), proc(100, "node", 1), proc(200, "nginx", 1)),
                List.of(socket(9001, 3000, 100), socket(9002, 80, 200, 1), socket(9003, 9999, 4242))));
        await().atMost(5, TimeUnit.SECONDS).until(() -> s.acked.get() == 2);

        List<PortRow> rows = get(engine.ports("host-a")).rows();

        assertThat(rows).extracting(r -> r.socket().getPort()).containsExactly(80, 3000, 9999);
        assertThat(rows.get(0).owners()).extracting(Process::getComm).containsExactly("nginx", "systemd");
        assertThat(rows.get(1).owners()).singleElement().satisfies(p -> {
            assertThat(p.getComm()).isEqualTo("node");
            assertThat(p.getCmdlineList()).containsExactly("node", "server.js");
        });
        assertThat(rows.get(2).owners()).as("owner not in the state").isEmpty();
    }

    @Test
    void topMemory_ranksProcessesAcrossHosts() throws Exception {
        RecordingSession a = new RecordingSession("a");
        RecordingSession b = new RecordingSession("b");
        engine.hello(a, 1, hello("host-a", "web-1", BOOT_1));
        engine.snapshot(a, 2, snapshot(T0, List.of(
                proc(10, "node", 1).toBuilder().setRssBytes(500).build(),
                proc(11, "node", 1).toBuilder().setRssBytes(50).build()), List.of()));
        engine.hello(b, 1, hello("host-b", "web-2", BOOT_2));
        engine.snapshot(b, 2, snapshot(T0, List.of(
                proc(20, "java", 1).toBuilder().setRssBytes(900).build(),
                proc(21, "java", 1).toBuilder().setRssBytes(100).build()), List.of()));
        await().atMost(5, TimeUnit.SECONDS).until(() -> a.acked.get() == 2 && b.acked.get() == 2);

        List<ProcessRow> top = get(engine.topMemory(3, Map.of()));

        assertThat(top).extracting(r -> r.hostId() + "/" + r.process().getKey().getPid())
                .containsExactly("host-b/20", "host-a/10", "host-b/21");
        assertThat(top.get(0).hostname()).isEqualTo("web-2");
        assertThat(get(engine.topMemory(10, Map.of("role", "nope")))).isEmpty();
    }

    @Test
    void unknownHost_isHostNotFound_andASharedName_isAmbiguous() throws Exception {
        connect("host-a", "web-1", BOOT_1);
        RecordingSession b = new RecordingSession("b");
        engine.hello(b, 1, hello("host-b", "web-1", BOOT_2));
        await().atMost(5, TimeUnit.SECONDS).until(() -> b.acked.get() == 1);

        assertThatThrownBy(() -> get(engine.host("db-9")))
                .isInstanceOf(HostNotFoundException.class)
                .hasMessage("no host with id or name 'db-9' (list them with 'fleetkeeper hosts')");
        assertThatThrownBy(() -> get(engine.processes("web-1", ProcessOrder.MEMORY, false, 0)))
                .isInstanceOf(AmbiguousHostException.class)
                .hasMessage("host name 'web-1' matches 2 hosts (host-a, host-b); name one by its id");
        assertThat(get(engine.host("host-b")).record().hostId()).isEqualTo("host-b");
    }

    // ---- helpers -----------------------------------------------------------------------

    /** Hello and a first snapshot {systemd, node 100, worker 101}; waits for both acks. */
    private RecordingSession connect(String hostId, String hostname, String bootId) {
        RecordingSession s = new RecordingSession(hostId + "-s1");
        engine.hello(s, 1, hello(hostId, hostname, bootId));
        engine.snapshot(s, 2, snapshot(T0, List.of(proc(1, "systemd", 0), proc(100, "node", 1),
                proc(101, "worker", 100)), List.of(socket(9001, 3000, 100))));
        await().atMost(5, TimeUnit.SECONDS).until(() -> s.acked.get() == 2);
        return s;
    }

    private static Hello hello(String hostId, String hostname, String bootId) {
        return Hello.newBuilder().setHostId(hostId).setHostname(hostname).putLabels("role", "web")
                .setAgentVersion("1.0").setKernel("6.8.0").setBootId(bootId).setBootTimeUnixMs(T0 - 3_600_000)
                .setClockTicksPerSecond(100).build();
    }

    private List<Event> storedEvents() {
        return store.events(EventQuery.oldest(1000));
    }

    private static List<EventType> types(List<Event> events) {
        return events.stream().map(Event::getType).collect(Collectors.toList());
    }

    private static List<Integer> pids(List<ProcessRow> rows) {
        return rows.stream().map(r -> r.process().getKey().getPid()).collect(Collectors.toList());
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException) {
                throw (RuntimeException) e.getCause();
            }
            throw e;
        }
    }

    /** Records what the engine does to a session. Thread-safe. */
    static final class RecordingSession implements AgentSession {
        final String id;
        final List<List<Duration>> welcomes = new CopyOnWriteArrayList<>();
        final AtomicLong acked = new AtomicLong();
        final List<Long> ackSequences = new CopyOnWriteArrayList<>();
        final List<String> closed = new CopyOnWriteArrayList<>();
        final List<List<EventType>> visibleAtAck = new CopyOnWriteArrayList<>();
        final AtomicLong requested = new AtomicLong();
        volatile java.util.function.LongConsumer onAck = seq -> { };

        RecordingSession(String id) {
            this.id = id;
        }

        @Override
        public String sessionId() {
            return id;
        }

        @Override
        public String peer() {
            return "test:" + id;
        }

        @Override
        public void welcome(Duration scanInterval, Duration detailInterval, Duration heartbeatInterval) {
            welcomes.add(new ArrayList<>(List.of(scanInterval, detailInterval, heartbeatInterval)));
        }

        @Override
        public void acknowledge(long sequence) {
            onAck.accept(sequence);
            ackSequences.add(sequence);
            acked.set(sequence);
        }

        @Override
        public boolean sendAction(String actionId, long issuedAtMillis, AgentAction action) {
            return true;
        }

        @Override
        public void requestMore(int n) {
            requested.addAndGet(n);
        }

        @Override
        public void close(String reason) {
            closed.add(reason);
        }
    }

}
