package dev.fleetkeeper.controller.recycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetkeeper.controller.coordination.IllegalTransitionException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pure recycle decisions: budget, floors, offline hosts, selector, resends, deadlines. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
final class RecyclePlannerTest {

    private static final long T0 = 1_700_000_000_000L;
    private static final long TIMEOUT = 60_000;

    /** A fake fleet: hosts with pools of instances whose pids change when recycled. */
    private final Map<String, HostObservation> hosts = new LinkedHashMap<>();
    private final Map<String, int[]> pids = new HashMap<>();
    private final Map<String, boolean[]> up = new HashMap<>();
    private final Map<String, Map<String, String>> labels = new HashMap<>();
    private final Map<String, Boolean> online = new HashMap<>();
    private int nextPid = 1000;

    private void host(String id, int declared, Map<String, String> hostLabels) {
        int[] p = new int[declared];
        boolean[] u = new boolean[declared];
        for (int i = 0; i < declared; i++) {
            p[i] = nextPid++;
            u[i] = true;
        }
        pids.put(id, p);
        up.put(id, u);
        labels.put(id, hostLabels);
        online.put(id, true);
        refresh();
    }

    private void refresh() {
        hosts.clear();
        for (String id : pids.keySet().stream().sorted().toList()) {
            List<HostObservation.Instance> list = new ArrayList<>();
            for (int i = 0; i < pids.get(id).length; i++) {
                list.add(new HostObservation.Instance(i, up.get(id)[i] ? pids.get(id)[i] : 0, up.get(id)[i],
                        up.get(id)[i] ? "RUNNING" : "STOPPED"));
            }
            hosts.put(id, new HostObservation(id, id, labels.get(id), online.get(id), T0, pids.get(id).length, list));
        }
    }

    private static RecycleRequest request(int k, String min) {
        return new RecycleRequest("worker", Map.of(), k, min, TIMEOUT, "");
    }

    private RecycleJob plan(RecycleRequest r) {
        return RecyclePlanner.plan("rc-test", r, hosts.values(), T0);
    }

    /** The agent recycles {@code step}: the instance goes down and comes back with a new pid. */
    private RecycleJob recycle(RecycleJob job, RecycleStep step, long now) {
        int old = pids.get(step.hostId())[step.instance()];
        pids.get(step.hostId())[step.instance()] = nextPid++;
        refresh();
        return RecyclePlanner.answered(job, step.actionId(), new RecyclePlanner.Answer(
                RecyclePlanner.Answer.Kind.SUCCEEDED, "ok", old, pids.get(step.hostId())[step.instance()]), now);
    }

    private static long inFlight(RecycleJob job) {
        return job.steps().stream().filter(s -> s.state().isInFlight()).count();
    }

    private static long inFlight(RecycleJob job, String host) {
        return job.steps().stream().filter(s -> s.hostId().equals(host) && s.state().isInFlight()).count();
    }

    @Test
    void maxParallel_boundsInstancesInFlightAcrossTheFleet_andEveryInstanceIsRecycledOnce() {
        host("a", 3, Map.of());
        host("b", 3, Map.of());
        host("c", 3, Map.of());
        RecycleJob job = plan(request(2, ""));
        assertThat(job.steps()).hasSize(9);
        Map<String, Integer> recycledTimes = new HashMap<>();
        long now = T0;
        for (int round = 0; round < 50 && !job.state().isTerminal(); round++) {
            now += 100;
            RecyclePlanner.Decision d = RecyclePlanner.decide(job, hosts, Set.of(), now);
            job = d.job();
            assertThat(inFlight(job)).isLessThanOrEqualTo(2);
            for (String h : List.of("a", "b", "c")) {
                assertThat(inFlight(job, h)).as("default floor declared-1: one at a time on %s", h).isLessThanOrEqualTo(1);
            }
            for (RecyclePlanner.Send s : d.sends()) {
                job = recycle(job, s.step(), now);
                recycledTimes.merge(s.step().hostId() + "#" + s.step().instance(), 1, Integer::sum);
            }
        }
        assertThat(job.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(recycledTimes).hasSize(9).allSatisfy((k, v) -> assertThat(v).as(k).isEqualTo(1));
        assertThat(job.steps()).allSatisfy(s -> assertThat(s.newPid()).isNotEqualTo(s.oldPid()).isPositive());
    }

    @Test
    void firstDecision_startsOnePerHostUpToK_spreadingOverHosts() {
        host("a", 3, Map.of());
        host("b", 3, Map.of());
        RecyclePlanner.Decision d = RecyclePlanner.decide(plan(request(5, "")), hosts, Set.of(), T0);
        assertThat(d.job().state()).isEqualTo(JobState.RUNNING);
        assertThat(d.sends()).extracting(s -> s.step().hostId() + "#" + s.step().instance())
                .containsExactly("a#0", "b#0");
    }

    @Test
    void minAvailableAsNumber_allowsTwoAtOnceOnAHostOfFourWithFloorTwo() {
        host("a", 4, Map.of());
        RecyclePlanner.Decision d = RecyclePlanner.decide(plan(request(10, "2")), hosts, Set.of(), T0);
        assertThat(d.sends()).hasSize(2);
        assertThat(d.job().steps()).allSatisfy(s -> assertThat(s.minAvailable()).isEqualTo(2));
    }

    @Test
    void minAvailableAsPercentage_roundsUp() {
        host("a", 3, Map.of());
        RecycleJob job = plan(request(10, "50%"));
        assertThat(job.steps()).allSatisfy(s -> assertThat(s.minAvailable()).isEqualTo(2));
        assertThat(RecyclePlanner.decide(job, hosts, Set.of(), T0).sends()).hasSize(1);
        assertThat(MinAvailable.parse("34%").floorFor(3)).isEqualTo(2);
        assertThat(MinAvailable.parse("").floorFor(1)).isZero();
        assertThatThrownBy(() -> MinAvailable.parse("lots")).hasMessageContaining("50%");
    }

    @Test
    void aFloorNoRecycleCanKeep_failsTheHostsStepsAtOnce_withWhatToChange() {
        host("a", 2, Map.of());
        RecyclePlanner.Decision d = RecyclePlanner.decide(plan(request(1, "2")), hosts, Set.of(), T0);
        assertThat(d.sends()).isEmpty();
        assertThat(d.job().state()).isEqualTo(JobState.FAILED);
        assertThat(d.job().steps().get(0).message()).contains("floor 2 of 2").contains("--min-available");
    }

    @Test
    void anInstanceAlreadyDown_isRecycledFirstAtNoCostToTheFloor_andTheNextOnItsHostWaits() {
        host("a", 3, Map.of());
        host("b", 3, Map.of());
        up.get("a")[1] = false; // crashed: a has 2 of 3, floor 2
        refresh();
        RecyclePlanner.Decision d = RecyclePlanner.decide(plan(request(2, "")), hosts, Set.of(), T0);
        // a#1 is down: recycling it costs nothing and starts; b#0 starts too.
        assertThat(d.sends()).extracting(s -> s.step().hostId() + "#" + s.step().instance()).containsExactly("a#1", "b#0");
        up.get("a")[1] = true;
        up.get("a")[0] = false;
        refresh();
        RecycleJob job = RecyclePlanner.decide(plan(request(2, "")), hosts, Set.of(), T0).job();
        RecycleStep a0 = job.steps().get(0);
        RecycleStep a1 = job.steps().get(1);
        assertThat(a0.state()).isEqualTo(StepState.SENT);
        assertThat(a1.state()).as("a#0 down and in flight; a#1 waits for it").isEqualTo(StepState.PENDING);
    }

    @Test
    void anOfflineHost_holdsItsStepsUpToTheTimeout_thenTheyFail_andTheOtherHostFinishes() {
        host("a", 1, Map.of());
        host("b", 1, Map.of());
        RecycleJob job = plan(request(2, ""));
        online.put("a", false);
        refresh();
        RecyclePlanner.Decision d = RecyclePlanner.decide(job, hosts, Set.of(), T0);
        assertThat(d.sends()).extracting(s -> s.step().hostId()).containsExactly("b");
        job = recycle(d.job(), d.sends().get(0).step(), T0);
        job = RecyclePlanner.decide(job, hosts, Set.of(), T0 + 1000).job();
        assertThat(job.steps().get(0).message()).contains("waiting for a to come back online");
        assertThat(job.steps().get(1).state()).isEqualTo(StepState.DONE);
        assertThat(job.state()).isEqualTo(JobState.RUNNING);

        job = RecyclePlanner.decide(job, hosts, Set.of(), T0 + TIMEOUT + 1).job();
        assertThat(job.steps().get(0).state()).isEqualTo(StepState.FAILED);
        assertThat(job.steps().get(0).message()).contains("a offline for more than 60 s");
        assertThat(job.state()).isEqualTo(JobState.FAILED);
        assertThat(job.message()).contains("1 of 2 instance(s) failed, 1 recycled");
    }

    @Test
    void selector_choosesOnlyMatchingHosts_andNoMatchIsRefusedWithTheReportingHosts() {
        host("a", 2, Map.of("role", "worker"));
        host("b", 2, Map.of("role", "web"));
        RecycleJob job = RecyclePlanner.plan("rc-1", new RecycleRequest("worker", Map.of("role", "worker"), 1, "", 0,
                ""), hosts.values(), T0);
        assertThat(job.steps()).extracting(RecycleStep::hostId).containsOnly("a");
        assertThatThrownBy(() -> RecyclePlanner.plan("rc-2", new RecycleRequest("worker", Map.of("role", "db"), 1, "",
                0, ""), hosts.values(), T0))
                .isInstanceOf(RecycleRefusedException.class)
                .hasMessageContaining("role=db").hasMessageContaining("hosts reporting it: a, b");
    }

    @Test
    void aSentStepNotAwaited_isResentWithTheSameId_andADuplicateWaitsForTheNewPid() {
        host("a", 2, Map.of());
        RecyclePlanner.Decision first = RecyclePlanner.decide(plan(request(1, "")), hosts, Set.of(), T0);
        RecycleStep sent = first.sends().get(0).step();
        // Still awaited: nothing is sent again.
        assertThat(RecyclePlanner.decide(first.job(), hosts, Set.of(sent.actionId()), T0 + 10).sends()).isEmpty();
        // After a controller restart nothing is awaited: the same id goes out again.
        RecyclePlanner.Decision again = RecyclePlanner.decide(first.job(), hosts, Set.of(), T0 + 10);
        assertThat(again.sends()).extracting(s -> s.step().actionId()).containsExactly(sent.actionId());
        RecycleJob job = RecyclePlanner.answered(again.job(), sent.actionId(), new RecyclePlanner.Answer(
                RecyclePlanner.Answer.Kind.DUPLICATE, "applied before", 0, 0), T0 + 20);
        assertThat(job.steps().get(0).state()).isEqualTo(StepState.SETTLING);
        // The report still shows the old pid: not done.
        assertThat(RecyclePlanner.decide(job, hosts, Set.of(), T0 + 30).job().steps().get(0).state())
                .isEqualTo(StepState.SETTLING);
        pids.get("a")[0] = 4242;
        refresh();
        RecyclePlanner.Decision d = RecyclePlanner.decide(job, hosts, Set.of(), T0 + 40);
        assertThat(d.job().steps().get(0).state()).isEqualTo(StepState.DONE);
        assertThat(d.job().steps().get(0).newPid()).isEqualTo(4242);
        assertThat(d.sends()).extracting(s -> s.step().instance()).containsExactly(1);
    }

    @Test
    void anAgentFailure_failsTheStep_andIllegalTransitionsThrow() {
        host("a", 2, Map.of());
        RecyclePlanner.Decision d = RecyclePlanner.decide(plan(request(1, "")), hosts, Set.of(), T0);
        RecycleJob job = RecyclePlanner.answered(d.job(), d.sends().get(0).step().actionId(), new RecyclePlanner.Answer(
                RecyclePlanner.Answer.Kind.FAILED, "pre-flight refused the start: port 3000 held", 0, 0), T0 + 5);
        assertThat(job.steps().get(0).state()).isEqualTo(StepState.FAILED);
        assertThat(job.steps().get(0).message()).contains("port 3000 held");
        assertThatThrownBy(() -> StepState.DONE.to(StepState.SENT)).isInstanceOf(IllegalTransitionException.class);
        assertThatThrownBy(() -> JobState.SUCCEEDED.to(JobState.RUNNING)).isInstanceOf(IllegalTransitionException.class);
    }

    @Test
    void abort_failsStepsNotStarted_andEndsTheJob() {
        host("a", 3, Map.of());
        RecycleJob job = RecyclePlanner.decide(plan(request(1, "")), hosts, Set.of(), T0).job();
        RecycleJob aborted = RecyclePlanner.abort(job, T0 + 1);
        assertThat(aborted.state()).isEqualTo(JobState.ABORTED);
        assertThat(aborted.steps()).extracting(RecycleStep::state)
                .containsExactly(StepState.SENT, StepState.FAILED, StepState.FAILED);
        assertThat(RecyclePlanner.decide(aborted, hosts, Set.of(), T0 + 2).sends()).isEmpty();
    }
}
