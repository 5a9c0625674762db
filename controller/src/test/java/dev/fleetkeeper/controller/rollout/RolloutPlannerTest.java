package dev.fleetkeeper.controller.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pure rollout decisions: phases, gates, deadlines, floors, disconnects, rollback. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
final class RolloutPlannerTest {

    private static final long T0 = 1_700_000_000_000L;
    private static final long MIN_HEALTHY = 10_000;
    private static final long HEALTHY_DEADLINE = 60_000;
    private static final long PROGRESS_DEADLINE = 120_000;

    /** A fake fleet whose agents apply releases: a new pid and the release's version. */
    private final Map<String, Inst[]> fleet = new LinkedHashMap<>();
    private final Map<String, Boolean> online = new LinkedHashMap<>();
    private final Map<String, Long> lastSeen = new LinkedHashMap<>();
    private final Map<String, List<RolloutHost.Finding>> findings = new LinkedHashMap<>();
    private final Map<String, Map<String, Long>> baselines = new LinkedHashMap<>();
    /** The floor each host's service declares (absent: none). */
    private final Map<String, Integer> floors = new LinkedHashMap<>();
    /** Every release applied, "host#index=version", in order. */
    private final List<String> applied = new ArrayList<>();
    /** Every action the fake agents received, in order. */
    private final List<RolloutPlanner.Send> received = new ArrayList<>();
    private int nextPid = 1000;
    private long now = T0;

    private static final class Inst {
        int pid;
        /** The release applied to it, as the agent reports it; null: the declared spec, "v1". */
        Release release;
        String version = "v1";
        boolean running = true;
        boolean bindsPorts = true;
        boolean declaresPorts = true;
        /** The probe the agent runs on it ("" none): the release's. */
        String probe = "";
    }

    /** How each version answers its probe (absent: healthy). */
    private final Map<String, Boolean> probeAnswers = new LinkedHashMap<>();

    private void host(String id, int instances) {
        Inst[] a = new Inst[instances];
        for (int i = 0; i < instances; i++) {
            a[i] = new Inst();
            a[i].pid = nextPid++;
        }
        fleet.put(id, a);
        online.put(id, true);
        lastSeen.put(id, now);
        findings.put(id, new ArrayList<>());
        baselines.put(id, new LinkedHashMap<>());
    }

    private Map<String, RolloutHost> hosts() {
        Map<String, RolloutHost> out = new LinkedHashMap<>();
        for (Map.Entry<String, Inst[]> e : fleet.entrySet()) {
            String id = e.getKey();
            if (online.get(id)) {
                lastSeen.put(id, now);
            }
            List<RolloutHost.Instance> list = new ArrayList<>();
            for (int i = 0; i < e.getValue().length; i++) {
                Inst x = e.getValue()[i];
                List<Integer> expected = x.declaresPorts ? List.of(3000 + i) : List.of();
                boolean bound = x.running && x.bindsPorts;
                boolean ok = probeAnswers.getOrDefault(x.version, true);
                RolloutHost.Probe probe = x.probe.isEmpty() || !x.running ? null
                        : new RolloutHost.Probe(x.probe, ok, ok ? "HTTP 200 from :" + (3000 + i) + "/healthz"
                                : "HTTP 503 from :" + (3000 + i) + "/healthz", x.pid);
                list.add(new RolloutHost.Instance(i, x.running, x.running ? "RUNNING" : "BACKOFF",
                        x.running ? x.pid : 0, x.version, bound, expected, bound ? expected : List.of(), x.release,
                        probe));
            }
            out.put(id, new RolloutHost(id, id, Map.of("role", "web"), online.get(id), lastSeen.get(id),
                    e.getValue().length, "v1", floors.getOrDefault(id, 0), list, findings.get(id), baselines.get(id)));
        }
        return out;
    }

    private static RolloutPlan plan(int canary, String batch, int maxFailures, boolean autoPromote,
                                    boolean autoRollback, boolean pauseOnDisconnect, double tolerance) {
        return new RolloutPlan(canary, batch, MIN_HEALTHY, HEALTHY_DEADLINE, PROGRESS_DEADLINE, maxFailures,
                autoPromote, autoRollback, pauseOnDisconnect, "", tolerance, "");
    }

    private Rollout start(RolloutPlan plan) {
        return RolloutPlanner.plan("ro-1", "web", Map.of(), Release.ofVersion("v2"), plan, "test",
                hosts().values(), now);
    }

    /** One decision whose sends the fake agents apply and answer at once, SUCCEEDED. */
    private Rollout step(Rollout r) {
        RolloutPlanner.Decision d = RolloutPlanner.decide(r, hosts(), Set.of(), now);
        Rollout next = d.rollout();
        for (RolloutPlanner.Send s : d.sends()) {
            next = RolloutPlanner.answered(next, s.actionId(), apply(s), now);
        }
        return next;
    }

    private RolloutPlanner.Answer apply(RolloutPlanner.Send s) {
        Inst x = fleet.get(s.step().hostId())[s.step().instance()];
        int old = x.pid;
        x.pid = nextPid++;
        // As the agent does: back to the declared spec forgets the release; a release is kept in full.
        x.release = s.toDeclared() ? null : s.release().withSwitchCurrent(false);
        x.version = s.toDeclared() ? "v1" : s.release().version();
        x.probe = s.toDeclared() ? "" : s.release().probe();
        received.add(s);
        applied.add(s.step().hostId() + "#" + s.step().instance() + "=" + s.release().version());
        String before = "";
        if (s.release().switchCurrent()) {
            // As the agent does: report where current pointed, then point it where asked.
            before = current.getOrDefault(s.step().hostId(), "");
            current.put(s.step().hostId(), s.currentTarget().isEmpty() ? "releases/" + s.release().version()
                    : s.currentTarget());
        }
        return new RolloutPlanner.Answer(RolloutPlanner.Answer.Kind.SUCCEEDED, "", old, before);
    }

    /** Where each host's {@code current} points, for rollouts that switch it. */
    private final Map<String, String> current = new LinkedHashMap<>();

    /** Decides every second for {@code millis}. */
    private Rollout run(Rollout r, long millis) {
        long end = now + millis;
        while (now < end) {
            r = step(r);
            now += 1000;
        }
        return step(r);
    }

    private static RolloutStep stepOf(Rollout r, String host, int index) {
        return r.steps().stream().filter(s -> s.hostId().equals(host) && s.instance() == index).findFirst()
                .orElseThrow();
    }

    // ---------------------------------------------------------------- planning

    @Test
    void plan_putsCanariesFirst_thenBatchesHostByHostAndInstanceByInstance() {
        host("web-2", 2);
        host("web-1", 2);
        Rollout r = start(plan(1, "2", 0, false, false, false, 0));

        assertThat(r.state()).isEqualTo(RolloutState.PENDING);
        assertThat(r.steps()).extracting(s -> s.hostId() + "#" + s.instance() + " c=" + s.canary() + " b=" + s.batch())
                .containsExactly("web-1#0 c=true b=0", "web-1#1 c=false b=1", "web-2#0 c=false b=1",
                        "web-2#1 c=false b=2");
        assertThat(r.steps()).allMatch(s -> s.previous().version().equals("v1"));
    }

    @Test
    void plan_refusesNoMatchingHost_canaryAboveInstances_andMissingVersion() {
        host("web-1", 2);
        assertThatThrownBy(() -> RolloutPlanner.plan("ro-1", "web", Map.of("role", "db"), Release.ofVersion("v2"),
                RolloutPlan.defaults(), "", hosts().values(), now)).isInstanceOf(RolloutRefusedException.class)
                .hasMessageContaining("no online host with labels {role=db} reports service 'web'");
        assertThatThrownBy(() -> start(plan(3, "1", 0, false, false, false, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("canary: 3 but the rollout has only 2");
        assertThatThrownBy(() -> RolloutPlanner.plan("ro-1", "web", Map.of(), Release.ofVersion(""),
                RolloutPlan.defaults(), "", hosts().values(), now)).hasMessageStartingWith("release.version: missing");
    }

    // ---------------------------------------------------------------- probe gate

    private static RolloutPlan probed(String probe) {
        return new RolloutPlan(1, "1", MIN_HEALTHY, HEALTHY_DEADLINE, PROGRESS_DEADLINE, 0, true, true, false, probe, 0,
                "");
    }

    @Test
    void probe_goesWithTheRelease_andHoldsTheCanaryUntilItPassesForMinHealthy() {
        host("web-1", 2);
        probeAnswers.put("v2", false);
        Rollout r = start(probed("http:/healthz"));
        assertThat(r.release().probe()).isEqualTo("http:/healthz");

        r = run(r, MIN_HEALTHY + 5_000);
        RolloutStep canary = stepOf(r, "web-1", 0);
        assertThat(canary.state()).isEqualTo(RolloutStepState.VERIFYING);
        assertThat(canary.message()).contains("probe: http:/healthz: HTTP 503 from :3000/healthz");
        assertThat(fleet.get("web-1")[0].probe).as("the agent was sent the probe").isEqualTo("http:/healthz");

        probeAnswers.put("v2", true);
        r = run(r, MIN_HEALTHY - 2_000);
        assertThat(stepOf(r, "web-1", 0).state()).as("min_healthy counts from the probe's first pass")
                .isEqualTo(RolloutStepState.VERIFYING);
        r = run(r, 3_000);
        assertThat(stepOf(r, "web-1", 0).state()).isEqualTo(RolloutStepState.HEALTHY);
        assertThat(stepOf(r, "web-1", 0).gates()).filteredOn(g -> g.gate().equals("probe")).singleElement()
                .satisfies(g -> assertThat(g.detail()).isEqualTo("http:/healthz: HTTP 200 from :3000/healthz"));
    }

    @Test
    void aProbeThatNeverPasses_failsTheCanaryAtTheHealthyDeadline_andTheRestIsNeverTouched() {
        host("web-1", 3);
        probeAnswers.put("v2", false);
        Rollout r = run(start(probed("http:/healthz")), HEALTHY_DEADLINE + 5_000);

        assertThat(r.state()).isEqualTo(RolloutState.ROLLED_BACK);
        assertThat(r.message()).contains("not healthy within 60 s: probe: http:/healthz: HTTP 503");
        assertThat(applied).containsExactly("web-1#0=v2", "web-1#0=v1");
    }

    @Test
    void aResultForTheProcessBeforeTheStep_doesNotCount() {
        host("web-1", 2);
        fleet.get("web-1")[0].probe = "http:/healthz";
        Map<String, RolloutHost> hosts = hosts();
        RolloutHost.Instance i = hosts.get("web-1").instance(0);
        RolloutHost.Instance restarted = new RolloutHost.Instance(0, true, "RUNNING", i.pid() + 1, "v2", true,
                i.expectedPorts(), i.boundPorts(), null, i.probe());
        RolloutHost h = hosts.get("web-1");
        RolloutHost now2 = new RolloutHost(h.hostId(), h.hostname(), h.labels(), true, now, h.declared(),
                h.declaredVersion(), h.minAvailable(), List.of(restarted), List.of(), Map.of());
        Rollout r = start(probed("http:/healthz"));
        GateResult g = RolloutGates.evaluate(r, r.steps().get(0), now2).stream()
                .filter(x -> x.gate().equals("probe")).findFirst().orElseThrow();

        assertThat(g.ok()).isFalse();
        assertThat(g.detail()).startsWith("http:/healthz: no result for pid " + (i.pid() + 1) + " from its agent");
    }

    @Test
    void aDeclaredProbe_gatesARolloutWithoutProbe_andNotProbedYetHoldsTheCanary() {
        host("web-1", 2);
        Rollout r = step(start(probed("")));
        Inst canary = fleet.get("web-1")[0];
        canary.probe = "http:/healthz"; // declared in agent.yaml: the agent probes it without being told
        probeAnswers.put("v2", false);

        r = run(r, MIN_HEALTHY + 5_000);
        assertThat(stepOf(r, "web-1", 0).state()).isEqualTo(RolloutStepState.VERIFYING);
        assertThat(stepOf(r, "web-1", 0).message()).contains("probe: http:/healthz: HTTP 503");

        probeAnswers.put("v2", true);
        r = run(r, MIN_HEALTHY + 2_000);
        assertThat(stepOf(r, "web-1", 0).state()).isEqualTo(RolloutStepState.HEALTHY);
    }

    @Test
    void anInstanceOnTheVersionButNotTheRelease_isSentTheRelease_notVerifiedAsItIs() {
        host("web-1", 2);
        fleet.get("web-1")[0].version = "v2"; // the label, but without the release's probe
        Rollout r = run(start(probed("http:/healthz")), 4 * (MIN_HEALTHY + 3_000));

        assertThat(r.state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(applied).containsExactly("web-1#0=v2", "web-1#1=v2");
    }

    @Test
    void plan_refusesAProbe_whenInstancesOfAHostShareAPort() {
        host("web-1", 2);
        Map<String, RolloutHost> hosts = hosts();
        RolloutHost h = hosts.get("web-1");
        List<RolloutHost.Instance> shared = h.instances().stream().map(i -> new RolloutHost.Instance(i.index(),
                i.running(), i.state(), i.pid(), i.version(), i.available(), List.of(3000), List.of(3000))).toList();
        RolloutHost sharing = new RolloutHost(h.hostId(), h.hostname(), h.labels(), true, now, h.declared(),
                h.declaredVersion(), h.minAvailable(), shared, List.of(), Map.of());

        assertThatThrownBy(() -> RolloutPlanner.plan("ro-1", "web", Map.of(), Release.ofVersion("v2"),
                probed("tcp"), "", List.of(sharing), now))
                .hasMessageStartingWith("probe: 'tcp' but web#0 and #1 on web-1 share port 3000");
    }

    @Test
    void plan_refusesAProbe_whenAnInstanceDeclaresNoPorts_andAMalformedProbe() {
        host("web-1", 2);
        fleet.get("web-1")[1].declaresPorts = false;
        assertThatThrownBy(() -> start(probed("tcp"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("probe: 'tcp' but web#1 on web-1 declares no ports to probe");
        assertThatThrownBy(() -> probed("grpc:/x")).hasMessageStartingWith("probe: 'grpc:/x' (expected: \"tcp\"");
        assertThat(probed("HTTP").probe()).isEqualTo("http:/");
    }

    // ---------------------------------------------------------------- phases

    @Test
    void canary_goesAlone_thenAwaitsPromotion_thenBatchesRollToSuccess() {
        host("web-1", 2);
        host("web-2", 2);
        Rollout r = step(start(plan(1, "1", 0, false, false, false, 0)));
        assertThat(r.state()).isEqualTo(RolloutState.CANARY);
        assertThat(applied).containsExactly("web-1#0=v2");
        assertThat(stepOf(r, "web-1", 0).state()).isEqualTo(RolloutStepState.VERIFYING);

        r = run(r, MIN_HEALTHY + 5_000);
        assertThat(stepOf(r, "web-1", 0).state()).isEqualTo(RolloutStepState.HEALTHY);
        assertThat(stepOf(r, "web-1", 0).gates()).allMatch(GateResult::ok).extracting(GateResult::gate)
                .containsExactly("up", "ports", "probe", "memory", "crash");
        assertThat(r.state()).isEqualTo(RolloutState.AWAITING_PROMOTION);
        r = run(r, 200_000);
        assertThat(r.state()).as("waits for an operator, deadlines do not run").isEqualTo(RolloutState.AWAITING_PROMOTION);
        assertThat(applied).hasSize(1);

        r = RolloutPlanner.promote(r, now);
        assertThat(r.state()).isEqualTo(RolloutState.ROLLING);
        r = run(r, 4 * (MIN_HEALTHY + 3_000));
        assertThat(r.state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(r.finishedAtMillis()).isPositive();
        assertThat(applied).containsExactly("web-1#0=v2", "web-1#1=v2", "web-2#0=v2", "web-2#1=v2");
        assertThat(r.steps()).allMatch(s -> s.state() == RolloutStepState.HEALTHY);
    }

    @Test
    void autoPromote_skipsTheOperator_andEachInstanceIsRestartedExactlyOnce() {
        host("web-1", 3);
        Rollout r = run(start(plan(1, "1", 0, true, false, false, 0)), 5 * (MIN_HEALTHY + 3_000));
        assertThat(r.state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(applied).containsExactly("web-1#0=v2", "web-1#1=v2", "web-1#2=v2");
    }

    @Test
    void batches_neverTakeMoreThanTheHostFloorAllowsDownAtOnce() {
        host("web-1", 3);
        host("web-2", 3);
        Rollout r = run(start(plan(1, "100%", 0, true, false, false, 0)), MIN_HEALTHY + 3_000);
        assertThat(r.state()).isEqualTo(RolloutState.ROLLING);
        for (int i = 0; i < 40 && r.state() == RolloutState.ROLLING; i++) {
            r = step(r);
            Map<String, Integer> inFlight = new LinkedHashMap<>();
            for (RolloutStep s : r.steps()) {
                if (s.state().isInFlight()) {
                    inFlight.merge(s.hostId(), 1, Integer::sum);
                }
            }
            assertThat(inFlight.values()).as("in flight per host").allMatch(n -> n <= 1);
            now += 2_000;
        }
        assertThat(r.state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(applied).hasSize(6).doesNotHaveDuplicates();
    }

    @Test
    void instanceAlreadyOnTheRelease_isVerifiedButNeverRestarted() {
        host("web-1", 2);
        fleet.get("web-1")[1].version = "v2";
        Rollout r = run(start(plan(1, "1", 0, true, false, false, 0)), 3 * (MIN_HEALTHY + 3_000));
        assertThat(r.state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(applied).containsExactly("web-1#0=v2");
        assertThat(stepOf(r, "web-1", 1).actionId()).isEmpty();
    }

    // ---------------------------------------------------------------- gates

    @Test
    void baselineRegression_rejectsTheCanary() {
        host("web-1", 2);
        Rollout r = step(start(plan(1, "1", 0, true, false, false, 0)));
        findings.get("web-1").add(new RolloutHost.Finding(RolloutGates.BASELINE_REGRESSED, -1, "v2",
                "version v2 of 'web' settles at 182 MiB after a start, 52% above version v1 (120 MiB; tolerance 20%)"));
        r = step(r);

        RolloutStep canary = stepOf(r, "web-1", 0);
        assertThat(canary.state()).isEqualTo(RolloutStepState.FAILED);
        assertThat(canary.message()).startsWith("memory: version v2 of 'web' settles at 182 MiB");
        assertThat(canary.gates()).filteredOn(g -> g.gate().equals("memory")).singleElement()
                .matches(g -> !g.ok());
        assertThat(r.state()).isEqualTo(RolloutState.FAILED);
        assertThat(r.message()).startsWith("1 instance(s) failed (max_failures 0): web-1 web#0: memory:");
        assertThat(stepOf(r, "web-1", 1).state()).isEqualTo(RolloutStepState.SKIPPED);
    }

    @Test
    void memoryTolerance_inThePlan_comparesTheVersionsBaselines() {
        host("web-1", 2);
        baselines.get("web-1").put("v1", 100L << 20);
        baselines.get("web-1").put("v2", 125L << 20);
        Rollout r = step(step(start(plan(1, "1", 0, true, false, false, 0.2))));
        assertThat(stepOf(r, "web-1", 0).state()).isEqualTo(RolloutStepState.FAILED);
        assertThat(stepOf(r, "web-1", 0).message()).isEqualTo("memory: baseline 125 MiB vs 100 MiB for v1 (tolerance 20%)");

        baselines.get("web-1").put("v2", 110L << 20);
        fleet.get("web-1")[0].version = "v1";
        applied.clear();
        Rollout ok = run(RolloutPlanner.plan("ro-2", "web", Map.of(), Release.ofVersion("v2"),
                plan(1, "1", 0, true, false, false, 0.2), "", hosts().values(), now), MIN_HEALTHY + 2_000);
        assertThat(stepOf(ok, "web-1", 0).state()).isEqualTo(RolloutStepState.HEALTHY);
    }

    @Test
    void crashLoop_failsTheStepAtOnce_andAutoRollbackTouchesOnlyTheCanary() {
        host("web-1", 2);
        host("web-2", 2);
        Rollout r = step(start(plan(1, "1", 0, true, true, false, 0)));
        assertThat(applied).containsExactly("web-1#0=v2");
        fleet.get("web-1")[0].running = false;
        findings.get("web-1").add(new RolloutHost.Finding(RolloutGates.CRASH_LOOP, 0, "", "restarted 5x in 60 s"));

        r = step(r);
        assertThat(r.state()).isEqualTo(RolloutState.ROLLING_BACK);
        r = step(r);
        assertThat(r.state()).isEqualTo(RolloutState.ROLLED_BACK);
        assertThat(r.message()).startsWith("1 instance(s) failed (max_failures 0): web-1 web#0: ")
                .contains("crash: CRASH_LOOP: restarted 5x in 60 s").endsWith("; rolled back 1 instance(s)");
        assertThat(applied).as("the canary went back to v1; no other instance was touched")
                .containsExactly("web-1#0=v2", "web-1#0=v1");
        RolloutStep canary = stepOf(r, "web-1", 0);
        assertThat(canary.state()).isEqualTo(RolloutStepState.ROLLED_BACK);
        assertThat(canary.rollbackActionId()).endsWith("-rb").isNotEqualTo(canary.actionId());
        assertThat(r.steps()).filteredOn(s -> !s.canary()).allMatch(s -> s.state() == RolloutStepState.SKIPPED
                && s.actionId().isEmpty());
    }

    @Test
    void portsNeverBound_failTheStepAtTheHealthyDeadline() {
        host("web-1", 2);
        Rollout r = step(start(plan(1, "1", 0, true, false, false, 0)));
        fleet.get("web-1")[0].bindsPorts = false;
        r = run(r, HEALTHY_DEADLINE - 2_000);
        assertThat(stepOf(r, "web-1", 0).state()).isEqualTo(RolloutStepState.VERIFYING);
        assertThat(stepOf(r, "web-1", 0).message()).isEqualTo("waiting: ports: port 3000 not bound by the instance");
        r = run(r, 5_000);
        assertThat(stepOf(r, "web-1", 0).state()).isEqualTo(RolloutStepState.FAILED);
        assertThat(stepOf(r, "web-1", 0).message()).isEqualTo("not healthy within 60 s: ports: port 3000 not bound by the instance");
        assertThat(r.state()).isEqualTo(RolloutState.FAILED);
    }

    @Test
    void restartDuringMinHealthy_restartsTheHealthyClock() {
        host("web-1", 2);
        Rollout r = run(start(plan(1, "1", 0, false, false, false, 0)), MIN_HEALTHY - 3_000);
        assertThat(stepOf(r, "web-1", 0).healthySinceMillis()).isPositive();
        fleet.get("web-1")[0].pid = 9999;
        r = step(r);
        assertThat(stepOf(r, "web-1", 0).healthySinceMillis()).isZero();
        assertThat(stepOf(r, "web-1", 0).message()).contains("up: restarted (pid");
        now += 5_000;
        r = step(r);
        assertThat(stepOf(r, "web-1", 0).state()).as("healthy again only for 5 s").isEqualTo(RolloutStepState.VERIFYING);
        r = run(r, MIN_HEALTHY);
        assertThat(stepOf(r, "web-1", 0).state()).isEqualTo(RolloutStepState.HEALTHY);
        assertThat(stepOf(r, "web-1", 0).newPid()).isEqualTo(9999);
    }

    @Test
    void maxFailures_toleratesThatManyFailedInstances() {
        host("web-1", 1);
        host("web-2", 1);
        host("web-3", 1);
        Rollout r = run(start(plan(1, "1", 1, true, false, false, 0)), MIN_HEALTHY + 2_000);
        r = step(r);
        RolloutStep second = r.steps().stream().filter(s -> s.state() == RolloutStepState.VERIFYING).findFirst()
                .orElseThrow();
        fleet.get(second.hostId())[second.instance()].running = false;
        r = run(r, HEALTHY_DEADLINE + 3 * (MIN_HEALTHY + 3_000));
        assertThat(r.failures()).isEqualTo(1);
        assertThat(r.state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(r.message()).endsWith(", 1 failed (tolerated)");
    }

    // ---------------------------------------------------------------- host floors

    /** The most instances of one host in flight at once over the whole rollout, which must succeed. */
    private int mostInFlightOnOneHost(Rollout r) {
        int most = 0;
        for (int i = 0; i < 80 && !r.state().isTerminal(); i++) {
            r = step(r);
            Map<String, Integer> inFlight = new LinkedHashMap<>();
            for (RolloutStep s : r.steps()) {
                if (s.state().isInFlight()) {
                    most = Math.max(most, inFlight.merge(s.hostId(), 1, Integer::sum));
                }
            }
            now += 2_000;
        }
        assertThat(r.state()).as(r.message()).isEqualTo(RolloutState.SUCCEEDED);
        return most;
    }

    private static RolloutPlan withMinAvailable(RolloutPlan p, String minAvailable) {
        return new RolloutPlan(p.canary(), p.batch(), p.minHealthyMillis(), p.healthyDeadlineMillis(),
                p.progressDeadlineMillis(), p.maxFailures(), p.autoPromote(), p.autoRollback(), p.pauseOnDisconnect(),
                p.probe(), p.memoryTolerance(), minAvailable);
    }

    @Test
    void hostsDeclaredFloor_isHonoured_twoOfThreeGoAtOnce_whenTheBatchAllows() {
        host("web-1", 3);
        floors.put("web-1", 1);

        assertThat(mostInFlightOnOneHost(start(plan(1, "2", 0, true, false, false, 0)))).isEqualTo(2);
        assertThat(applied).hasSize(3).doesNotHaveDuplicates();
    }

    @Test
    void hostsDeclaredFloor_holdsBackWhatWouldBreakIt_sayingWhereTheFloorComesFrom() {
        host("web-1", 3);
        floors.put("web-1", 2);
        fleet.get("web-1")[2].running = false; // not ours: 2 of 3 available, floor 2

        Rollout r = step(start(plan(1, "2", 0, true, false, false, 0)));

        assertThat(applied).isEmpty();
        assertThat(stepOf(r, "web-1", 0).message())
                .isEqualTo("waiting: web-1 has 2 of 3 instance(s) available, floor 2 (declared on host)");
    }

    @Test
    void defaultFloor_isUnchanged_oneInstancePerHostAtATime() {
        host("web-1", 3);

        assertThat(mostInFlightOnOneHost(start(plan(1, "2", 0, true, false, false, 0)))).isEqualTo(1);
    }

    @Test
    void plansMinAvailable_winsOverTheHostsDeclaredFloor_bothWays() {
        host("web-1", 3);
        floors.put("web-1", 1);
        Rollout strict = start(withMinAvailable(plan(1, "2", 0, true, false, false, 0), "2"));
        assertThat(strict.message()).contains("min_available 2 per host");
        assertThat(mostInFlightOnOneHost(strict)).as("the plan's 2 over the host's 1").isEqualTo(1);

        fleet.clear();
        applied.clear();
        host("web-1", 4);
        floors.put("web-1", 3);
        assertThat(mostInFlightOnOneHost(start(withMinAvailable(plan(1, "3", 0, true, false, false, 0), "50%"))))
                .as("50% of 4 over the host's 3").isEqualTo(2);
        host("web-1", 4);
        fleet.get("web-1")[3].running = false;
        Rollout held = step(start(withMinAvailable(plan(1, "3", 0, true, false, false, 0), "3")));
        assertThat(stepOf(held, "web-1", 0).message())
                .isEqualTo("waiting: web-1 has 3 of 4 instance(s) available, floor 3 (min_available 3 of the rollout)");
    }

    @Test
    void aFloorThatLeavesAHostNothingToUpdate_isRefusedAtTheStart_sayingWhatToChange() {
        host("web-1", 2);
        host("web-2", 3);
        floors.put("web-2", 3);
        assertThatThrownBy(() -> start(plan(1, "1", 0, true, false, false, 0)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("min_available: web-2 must keep 3 of its 3 instance(s) of 'web' available "
                        + "(declared on host), so none of them could ever be updated")
                .hasMessageContaining("lower memory.minAvailable in that host's agent.yaml")
                .hasMessageContaining("--min-available N below 3");
        assertThatThrownBy(() -> start(withMinAvailable(plan(1, "1", 0, true, false, false, 0), "100%")))
                .hasMessageStartingWith("min_available: web-1 must keep 2 of its 2 instance(s)")
                .hasMessageContaining("(min_available 100% of the rollout)");
        assertThat(start(withMinAvailable(plan(1, "1", 0, true, false, false, 0), "1")).steps()).hasSize(5);
    }

    // ---------------------------------------------------------------- what a rollback restores

    @Test
    void rollback_sendsEachInstanceBackToWhatItRan_theFullReleaseOrItsDeclaredSpec_underTheSameFloor() {
        host("web-1", 3);
        floors.put("web-1", 1);
        Release custom = new Release("v1.5", "/opt/app/bin/worker", List.of("--queue", "fast"), true,
                Map.of("QUEUE", "fast"), false, "tcp");
        fleet.get("web-1")[1].release = custom;
        fleet.get("web-1")[1].version = "v1.5";
        Rollout r = start(plan(1, "2", 0, true, false, false, 0));
        assertThat(stepOf(r, "web-1", 0).previous()).isEqualTo(PreviousRelease.declared("v1"));
        assertThat(stepOf(r, "web-1", 1).previous()).isEqualTo(PreviousRelease.of(custom));
        r = run(r, MIN_HEALTHY + 3_000);
        assertThat(r.steps()).extracting(RolloutStep::state).containsExactly(RolloutStepState.HEALTHY,
                RolloutStepState.VERIFYING, RolloutStepState.VERIFYING);
        received.clear();

        r = step(RolloutPlanner.rollback(r, now));

        assertThat(received).as("floor 1 of 3, declared on the host: two go back at once").hasSize(2);
        assertThat(received.get(0).step().instance()).isEqualTo(1);
        assertThat(received.get(0).toDeclared()).isFalse();
        assertThat(received.get(0).release()).as("command, arguments and environment, not only the label")
                .isEqualTo(custom);
        assertThat(received.get(1).step().instance()).isEqualTo(2);
        assertThat(received.get(1).toDeclared()).isTrue();
        assertThat(received.get(1).release()).as("the declared label, for an agent that predates to_declared")
                .isEqualTo(Release.ofVersion("v1"));
        assertThat(stepOf(r, "web-1", 0).message())
                .isEqualTo("waiting to roll back: web-1 has 1 of 3 instance(s) available, floor 1 (declared on host)");

        r = run(r, 2_000);

        assertThat(r.state()).as(r.message()).isEqualTo(RolloutState.ROLLED_BACK);
        assertThat(received).hasSize(3).last().satisfies(s -> {
            assertThat(s.step().instance()).isZero();
            assertThat(s.toDeclared()).isTrue();
        });
        assertThat(fleet.get("web-1")[1].release).isEqualTo(custom);
        assertThat(fleet.get("web-1")[0].release).isNull();
        assertThat(stepOf(r, "web-1", 0).message()).isEqualTo("back on v1 (declared spec)");
        assertThat(stepOf(r, "web-1", 1).message()).isEqualTo("back on v1.5");
    }

    @Test
    void rollbackOfARolloutThatSwitchedCurrent_switchesItBackToThePreviousVersionsDirectory() {
        host("web-1", 2);
        Rollout r = RolloutPlanner.plan("ro-1", "web", Map.of(), Release.ofVersion("v2").withSwitchCurrent(true),
                plan(1, "1", 0, true, false, false, 0), "test", hosts().values(), now);
        r = run(r, MIN_HEALTHY + 2_000);
        assertThat(received).extracting(RolloutPlanner.Send::release).allMatch(Release::switchCurrent);
        received.clear();

        run(RolloutPlanner.rollback(r, now), 2_000);

        assertThat(received).hasSize(2).allSatisfy(s -> {
            assertThat(s.toDeclared()).isTrue();
            assertThat(s.release()).isEqualTo(Release.ofVersion("v1").withSwitchCurrent(true));
            assertThat(s.currentTarget()).as("no agent said where current pointed: the version's directory").isEmpty();
        });
    }

    @Test
    void rollbackPutsCurrentBackExactlyWhereItPointedBeforeTheRollout_notAtTheDeclaredLabel() {
        host("web-1", 2);
        current.put("web-1", "releases/v1-hotfix"); // the declared label is v1, current was elsewhere
        Rollout r = RolloutPlanner.plan("ro-1", "web", Map.of(), Release.ofVersion("v2").withSwitchCurrent(true),
                plan(1, "1", 0, true, false, false, 0), "test", hosts().values(), now);
        r = run(r, MIN_HEALTHY + 5_000); // the canary healthy, instance 1 applied and verifying
        assertThat(r.state()).isEqualTo(RolloutState.ROLLING);
        assertThat(r.steps()).extracting(RolloutStep::previousCurrent)
                .containsExactly("releases/v1-hotfix", "releases/v2");
        assertThat(RolloutMessages.fromProto("ro-1", RolloutMessages.toProto(r)).steps())
                .extracting(RolloutStep::previousCurrent).as("stored").containsExactly("releases/v1-hotfix", "releases/v2");
        received.clear();

        run(RolloutPlanner.rollback(r, now), 2_000);

        assertThat(received).hasSize(2).allSatisfy(s -> {
            assertThat(s.release().switchCurrent()).isTrue();
            assertThat(s.currentTarget()).isEqualTo("releases/v1-hotfix");
        });
        assertThat(current).containsEntry("web-1", "releases/v1-hotfix");
    }

    @Test
    void storedStepsWithOnlyAVersion_readAsBefore_andNewOnesKeepTheDeclaredSpecDistinct() {
        host("web-1", 2);
        Rollout r = start(plan(1, "1", 0, true, false, false, 0));
        Rollout read = RolloutMessages.fromProto(r.rolloutId(), RolloutMessages.toProto(r));
        assertThat(read).isEqualTo(r);
        assertThat(stepOf(read, "web-1", 0).previous().declared()).isTrue();

        dev.fleetkeeper.proto.v1.Rollout.Builder old = RolloutMessages.toProto(r).toBuilder();
        old.getStepsBuilder(0).clearPreviousDeclared();
        old.getStepsBuilder(1).clearPreviousDeclared().setPrevious(dev.fleetkeeper.proto.v1.Release.newBuilder());
        Rollout before = RolloutMessages.fromProto(r.rolloutId(), old.build());
        assertThat(stepOf(before, "web-1", 0).previous()).as("a label over the declared spec, as its rollback sent then")
                .isEqualTo(PreviousRelease.of(Release.ofVersion("v1")));
        assertThat(stepOf(before, "web-1", 1).previous()).as("no label: only the declared spec had none")
                .isEqualTo(PreviousRelease.declared(""));
    }

    // ---------------------------------------------------------------- deadlines, pause, disconnects

    @Test
    void progressDeadline_failsARolloutThatStopsProgressing() {
        host("web-1", 2);
        // The canary's host keeps an instance down that is not ours: the floor holds the canary back.
        fleet.get("web-1")[1].running = false;
        Rollout r = run(start(plan(1, "1", 0, true, false, false, 0)), PROGRESS_DEADLINE - 2_000);
        assertThat(r.state()).isEqualTo(RolloutState.CANARY);
        assertThat(stepOf(r, "web-1", 0).message())
                .isEqualTo("waiting: web-1 has 1 of 2 instance(s) available, floor 1 (default: all but one)");
        r = run(r, 5_000);
        assertThat(r.state()).isEqualTo(RolloutState.FAILED);
        assertThat(r.message()).isEqualTo("no instance became healthy within the progress deadline of 120 s");
        assertThat(applied).isEmpty();
    }

    @Test
    void pause_startsNothingNew_resumeContinuesWhereItPaused() {
        host("web-1", 3);
        Rollout r = run(start(plan(1, "1", 0, true, false, false, 0)), MIN_HEALTHY + 2_000);
        r = step(r);
        assertThat(applied).hasSize(2);
        r = RolloutPlanner.pause(r, now);
        assertThat(r.state()).isEqualTo(RolloutState.PAUSED);
        assertThat(r.pausedFrom()).isEqualTo(RolloutState.ROLLING);
        r = run(r, PROGRESS_DEADLINE + 10_000);
        assertThat(r.state()).as("no deadline runs while paused").isEqualTo(RolloutState.PAUSED);
        assertThat(applied).as("the step in flight finished, nothing new started").hasSize(2);
        assertThat(r.count(RolloutStepState.HEALTHY)).isEqualTo(2);

        r = RolloutPlanner.resume(r, now);
        assertThat(r.state()).isEqualTo(RolloutState.ROLLING);
        assertThat(r.pausedFrom()).isNull();
        r = run(r, MIN_HEALTHY + 3_000);
        assertThat(r.state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(applied).hasSize(3);
    }

    @Test
    void operatorActions_inTheWrongState_areRefusedSayingWhen() {
        host("web-1", 2);
        Rollout r = start(plan(1, "1", 0, false, false, false, 0));
        assertThatThrownBy(() -> RolloutPlanner.promote(r, now)).isInstanceOf(RolloutRefusedException.class)
                .hasMessage("cannot promote rollout ro-1: it is PENDING (promote is possible only while AWAITING_PROMOTION)");
        assertThatThrownBy(() -> RolloutPlanner.resume(r, now)).isInstanceOf(RolloutRefusedException.class);
        Rollout aborted = RolloutPlanner.abort(r, now);
        assertThat(aborted.state()).isEqualTo(RolloutState.ABORTED);
        assertThat(aborted.steps()).allMatch(s -> s.state() == RolloutStepState.SKIPPED);
        assertThatThrownBy(() -> RolloutPlanner.rollback(aborted, now)).isInstanceOf(RolloutRefusedException.class);
        assertThat(RolloutPlanner.decide(aborted, hosts(), Set.of(), now).sends()).isEmpty();
    }

    @Test
    void operatorRollback_fromAwaitingPromotion_sendsTheCanaryBack() {
        host("web-1", 2);
        Rollout r = run(start(plan(1, "1", 0, false, false, false, 0)), MIN_HEALTHY + 2_000);
        assertThat(r.state()).isEqualTo(RolloutState.AWAITING_PROMOTION);
        r = step(step(RolloutPlanner.rollback(r, now)));
        assertThat(r.state()).isEqualTo(RolloutState.ROLLED_BACK);
        assertThat(applied).containsExactly("web-1#0=v2", "web-1#0=v1");
    }

    @Test
    void disconnectedHost_pastTheHealthyDeadline_failsTheRollout() {
        host("web-1", 2);
        Rollout r = step(start(plan(1, "1", 0, true, false, false, 0)));
        online.put("web-1", false);
        r = run(r, HEALTHY_DEADLINE - 2_000);
        assertThat(r.state()).isEqualTo(RolloutState.CANARY);
        assertThat(stepOf(r, "web-1", 0).message()).isEqualTo("waiting for web-1 to come back online");
        r = run(r, 5_000);
        assertThat(r.state()).isEqualTo(RolloutState.FAILED);
        assertThat(r.message()).isEqualTo("web-1 offline for more than 60 s mid-rollout");
    }

    @Test
    void disconnectedHost_withPauseOnDisconnect_pauses_andOnReconnectItsHealthyInstanceIsNotRestarted() {
        host("web-1", 2);
        Rollout r = step(start(plan(1, "1", 0, true, false, true, 0)));
        online.put("web-1", false);
        r = run(r, HEALTHY_DEADLINE + 2_000);
        assertThat(r.state()).isEqualTo(RolloutState.PAUSED);
        assertThat(r.message()).startsWith("paused: web-1 offline for more than 60 s mid-rollout");

        online.put("web-1", true);
        r = RolloutPlanner.resume(r, now);
        r = run(r, 3 * (MIN_HEALTHY + 3_000));
        assertThat(r.state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(applied).as("the canary was applied once").containsExactly("web-1#0=v2", "web-1#1=v2");
    }

    @Test
    void hostThatDisconnectsWithAStepInFlight_pausesTheRollout_andOnReconnectTheStepIsNotFailedForTheDeadline() {
        host("web-1", 2);
        // The canary is sent; the host goes away before answering.
        RolloutPlanner.Decision sent = RolloutPlanner.decide(start(plan(1, "1", 0, true, false, true, 0)), hosts(),
                Set.of(), now);
        String id = sent.sends().get(0).actionId();
        online.put("web-1", false);
        Rollout r = sent.rollout();
        for (long end = now + HEALTHY_DEADLINE + 2_000; now < end; now += 1_000) {
            r = RolloutPlanner.decide(r, hosts(), Set.of(), now).rollout();
        }
        assertThat(r.state()).isEqualTo(RolloutState.PAUSED);

        // Back online, still paused: the step is re-sent and waits, not failed for its deadline.
        online.put("web-1", true);
        now += 1_000;
        RolloutPlanner.Decision back = RolloutPlanner.decide(r, hosts(), Set.of(), now);
        assertThat(back.rollout().state()).isEqualTo(RolloutState.PAUSED);
        assertThat(stepOf(back.rollout(), "web-1", 0).state()).isEqualTo(RolloutStepState.SENT);
        assertThat(back.sends()).singleElement().matches(s -> s.actionId().equals(id));

        // Resumed: the step has its whole healthy deadline again; the agent had applied it.
        r = RolloutPlanner.resume(back.rollout(), now);
        assertThat(stepOf(r, "web-1", 0).sentAtMillis()).isEqualTo(now);
        now += 1_000;
        RolloutPlanner.Decision resent = RolloutPlanner.decide(r, hosts(), Set.of(), now);
        assertThat(resent.sends()).singleElement().matches(s -> s.actionId().equals(id));
        fleet.get("web-1")[0].version = "v2";
        fleet.get("web-1")[0].pid = nextPid++;
        r = RolloutPlanner.answered(resent.rollout(), id,
                new RolloutPlanner.Answer(RolloutPlanner.Answer.Kind.DUPLICATE, "", 0), now);
        r = run(r, 3 * (MIN_HEALTHY + 3_000));
        assertThat(r.state()).as(r.message()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(applied).as("only the other instance was sent anything more").containsExactly("web-1#1=v2");
    }

    @Test
    void sentStepWhoseAnswerIsNotAwaited_isResentWithTheSameActionId() {
        host("web-1", 2);
        RolloutPlanner.Decision first = RolloutPlanner.decide(start(plan(1, "1", 0, false, false, false, 0)), hosts(),
                Set.of(), now);
        String id = first.sends().get(0).actionId();
        now += 1_000;
        Set<String> awaiting = new HashSet<>(Set.of(id));
        assertThat(RolloutPlanner.decide(first.rollout(), hosts(), awaiting, now).sends()).isEmpty();
        RolloutPlanner.Decision again = RolloutPlanner.decide(first.rollout(), hosts(), Set.of(), now);
        assertThat(again.sends()).singleElement().matches(s -> s.actionId().equals(id));
        Rollout dup = RolloutPlanner.answered(again.rollout(), id,
                new RolloutPlanner.Answer(RolloutPlanner.Answer.Kind.DUPLICATE, "", 0), now);
        assertThat(stepOf(dup, "web-1", 0).state()).isEqualTo(RolloutStepState.VERIFYING);
    }

    @Test
    void refusedRelease_failsTheStep() {
        host("web-1", 2);
        RolloutPlanner.Decision d = RolloutPlanner.decide(start(plan(1, "1", 0, false, false, false, 0)), hosts(),
                Set.of(), now);
        Rollout r = RolloutPlanner.answered(d.rollout(), d.sends().get(0).actionId(),
                new RolloutPlanner.Answer(RolloutPlanner.Answer.Kind.FAILED, "releases/v2 does not exist", 0), now);
        assertThat(stepOf(r, "web-1", 0).state()).isEqualTo(RolloutStepState.FAILED);
        assertThat(r.failures()).isEqualTo(1);
        assertThat(RolloutPlanner.decide(r, hosts(), Set.of(), now).rollout().state()).isEqualTo(RolloutState.FAILED);
    }
}
