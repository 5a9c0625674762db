package dev.fleetkeeper.agent.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.action.AppliedActions;
import dev.fleetkeeper.agent.manage.CommandResult;
import dev.fleetkeeper.agent.manage.ServiceCommand;
import dev.fleetkeeper.agent.telemetry.HostInfo;
import dev.fleetkeeper.agent.telemetry.HostSample;
import dev.fleetkeeper.agent.telemetry.HostScan;
import dev.fleetkeeper.agent.telemetry.ProcState;
import dev.fleetkeeper.agent.telemetry.ProcessId;
import dev.fleetkeeper.agent.telemetry.ProcessSample;
import dev.fleetkeeper.agent.telemetry.ScanDelta;
import dev.fleetkeeper.agent.telemetry.SocketProtocol;
import dev.fleetkeeper.agent.telemetry.SocketSample;
import dev.fleetkeeper.proto.v1.Ack;
import dev.fleetkeeper.proto.v1.Action;
import dev.fleetkeeper.proto.v1.ApplyRelease;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.AgentMessage;
import dev.fleetkeeper.proto.v1.AgentServiceGrpc;
import dev.fleetkeeper.proto.v1.ControllerMessage;
import dev.fleetkeeper.proto.v1.Delta;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.Hello;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.Release;
import dev.fleetkeeper.proto.v1.RequestSnapshot;
import dev.fleetkeeper.proto.v1.SamplingSettings;
import dev.fleetkeeper.proto.v1.Snapshot;
import dev.fleetkeeper.proto.v1.Welcome;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real {@link ControllerLink} against a real gRPC server (in-process transport) whose
 * AgentService is a scriptable test controller. In-process streams are ready exactly while the
 * server has requested messages it has not received yet, so a controller that stops calling
 * {@code request(n)} turns the link's {@code isReady()} false after one more message.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ControllerLinkTest {

    private static final long T0 = 1_760_000_000_000L;
    private static final HostInfo HOST_INFO = new HostInfo("web-1", "6.8.0-45-generic",
            "b3a1c2d4-0000-4000-8000-000000000001", T0 - 3_600_000, 100, 4);

    @TempDir
    Path stateDir;

    private final TestController controller = new TestController();
    private final List<String> disconnects = new CopyOnWriteArrayList<>();
    private Server server;
    private ManagedChannel channel;
    private ScheduledExecutorService loop;
    private ControllerLink link;
    private AppliedActions applied;

    @BeforeEach
    void setUp() throws Exception {
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).addService(controller).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        loop = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "test-agent-loop"));
        applied = AppliedActions.open(stateDir, 64);
        applied.markApplied("old-action-1");
        link = new ControllerLink(channel, () -> { }, "in-process", loop, InstantSource.system(),
                new LinkIdentity("host-7f3a", Map.of("role", "worker", "env", "prod"), "1.2.3", HOST_INFO, List.of()),
                new Backoff(Duration.ofMillis(10), Duration.ofMillis(50), () -> 0.0),
                Duration.ofHours(1), applied, new LinkListener() {
                    @Override
                    public void onWelcome(Sampling sampling) {
                    }

                    @Override
                    public void onDisconnected(String reason) {
                        disconnects.add(reason);
                    }
                });
    }

    @AfterEach
    void tearDown() throws Exception {
        link.close();
        loop.shutdownNow();
        channel.shutdownNow();
        server.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
        server.awaitTermination(5, TimeUnit.SECONDS);
    }

    // ---- the stream's opening -------------------------------------------------------------

    @Test
    void hello_comesFirst_withHostIdLabelsBootIdAndAppliedActionIds() throws Exception {
        link.start();

        ServerStream stream = controller.nextStream();
        AgentMessage first = stream.next();

        assertThat(first.getSequence()).isEqualTo(1);
        assertThat(first.getBodyCase()).isEqualTo(AgentMessage.BodyCase.HELLO);
        Hello hello = first.getHello();
        assertThat(hello.getHostId()).isEqualTo("host-7f3a");
        assertThat(hello.getLabelsMap()).isEqualTo(Map.of("role", "worker", "env", "prod"));
        assertThat(hello.getBootId()).isEqualTo(HOST_INFO.bootId());
        assertThat(hello.getHostname()).isEqualTo("web-1");
        assertThat(hello.getKernel()).isEqualTo("6.8.0-45-generic");
        assertThat(hello.getAgentVersion()).isEqualTo("1.2.3");
        assertThat(hello.getBootTimeUnixMs()).isEqualTo(HOST_INFO.bootTimeMillis());
        assertThat(hello.getClockTicksPerSecond()).isEqualTo(100);
        assertThat(hello.getRecentActionIdsList()).containsExactly("old-action-1");
    }

    @Test
    void beforeWelcome_onlyHelloIsSent_thenTheFirstMessageIsASnapshotOfTheNewestScan() throws Exception {
        HostScan s1 = scan(1, proc(100, 10), proc(200, 20));
        HostScan s2 = scan(2, proc(100, 11), proc(200, 20), proc(300, 30));
        link.start();
        ServerStream stream = controller.nextStream();
        assertThat(stream.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.HELLO);

        publish(s1);
        publish(s2);
        assertThat(stream.poll(Duration.ofMillis(200))).as("sent before Welcome").isNull();
        stream.welcome();

        AgentMessage second = stream.next();
        // Sequence 2: nothing at all was sent between Hello and this Snapshot.
        assertThat(second.getSequence()).isEqualTo(2);
        assertThat(second.getBodyCase()).isEqualTo(AgentMessage.BodyCase.SNAPSHOT);
        Snapshot snapshot = second.getSnapshot();
        assertThat(snapshot.getTakenAtUnixMs()).isEqualTo(s2.takenAtMillis());
        assertThat(pids(snapshot.getProcessesList())).containsExactlyInAnyOrder(100, 200, 300);
        assertThat(snapshot.getProcessesList()).allSatisfy(p -> {
            assertThat(p.getCmdlineList()).containsExactly("node", "worker.js", String.valueOf(p.getKey().getPid()));
            assertThat(p.getExe()).isEqualTo("/usr/bin/node");
        });
        assertThat(snapshot.getProcessesList()).filteredOn(p -> p.getKey().getPid() == 100)
                .singleElement().extracting(Process::getRssBytes).isEqualTo(11L);
        assertThat(snapshot.getSocketsList()).isEmpty();
        assertThat(onLoop(link::isStreaming)).isTrue();
        assertThat(onLoop(link::snapshotsSent)).isEqualTo(1);
    }

    @Test
    void afterTheSnapshot_deltasCarryExactlyTheChanges() throws Exception {
        ProcessSample web = proc(100, 10);
        ProcessSample worker = proc(200, 20);
        HostScan s1 = scan(1, List.of(web, worker), List.of(listener(9001, 3000, web.id())));
        ServerStream stream = welcomedWithSnapshot(s1);

        // pid 200 exits, pid 300 starts, pid 100 grows; the listener on :3000 goes, one on :3001 comes.
        ProcessSample webGrown = proc(100, 15);
        ProcessSample newcomer = proc(300, 30);
        HostScan s2 = scan(2, List.of(webGrown, newcomer), List.of(listener(9002, 3001, newcomer.id())));
        publish(s2);

        AgentMessage m = stream.next();
        assertThat(m.getBodyCase()).isEqualTo(AgentMessage.BodyCase.DELTA);
        Delta delta = m.getDelta();
        assertThat(delta.getMergedScans()).isEqualTo(1);
        assertThat(delta.getTakenAtUnixMs()).isEqualTo(s2.takenAtMillis());
        assertThat(delta.getProcessesRemovedList()).containsExactly(key(worker.id()));
        Map<Integer, Process> upserted = byPid(delta.getProcessesUpsertedList());
        assertThat(upserted).containsOnlyKeys(100, 300);
        assertThat(upserted.get(300).getCmdlineList()).as("new identity: sent in full").isNotEmpty();
        assertThat(upserted.get(100).getRssBytes()).isEqualTo(15);
        assertThat(upserted.get(100).getCmdlineList()).as("known identity: cmdline not resent").isEmpty();
        assertThat(delta.getSocketsRemovedList()).containsExactly(9001L);
        assertThat(delta.getSocketsUpsertedList()).singleElement().satisfies(s -> {
            assertThat(s.getPort()).isEqualTo(3001);
            assertThat(s.getOwnersList()).containsExactly(key(newcomer.id()));
        });

        // An unchanged scan (same samples) carries only the host figures.
        HostScan s3 = scan(3, List.of(webGrown, newcomer), List.of(listener(9002, 3001, newcomer.id())));
        publish(s3);
        Delta quiet = stream.next().getDelta();
        assertThat(quiet.getTakenAtUnixMs()).isEqualTo(s3.takenAtMillis());
        assertThat(quiet.getProcessesUpsertedCount() + quiet.getProcessesRemovedCount()
                + quiet.getSocketsUpsertedCount() + quiet.getSocketsRemovedCount()).isZero();
        assertThat(onLoop(link::deltasSent)).isEqualTo(2);
    }

    // ---- back-pressure --------------------------------------------------------------------

    @Test
    void underBackPressure_scansAreMergedNotBuffered_andOneDeltaBridgesToTheNewestScan() throws Exception {
        HostScan s1 = scan(1, proc(100, 10), proc(200, 20), proc(300, 30));
        ServerStream stream = welcomedWithSnapshot(s1);

        stream.pause();
        List<HostScan> scans = List.of(
                scan(2, proc(100, 11), proc(200, 20), proc(300, 30)),
                scan(3, proc(100, 12), proc(300, 30), proc(400, 40)),
                scan(4, proc(100, 13), proc(300, 31), proc(400, 40), proc(500, 50)),
                scan(5, proc(100, 14), proc(400, 40), proc(500, 50)),
                scan(6, proc(100, 14), proc(400, 41), proc(500, 50), proc(600, 60)));
        for (HostScan s : scans) {
            publish(s);
        }
        // The controller had asked for one more message before it paused: the delta of s2.
        // Everything after that waits on the link as "newest scan", not in a queue.
        List<AgentMessage> whilePaused = stream.drain(Duration.ofMillis(300));
        assertThat(whilePaused).singleElement().satisfies(m -> {
            assertThat(m.getDelta().getTakenAtUnixMs()).isEqualTo(scans.get(0).takenAtMillis());
            assertThat(m.getDelta().getMergedScans()).isEqualTo(1);
        });
        assertThat(onLoop(link::scansMerged)).isZero();

        stream.resume();

        Delta merged = stream.next().getDelta();
        HostScan s2 = scans.get(0);
        HostScan s6 = scans.get(4);
        assertThat(merged.getTakenAtUnixMs()).isEqualTo(s6.takenAtMillis());
        assertThat(merged.getMergedScans()).isEqualTo(4);
        assertThat(merged).isEqualTo(AgentProtoMapper.delta(ScanDelta.between(s2, s6), s6.takenAtMillis(), 4));
        // By hand: s2 {100, 200, 300} -> s6 {100 changed, 400, 500, 600}.
        assertThat(pids(merged.getProcessesRemovedList())).containsExactly(200, 300);
        Map<Integer, Process> upserted = byPid(merged.getProcessesUpsertedList());
        assertThat(upserted).containsOnlyKeys(100, 400, 500, 600);
        assertThat(upserted.get(100).getRssBytes()).isEqualTo(14);
        assertThat(upserted.get(400).getRssBytes()).isEqualTo(41);
        assertThat(onLoop(link::scansMerged)).isEqualTo(3);

        // Keeping up again: the next message is the next scan's delta of one; nothing queued in between.
        HostScan s7 = scan(7, proc(100, 14), proc(400, 41), proc(500, 50), proc(600, 60));
        publish(s7);
        Delta next = stream.next().getDelta();
        assertThat(next.getMergedScans()).isEqualTo(1);
        assertThat(next.getTakenAtUnixMs()).isEqualTo(s7.takenAtMillis());
    }

    // ---- actions ---------------------------------------------------------------------------

    @Test
    void requestSnapshot_succeeds_andSendsAFullSnapshot_butTheSameIdAgainIsADuplicate() throws Exception {
        HostScan s1 = scan(1, proc(100, 10));
        ServerStream stream = welcomedWithSnapshot(s1);
        HostScan s2 = scan(2, proc(100, 12), proc(200, 20));
        publish(s2);
        assertThat(stream.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.DELTA);

        stream.send(requestSnapshot("act-1"));

        AgentMessage result = stream.next();
        assertThat(result.getBodyCase()).isEqualTo(AgentMessage.BodyCase.ACTION_RESULT);
        assertThat(result.getActionResult().getActionId()).isEqualTo("act-1");
        assertThat(result.getActionResult().getStatus()).isEqualTo(ActionStatus.ACTION_STATUS_SUCCEEDED);
        AgentMessage snapshot = stream.next();
        assertThat(snapshot.getBodyCase()).isEqualTo(AgentMessage.BodyCase.SNAPSHOT);
        assertThat(pids(snapshot.getSnapshot().getProcessesList())).containsExactlyInAnyOrder(100, 200);
        assertThat(applied.contains("act-1")).isTrue();

        stream.send(requestSnapshot("act-1"));

        AgentMessage duplicate = stream.next();
        assertThat(duplicate.getActionResult().getActionId()).isEqualTo("act-1");
        assertThat(duplicate.getActionResult().getStatus()).isEqualTo(ActionStatus.ACTION_STATUS_DUPLICATE);
        HostScan s3 = scan(3, proc(100, 13), proc(200, 20));
        publish(s3);
        AgentMessage after = stream.next();
        assertThat(after.getBodyCase()).as("no second snapshot").isEqualTo(AgentMessage.BodyCase.DELTA);
        assertThat(after.getDelta().getTakenAtUnixMs()).isEqualTo(s3.takenAtMillis());
        assertThat(onLoop(link::snapshotsSent)).isEqualTo(2);
    }

    @Test
    void applyRelease_isCarriedOutOnce_answersWithItsOutcome_andTheSameIdAgainIsADuplicate() throws Exception {
        List<ServiceCommand> carriedOut = new CopyOnWriteArrayList<>();
        link.setCommandHandler(c -> {
            carriedOut.add(c);
            return CompletableFuture.completedFuture(new CommandResult(CommandResult.Status.SUCCEEDED, "moved", null,
                    null, null, new CommandResult.Released(41, 42, "1", "2", true)));
        });
        ServerStream stream = welcomedWithSnapshot(scan(1, proc(100, 10)));
        ControllerMessage apply = ControllerMessage.newBuilder().setAction(Action.newBuilder().setActionId("rel-1")
                .setIssuedAtUnixMs(T0).setApplyRelease(ApplyRelease.newBuilder().setService("web").setInstance(1)
                        .setRolloutId("ro-1").setRelease(Release.newBuilder().setVersion("2").setCommand("/usr/bin/node")
                                .addArgs("server.js").setArgsSet(true).putEnv("FLAG", "on").setSwitchCurrent(true))))
                .build();

        stream.send(apply);

        AgentMessage result = stream.next();
        assertThat(result.getActionResult().getActionId()).isEqualTo("rel-1");
        assertThat(result.getActionResult().getStatus()).isEqualTo(ActionStatus.ACTION_STATUS_SUCCEEDED);
        assertThat(result.getActionResult().getRelease().getOldPid()).isEqualTo(41);
        assertThat(result.getActionResult().getRelease().getNewPid()).isEqualTo(42);
        assertThat(result.getActionResult().getRelease().getOldVersion()).isEqualTo("1");
        assertThat(result.getActionResult().getRelease().getNewVersion()).isEqualTo("2");
        assertThat(result.getActionResult().getRelease().getStartFirst()).isTrue();
        assertThat(applied.contains("rel-1")).isTrue();

        stream.send(apply);

        AgentMessage duplicate = stream.next();
        assertThat(duplicate.getActionResult().getStatus()).isEqualTo(ActionStatus.ACTION_STATUS_DUPLICATE);
        assertThat(carriedOut).singleElement().isEqualTo(new ServiceCommand.ApplyRelease("web", 1,
                new dev.fleetkeeper.agent.release.Release("2", "/usr/bin/node", List.of("server.js"), true,
                        Map.of("FLAG", "on")), true, "ro-1"));
    }

    @Test
    void applyReleaseWithoutAVersion_isRejected_withoutCarryingItOut() throws Exception {
        List<ServiceCommand> carriedOut = new CopyOnWriteArrayList<>();
        link.setCommandHandler(c -> {
            carriedOut.add(c);
            return CompletableFuture.completedFuture(CommandResult.failed("not expected"));
        });
        ServerStream stream = welcomedWithSnapshot(scan(1, proc(100, 10)));

        stream.send(ControllerMessage.newBuilder().setAction(Action.newBuilder().setActionId("rel-2")
                .setApplyRelease(ApplyRelease.newBuilder().setService("web").setRelease(Release.newBuilder()))).build());

        AgentMessage result = stream.next();
        assertThat(result.getActionResult().getStatus()).isEqualTo(ActionStatus.ACTION_STATUS_REJECTED);
        assertThat(result.getActionResult().getMessage()).contains("version");
        assertThat(carriedOut).isEmpty();
    }

    @Test
    void actionWithoutId_isRejected_andNothingIsApplied() throws Exception {
        ServerStream stream = welcomedWithSnapshot(scan(1, proc(100, 10)));

        stream.send(requestSnapshot(""));

        AgentMessage result = stream.next();
        assertThat(result.getActionResult().getStatus()).isEqualTo(ActionStatus.ACTION_STATUS_REJECTED);
        publish(scan(2, proc(100, 11)));
        assertThat(stream.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.DELTA);
    }

    // ---- events and acks -----------------------------------------------------------------

    @Test
    void unackedEvents_areResentOnANewStream_ackedOnesAreNot() throws Exception {
        HostScan s1 = scan(1, proc(100, 10));
        ServerStream first = welcomedWithSnapshot(s1);

        enqueue(agentEvent("ev-1"));
        AgentMessage sent = first.next();
        assertThat(sent.getEvent().getId()).isEqualTo("ev-1");
        first.complete();

        ServerStream second = controller.nextStream();
        assertThat(second.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.HELLO);
        second.welcome();
        AgentMessage resent = second.next();
        assertThat(resent.getBodyCase()).isEqualTo(AgentMessage.BodyCase.EVENT);
        assertThat(resent.getEvent().getId()).isEqualTo("ev-1");
        assertThat(resent.getSequence()).as("sequence restarts per stream").isEqualTo(2);
        assertThat(second.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.SNAPSHOT);
        enqueue(agentEvent("ev-2"));
        AgentMessage ev2 = second.next();
        assertThat(ev2.getEvent().getId()).isEqualTo("ev-2");
        second.send(ControllerMessage.newBuilder()
                .setAck(Ack.newBuilder().setUpToSequence(ev2.getSequence())).build());
        publish(scan(2, proc(100, 11)));
        assertThat(second.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.DELTA); // the Ack has been processed
        second.complete();

        ServerStream third = controller.nextStream();
        assertThat(third.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.HELLO);
        third.welcome();
        AgentMessage afterWelcome = third.next();
        assertThat(afterWelcome.getBodyCase()).as("acked events are not resent")
                .isEqualTo(AgentMessage.BodyCase.SNAPSHOT);
        assertThat(afterWelcome.getSequence()).isEqualTo(2);
    }

    @Test
    void ackForALowerSequence_keepsLaterEventsPending() throws Exception {
        ServerStream first = welcomedWithSnapshot(scan(1, proc(100, 10)));
        enqueue(agentEvent("ev-1"));
        enqueue(agentEvent("ev-2"));
        AgentMessage ev1 = first.next();
        AgentMessage ev2 = first.next();
        assertThat(ev2.getSequence()).isGreaterThan(ev1.getSequence());

        first.send(ControllerMessage.newBuilder()
                .setAck(Ack.newBuilder().setUpToSequence(ev1.getSequence())).build());
        publish(scan(2, proc(100, 11)));
        assertThat(first.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.DELTA);
        first.complete();

        ServerStream second = controller.nextStream();
        second.next();
        second.welcome();
        assertThat(second.next().getEvent().getId()).isEqualTo("ev-2");
        assertThat(second.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.SNAPSHOT);
    }

    // ---- reconnect -------------------------------------------------------------------------

    @Test
    void whenTheControllerEndsTheStream_theLinkReconnects_withHelloAndAFreshSnapshot() throws Exception {
        HostScan s1 = scan(1, proc(100, 10));
        ServerStream first = welcomedWithSnapshot(s1);
        HostScan s2 = scan(2, proc(100, 10), proc(200, 20));
        publish(s2);
        assertThat(first.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.DELTA);

        first.complete();

        ServerStream second = controller.nextStream();
        AgentMessage hello = second.next();
        assertThat(hello.getSequence()).isEqualTo(1);
        assertThat(hello.getHello().getHostId()).isEqualTo("host-7f3a");
        second.welcome();
        AgentMessage snapshot = second.next();
        assertThat(snapshot.getSequence()).isEqualTo(2);
        assertThat(snapshot.getBodyCase()).isEqualTo(AgentMessage.BodyCase.SNAPSHOT);
        assertThat(pids(snapshot.getSnapshot().getProcessesList())).containsExactlyInAnyOrder(100, 200);
        assertThat(onLoop(link::connects)).isEqualTo(2);
        assertThat(disconnects).singleElement().asString().contains("controller closed the stream");
    }

    @Test
    void whenTheControllerFailsTheStream_theLinkReconnects() throws Exception {
        ServerStream first = welcomedWithSnapshot(scan(1, proc(100, 10)));

        first.fail(Status.UNAVAILABLE.withDescription("controller shutting down"));

        ServerStream second = controller.nextStream();
        assertThat(second.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.HELLO);
        assertThat(disconnects).singleElement().asString().contains("UNAVAILABLE", "controller shutting down");
    }

    @Test
    void afterClose_theLinkDoesNotReconnect() throws Exception {
        ServerStream first = welcomedWithSnapshot(scan(1, proc(100, 10)));

        link.close();

        assertThat(first.awaitEnd()).isTrue();
        assertThat(controller.pollStream(Duration.ofMillis(300))).isNull();
        assertThat(onLoop(link::isStreaming)).isFalse();
    }

    // ---- helpers ---------------------------------------------------------------------------

    /** Starts the link, answers Hello with Welcome and takes the Snapshot of {@code first}. */
    private ServerStream welcomedWithSnapshot(HostScan first) throws Exception {
        publish(first);
        link.start();
        ServerStream stream = controller.nextStream();
        assertThat(stream.next().getBodyCase()).isEqualTo(AgentMessage.BodyCase.HELLO);
        stream.welcome();
        AgentMessage snapshot = stream.next();
        assertThat(snapshot.getBodyCase()).isEqualTo(AgentMessage.BodyCase.SNAPSHOT);
        assertThat(snapshot.getSnapshot().getTakenAtUnixMs()).isEqualTo(first.takenAtMillis());
        return stream;
    }

    /**
     * Reads link state on its loop: the counters are updated right after a message is written,
     * so a test that has just received the message could otherwise read them a moment early.
     */
    private <T> T onLoop(Callable<T> read) throws Exception {
        return loop.submit(read).get(5, TimeUnit.SECONDS);
    }

    private void publish(HostScan scan) throws Exception {
        loop.submit(() -> link.publish(scan)).get(5, TimeUnit.SECONDS);
    }

    private void enqueue(Event event) throws Exception {
        loop.submit(() -> link.enqueueEvent(event)).get(5, TimeUnit.SECONDS);
    }

    private static Event agentEvent(String id) {
        return Event.newBuilder().setId(id).setHostId("host-7f3a").setType(EventType.EVENT_TYPE_AGENT)
                .setTimeUnixMs(T0).setMessage("agent event " + id).build();
    }

    private static ControllerMessage requestSnapshot(String actionId) {
        return ControllerMessage.newBuilder().setAction(Action.newBuilder().setActionId(actionId)
                .setIssuedAtUnixMs(T0).setRequestSnapshot(RequestSnapshot.newBuilder().setReason("test"))).build();
    }

    private static HostScan scan(int n, ProcessSample... processes) {
        return scan(n, List.of(processes), List.of());
    }

    private static HostScan scan(int n, List<ProcessSample> processes, List<SocketSample> sockets) {
        long t = T0 + n * 1000L;
        HostSample host = new HostSample(t, 8L << 30, 4L << 30, 0, 0, 0.5, 0.4, 0.3, null, 0,
                3_600_000 + n * 1000L, processes.size(), 4, null);
        Map<ProcessId, ProcessSample> byId = new LinkedHashMap<>();
        processes.forEach(p -> byId.put(p.id(), p));
        Map<Long, SocketSample> byInode = new LinkedHashMap<>();
        sockets.forEach(s -> byInode.put(s.inode(), s));
        return new HostScan(t, host, byId, byInode);
    }

    private static ProcessSample proc(int pid, long rss) {
        return new ProcessSample(new ProcessId(pid, 5000L + pid), 1, pid, pid, 1000, 1000, "app",
                ProcState.SLEEPING, T0 - 60_000, "node", List.of("node", "worker.js", String.valueOf(pid)),
                "/usr/bin/node", 4, rss, rss * 4, null, 100, 20, 1.5f, "/system.slice/app.service");
    }

    private static SocketSample listener(long inode, int port, ProcessId... owners) {
        return new SocketSample(SocketProtocol.TCP, "0.0.0.0", port, inode, 1000, List.of(owners));
    }

    private static ProcessKey key(ProcessId id) {
        return ProcessKey.newBuilder().setPid(id.pid()).setStartTicks(id.startTicks()).build();
    }

    private static List<Integer> pids(List<?> processesOrKeys) {
        return processesOrKeys.stream()
                .map(o -> o instanceof Process ? ((Process) o).getKey().getPid() : ((ProcessKey) o).getPid())
                .collect(Collectors.toList());
    }

    private static Map<Integer, Process> byPid(List<Process> processes) {
        return processes.stream().collect(Collectors.toMap(p -> p.getKey().getPid(), p -> p));
    }

    /** A hand-written AgentService: records every stream; never requests on its own beyond what the stream allows. */
    private static final class TestController extends AgentServiceGrpc.AgentServiceImplBase {

        private final BlockingQueue<ServerStream> streams = new LinkedBlockingQueue<>();

        @Override
        public StreamObserver<AgentMessage> connect(StreamObserver<ControllerMessage> responseObserver) {
            ServerCallStreamObserver<ControllerMessage> call = (ServerCallStreamObserver<ControllerMessage>) responseObserver;
            call.disableAutoRequest();
            ServerStream stream = new ServerStream(call);
            streams.add(stream);
            call.request(1);
            return stream;
        }

        ServerStream nextStream() throws InterruptedException {
            ServerStream s = streams.poll(10, TimeUnit.SECONDS);
            assertThat(s).as("a stream from the agent").isNotNull();
            return s;
        }

        ServerStream pollStream(Duration wait) throws InterruptedException {
            return streams.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * The controller's side of one Connect stream. Requests one message at a time while not
     * paused, so that at most one unrequested message is ever "in flight" towards it.
     */
    private static final class ServerStream implements StreamObserver<AgentMessage> {

        private final ServerCallStreamObserver<ControllerMessage> call;
        private final BlockingQueue<AgentMessage> received = new LinkedBlockingQueue<>();
        private final CountDownLatch ended = new CountDownLatch(1);
        private volatile boolean paused;

        ServerStream(ServerCallStreamObserver<ControllerMessage> call) {
            this.call = call;
        }

        @Override
        public void onNext(AgentMessage message) {
            // Request before recording: once a test has seen a message, the credit for the
            // next one is already granted (or, when paused, deliberately not).
            if (!paused) {
                call.request(1);
            }
            received.add(message);
        }

        @Override
        public void onError(Throwable t) {
            ended.countDown();
        }

        @Override
        public void onCompleted() {
            ended.countDown();
        }

        AgentMessage next() throws InterruptedException {
            AgentMessage m = received.poll(10, TimeUnit.SECONDS);
            assertThat(m).as("a message from the agent").isNotNull();
            return m;
        }

        AgentMessage poll(Duration wait) throws InterruptedException {
            return received.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
        }

        List<AgentMessage> drain(Duration wait) throws InterruptedException {
            Thread.sleep(wait.toMillis());
            List<AgentMessage> out = new ArrayList<>();
            received.drainTo(out);
            return out;
        }

        void pause() {
            paused = true;
        }

        void resume() {
            paused = false;
            call.request(1);
        }

        synchronized void send(ControllerMessage message) {
            call.onNext(message);
        }

        void welcome() {
            send(ControllerMessage.newBuilder().setWelcome(Welcome.newBuilder().setSessionId("session-1")
                    .setControllerVersion("test").setSampling(SamplingSettings.getDefaultInstance())).build());
        }

        synchronized void complete() {
            call.onCompleted();
        }

        synchronized void fail(Status status) {
            call.onError(status.asRuntimeException());
        }

        boolean awaitEnd() throws InterruptedException {
            return ended.await(10, TimeUnit.SECONDS);
        }
    }
}
