package dev.fleetkeeper.controller.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.controller.ManualClock;
import dev.fleetkeeper.controller.fleet.AgentAction;
import dev.fleetkeeper.controller.fleet.AgentSession;
import dev.fleetkeeper.controller.fleet.FleetEngine;
import dev.fleetkeeper.controller.fleet.FleetSettings;
import dev.fleetkeeper.controller.store.EventQuery;
import dev.fleetkeeper.controller.store.FleetStore;
import dev.fleetkeeper.controller.store.StoreOptions;
import dev.fleetkeeper.proto.v1.ActionResult;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.Hello;
import dev.fleetkeeper.proto.v1.InstanceView;
import dev.fleetkeeper.proto.v1.ManagerState;
import dev.fleetkeeper.proto.v1.ReleaseOutcome;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rollout coordinator with a real store (RocksDB in a temp dir) and a real fleet engine;
 * only the agents are fakes, answering as the test says. Covers the durability promises: what
 * was answered is not sent again after a restart, what was SENT is re-sent with the same id.
 */
@Timeout(60)
class RolloutCoordinatorTest {

    private static final long T0 = 1_767_225_600_000L;
    private static final String SERVICE = "worker";
    private static final FleetSettings SETTINGS = new FleetSettings(Duration.ofMinutes(5), Duration.ofSeconds(1),
            Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(10));
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private final ManualClock clock = new ManualClock(T0);
    private FleetStore store;
    private FleetEngine engine;
    private RolloutCoordinator coordinator;

    @BeforeEach
    void open() {
        store = FleetStore.open(dir.resolve("store"), StoreOptions.defaults());
        engine = new FleetEngine(store, SETTINGS, clock, new SimpleMeterRegistry());
        engine.start();
    }

    @AfterEach
    void close() {
        stopController();
    }

    private void stopController() {
        if (coordinator != null) {
            coordinator.close();
            coordinator = null;
        }
        if (engine != null) {
            engine.close();
            store.close();
            engine = null;
        }
    }

    private void startCoordinator() {
        coordinator = new RolloutCoordinator(store, engine, clock, Duration.ofMillis(20), new SimpleMeterRegistry());
        coordinator.start();
    }

    @Test
    void restartMidRollout_resendsTheSentStepWithItsId_andNeverSendsAnAnsweredStepAgain() throws Exception {
        FakeAgent web1 = FakeAgent.connect(engine, "host-1", "web-1", "v1", 101);
        FakeAgent web2 = FakeAgent.connect(engine, "host-2", "web-2", "v1", 201);
        startCoordinator();

        Rollout started = get(coordinator.start(request(plan(true, false))));
        assertThat(started.steps()).hasSize(2);
        String canaryId = await().atMost(WAIT).until(() -> web1.applied(), a -> a.size() == 1).get(0).id();
        assertThat(get(coordinator.get(started.rolloutId())).steps().get(0).actionId()).isEqualTo(canaryId);
        assertThat(web1.applied().get(0).action().release().version()).isEqualTo("v2");

        web1.answer(canaryId, ActionStatus.ACTION_STATUS_SUCCEEDED, "applied", 101);
        web1.report("v2", 102);
        awaitStep(started.rolloutId(), 0, RolloutStepState.VERIFYING);
        clock.advance(Duration.ofSeconds(11));
        String batchId = await().atMost(WAIT).until(() -> web2.applied(), a -> a.size() == 1).get(0).id();
        Rollout midway = get(coordinator.get(started.rolloutId()));
        assertThat(midway.state()).isEqualTo(RolloutState.ROLLING);
        assertThat(midway.steps().get(0).state()).isEqualTo(RolloutStepState.HEALTHY);
        assertThat(midway.steps().get(1).state()).isEqualTo(RolloutStepState.SENT);
        assertThat(midway.steps().get(1).actionId()).isEqualTo(batchId);

        // The controller dies before web-2 answers; everything is reopened from the same store.
        stopController();
        open();
        FakeAgent web1Again = FakeAgent.connect(engine, "host-1", "web-1", "v2", 102);
        FakeAgent web2Again = FakeAgent.connect(engine, "host-2", "web-2", "v1", 201);
        startCoordinator();

        List<FakeAgent.Applied> resent = await().atMost(WAIT).until(() -> web2Again.applied(), a -> !a.isEmpty());
        assertThat(resent.get(0).id()).isEqualTo(batchId);
        web2Again.answer(batchId, ActionStatus.ACTION_STATUS_DUPLICATE, "action was applied before", 0);
        web2Again.report("v2", 202);
        awaitStep(started.rolloutId(), 1, RolloutStepState.VERIFYING);
        clock.advance(Duration.ofSeconds(11));
        await().atMost(WAIT).until(() -> get(coordinator.get(started.rolloutId())).state() == RolloutState.SUCCEEDED);

        assertThat(web1Again.applied()).as("the healthy canary is never sent anything again").isEmpty();
        assertThat(web2Again.applied()).extracting(FakeAgent.Applied::id).containsOnly(batchId);
        Rollout done = get(coordinator.get(started.rolloutId()));
        assertThat(done.steps()).extracting(RolloutStep::newPid).containsExactly(102, 202);
        assertThat(rolloutEvents()).extracting(e -> e.getAttributesOrThrow("kind"))
                .containsSubsequence("ROLLOUT_STARTED", "STEP_HEALTHY", "STATE_CHANGED", "STEP_HEALTHY",
                        "ROLLOUT_ENDED");
    }

    @Test
    void agentRejectingTheRelease_failsTheCanaryWithItsMessage_andLeavesTheRestUntouched() throws Exception {
        FakeAgent web1 = FakeAgent.connect(engine, "host-1", "web-1", "v1", 101);
        FakeAgent web2 = FakeAgent.connect(engine, "host-2", "web-2", "v1", 201);
        startCoordinator();

        Rollout started = get(coordinator.start(request(plan(false, false))));
        String id = await().atMost(WAIT).until(() -> web1.applied(), a -> a.size() == 1).get(0).id();
        web1.answer(id, ActionStatus.ACTION_STATUS_REJECTED,
                "this agent version does not know action kind APPLY_RELEASE; upgrade the agent", 0);

        await().atMost(WAIT).until(() -> get(coordinator.get(started.rolloutId())).state() == RolloutState.FAILED);
        Rollout failed = get(coordinator.get(started.rolloutId()));
        assertThat(failed.steps().get(0).state()).isEqualTo(RolloutStepState.FAILED);
        assertThat(failed.steps().get(0).message()).contains("rejected").contains("does not know action kind");
        assertThat(failed.steps().get(1).state()).isEqualTo(RolloutStepState.SKIPPED);
        assertThat(failed.message()).contains("does not know action kind");
        assertThat(web2.applied()).isEmpty();
        assertThat(rolloutEvents()).extracting(e -> e.getAttributesOrThrow("kind"))
                .containsSubsequence("ROLLOUT_STARTED", "STEP_FAILED", "ROLLOUT_ENDED");
    }

    @Test
    void start_refusesASecondRolloutOfTheService_andAServiceNoOnlineHostDeclares() throws Exception {
        FakeAgent.connect(engine, "host-1", "web-1", "v1", 101);
        startCoordinator();
        Rollout first = get(coordinator.start(request(plan(false, false))));

        assertThatThrownBy(() -> get(coordinator.start(request(plan(false, false)))))
                .isInstanceOf(RolloutRefusedException.class).hasMessageContaining(first.rolloutId())
                .hasMessageContaining("still");
        assertThatThrownBy(() -> get(coordinator.start(new RolloutRequest("nope", Map.of(), Release.ofVersion("v2"),
                plan(false, false), ""))))
                .isInstanceOf(RolloutRefusedException.class).hasMessageContaining("no online host");
        assertThatThrownBy(() -> get(coordinator.promote(first.rolloutId())))
                .isInstanceOf(RolloutRefusedException.class).hasMessageContaining("AWAITING_PROMOTION");
        assertThatThrownBy(() -> get(coordinator.get("ro-000000000000-0000")))
                .isInstanceOf(RolloutNotFoundException.class);

        Rollout aborted = get(coordinator.abort(first.rolloutId()));
        assertThat(aborted.state()).isEqualTo(RolloutState.ABORTED);
        assertThat(get(coordinator.list("", 0))).extracting(Rollout::rolloutId).containsExactly(first.rolloutId());
        assertThat(get(coordinator.list("other", 0))).isEmpty();
    }

    @Test
    void host_readsTheDeclaredFloor_andWhatEachInstanceRuns_fromTheServiceReport() {
        dev.fleetkeeper.proto.v1.Release custom = dev.fleetkeeper.proto.v1.Release.newBuilder().setVersion("v1.5")
                .setCommand("/opt/worker").addArgs("--fast").setArgsSet(true).putEnv("QUEUE", "fast").build();
        ServiceStatus status = ServiceStatus.newBuilder().setName(SERVICE).setVersion("v1").setInstancesDeclared(3)
                .setMinAvailable(1)
                .addInstances(InstanceView.newBuilder().setIndex(0).setVersion("v1"))
                .addInstances(InstanceView.newBuilder().setIndex(1).setVersion("v1.5").setRelease(custom))
                .addInstances(InstanceView.newBuilder().setIndex(2).setVersion("v0")) // an agent without releases
                .build();

        RolloutHost h = RolloutCoordinator.host("host-1", "web-1", Map.of(), true, T0, status);

        assertThat(h.minAvailable()).isEqualTo(1);
        assertThat(h.declaredVersion()).isEqualTo("v1");
        assertThat(h.running(0)).isEqualTo(PreviousRelease.declared("v1"));
        assertThat(h.running(1)).isEqualTo(PreviousRelease.of(new Release("v1.5", "/opt/worker", List.of("--fast"),
                true, Map.of("QUEUE", "fast"), false, "")));
        assertThat(h.running(2)).isEqualTo(PreviousRelease.of(Release.ofVersion("v0")));
        assertThat(RolloutCoordinator.host("host-1", "web-1", Map.of(), true, T0, null).minAvailable()).isZero();
    }

    // ---------------------------------------------------------------- helpers

    private static RolloutPlan plan(boolean autoPromote, boolean autoRollback) {
        return new RolloutPlan(1, "1", 10_000, 60_000, 120_000, 0, autoPromote, autoRollback, false, "", 0, "");
    }

    private static RolloutRequest request(RolloutPlan plan) {
        return new RolloutRequest(SERVICE, Map.of(), Release.ofVersion("v2"), plan, "test");
    }

    private void awaitStep(String rolloutId, int step, RolloutStepState state) {
        await().atMost(WAIT).until(() -> get(coordinator.get(rolloutId)).steps().get(step).state() == state);
    }

    private List<Event> rolloutEvents() {
        return store.events(EventQuery.oldest(10_000)).stream()
                .filter(e -> e.getType() == EventType.EVENT_TYPE_ROLLOUT).toList();
    }

    private static <T> T get(java.util.concurrent.CompletableFuture<T> f) throws Exception {
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }

    /** One host's agent, faked: records the actions it is sent, answers and reports as told. Thread-safe. */
    static final class FakeAgent implements AgentSession {
        record Applied(String id, AgentAction.ApplyRelease action) {
        }

        private final FleetEngine engine;
        private final String hostId;
        private final AtomicLong seq = new AtomicLong();
        private final List<Applied> applied = new CopyOnWriteArrayList<>();

        private FakeAgent(FleetEngine engine, String hostId) {
            this.engine = engine;
            this.hostId = hostId;
        }

        /** Connects with one instance of the service running {@code version} as {@code pid}. */
        static FakeAgent connect(FleetEngine engine, String hostId, String hostname, String version, int pid) {
            FakeAgent a = new FakeAgent(engine, hostId);
            engine.hello(a, a.seq.incrementAndGet(), Hello.newBuilder().setHostId(hostId).setHostname(hostname)
                    .putLabels("role", "worker").setAgentVersion("1.0").setKernel("6.8.0")
                    .setBootId("0f3c6a2e-8b1d-4c55-9a7e-2d4b6f8e1a9" + hostId.charAt(hostId.length() - 1))
                    .setBootTimeUnixMs(T0 - 3_600_000).setClockTicksPerSecond(100).build());
            a.report(version, pid);
            return a;
        }

        List<Applied> applied() {
            return List.copyOf(applied);
        }

        void report(String version, int pid) {
            engine.services(this, seq.incrementAndGet(), ServiceReport.newBuilder().setTakenAtUnixMs(T0)
                    .addServices(ServiceStatus.newBuilder().setName(SERVICE).setDriver("builtin").setVersion("v1")
                            .setInstancesDeclared(1)
                            .addInstances(InstanceView.newBuilder().setIndex(0)
                                    .setManagerState(ManagerState.MANAGER_STATE_RUNNING).setManagerPid(pid)
                                    .setConsistent(true).setVersion(version)))
                    .build());
        }

        void answer(String actionId, ActionStatus status, String message, int oldPid) {
            engine.actionResult(this, seq.incrementAndGet(), ActionResult.newBuilder().setActionId(actionId)
                    .setStatus(status).setMessage(message).setFinishedAtUnixMs(T0)
                    .setRelease(ReleaseOutcome.newBuilder().setOldPid(oldPid)).build());
        }

        @Override
        public String sessionId() {
            return hostId + "-" + System.identityHashCode(this);
        }

        @Override
        public String peer() {
            return "test:" + hostId;
        }

        @Override
        public void welcome(Duration scanInterval, Duration detailInterval, Duration heartbeatInterval) {
        }

        @Override
        public void acknowledge(long sequence) {
        }

        @Override
        public void requestMore(int n) {
        }

        @Override
        public boolean sendAction(String actionId, long issuedAtMillis, AgentAction action) {
            if (action instanceof AgentAction.ApplyRelease a) {
                applied.add(new Applied(actionId, a));
            }
            return true;
        }

        @Override
        public void close(String reason) {
        }
    }
}
