package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.proto.v1.Rollout;
import dev.fleetkeeper.proto.v1.RolloutState;
import dev.fleetkeeper.proto.v1.RolloutStep;
import dev.fleetkeeper.proto.v1.RolloutStepState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fleetkeeper rollout} through the real CLI, a real controller and two real agents, each
 * running a pool of two real Python workers: the request's validation, list and status, and a
 * canary whose release the agent refuses (a {@code current} switch for a service without a
 * deploy root) failing the rollout, or rolling it back, without touching any instance.
 * {@link FleetRolloutEndToEndTest} covers rollouts that apply releases.
 */
@Timeout(180)
class RolloutEndToEndTest {

    private static final String PYTHON = "/usr/bin/python3";
    private static final int POOL = 2;

    @TempDir
    Path dir;

    private final String service = "worker-" + UUID.randomUUID().toString().substring(0, 8);
    private MiniFleet fleet;

    @BeforeEach
    void startFleet() {
        fleet = MiniFleet.start(dir, Duration.ofSeconds(5));
        List<ServiceDeclaration> workers = List.of(ServiceDeclaration.valid(ServiceSpec.builder(service,
                        DriverKind.BUILTIN)
                .command(PYTHON, "-c", "import time\nwhile True: time.sleep(1)")
                .instances(POOL)
                .version("v1")
                .stopTimeout(Duration.ofSeconds(3))
                .build()));
        fleet.startAgent("ro-a", Map.of("role", "worker"), workers);
        fleet.startAgent("ro-b", Map.of("role", "worker"), workers);
        await().atMost(Duration.ofSeconds(40)).until(() -> {
            Map<String, Map<Integer, Integer>> now = running();
            return now.size() == 2 && now.values().stream().allMatch(pids -> pids.size() == POOL);
        });
    }

    @AfterEach
    void stop() {
        if (fleet != null) {
            fleet.close();
        }
    }

    @Test
    void invalidRequests_failWithOneLineSayingWhatIsExpected() {
        CliRun.Result noVersion = CliRun.run(fleet.target(), "rollout", "start", service);
        assertThat(noVersion.exitCode()).isEqualTo(2);
        assertThat(noVersion.err()).contains("--version");

        CliRun.Result deadlines = CliRun.run(fleet.target(), "rollout", "start", service, "--version", "v2",
                "--min-healthy", "10m", "--healthy-deadline", "5m");
        assertThat(deadlines.exitCode()).as(deadlines.err()).isEqualTo(2);
        assertThat(deadlines.errLines()).hasSize(1);
        assertThat(deadlines.err()).contains("rejected").contains("healthy_deadline_ms");

        CliRun.Result tooManyCanaries = CliRun.run(fleet.target(), "rollout", "start", service, "--version", "v2",
                "--canary", "9");
        assertThat(tooManyCanaries.exitCode()).as(tooManyCanaries.err()).isEqualTo(2);
        assertThat(tooManyCanaries.errLines()).hasSize(1);
        assertThat(tooManyCanaries.err()).contains("canary: 9").contains("only 4 instance(s)");

        CliRun.Result unknown = CliRun.run(fleet.target(), "rollout", "start", service + "-nope", "--version", "v2");
        assertThat(unknown.exitCode()).as(unknown.err()).isEqualTo(1);
        assertThat(unknown.errLines()).hasSize(1);
        assertThat(unknown.err()).contains("no online host").contains(service + "-nope");

        CliRun.Result missing = CliRun.run(fleet.target(), "rollout", "status", "ro-000000000000-0000");
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.errLines()).hasSize(1);
        assertThat(missing.err()).contains("no rollout 'ro-000000000000-0000'");

        assertThat(CliRun.run(fleet.target(), "rollout", "list", service).out()).contains("No rollouts");
    }

    @Test
    void aCanaryTheAgentRejects_failsTheRollout_andNoInstanceIsTouched() throws Exception {
        Map<String, Map<Integer, Integer>> before = running();

        // The service declares no deploy root, so the agent refuses to switch its 'current'.
        CliRun.Result r = CliRun.run(fleet.target(), "rollout", "start", service, "--version", "v2", "--switch-current");
        System.out.println(r.out() + r.err());
        assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(1);
        String id = rolloutId(r.out());
        assertThat(r.out()).contains(service + " -> v2, 4 instance(s) on 2 host(s), canary 1")
                .contains("FAILED").contains("declares no deploy root");

        Rollout failed = status(id);
        assertThat(failed.getState()).isEqualTo(RolloutState.ROLLOUT_STATE_FAILED);
        RolloutStep canary = failed.getSteps(0);
        assertThat(canary.getCanary()).isTrue();
        assertThat(canary.getState()).isEqualTo(RolloutStepState.ROLLOUT_STEP_STATE_FAILED);
        assertThat(canary.getActionId()).isNotEmpty();
        assertThat(canary.getMessage()).contains("rejected").contains("declare 'releases: /srv/app'");
        assertThat(failed.getStepsList().subList(1, 4)).allSatisfy(s ->
                assertThat(s.getState()).isEqualTo(RolloutStepState.ROLLOUT_STEP_STATE_SKIPPED));
        assertThat(running()).as("no instance restarted").isEqualTo(before);

        CliRun.Result list = CliRun.run(fleet.target(), "rollout", "list", service);
        assertThat(list.exitCode()).isZero();
        assertThat(list.out()).contains(id).contains("FAILED");
        CliRun.Result text = CliRun.run(fleet.target(), "rollout", "status", id);
        assertThat(text.exitCode()).isEqualTo(1);
        assertThat(text.out()).contains(id).contains(service + "#0").contains("failed");
        CliRun.Result events = CliRun.run(fleet.target(), "events", "--type", "rollout", "-n", "100");
        assertThat(events.out()).contains("rollout " + id + " of " + service + " to v2 started")
                .contains("rollout " + id + " of " + service + " to v2 failed");

        // FAILED is over: a new rollout of the service is accepted; with --auto-rollback it ends
        // ROLLED_BACK at once: the agent refused the canary's release, so it never left its own and
        // there is nothing to send back.
        CliRun.Result back = CliRun.run(fleet.target(), "rollout", "start", service, "--version", "v2",
                "--switch-current", "--auto-rollback");
        System.out.println(back.out() + back.err());
        assertThat(back.exitCode()).as(back.out() + back.err()).isEqualTo(1);
        Rollout rolledBack = status(rolloutId(back.out()));
        assertThat(rolledBack.getState()).isEqualTo(RolloutState.ROLLOUT_STATE_ROLLED_BACK);
        assertThat(rolledBack.getSteps(0).getApplied()).isFalse();
        assertThat(rolledBack.getSteps(0).getRollbackActionId()).as("nothing to undo").isEmpty();
        assertThat(rolledBack.getStepsList().subList(1, 4)).allSatisfy(s ->
                assertThat(s.getState()).isEqualTo(RolloutStepState.ROLLOUT_STEP_STATE_SKIPPED));
        assertThat(running()).as("no instance restarted").isEqualTo(before);

        CliRun.Result rollbackAgain = CliRun.run(fleet.target(), "rollout", "rollback", rolledBack.getRolloutId());
        assertThat(rollbackAgain.exitCode()).isEqualTo(1);
        assertThat(rollbackAgain.err()).contains("cannot roll back").contains("ROLLED_BACK");
    }

    /** Running instances' pids by host, from {@code fleetkeeper services --json}. */
    private Map<String, Map<Integer, Integer>> running() throws Exception {
        return FleetQueries.runningPids(fleet.target());
    }

    private Rollout status(String id) throws Exception {
        return FleetQueries.rollout(fleet.target(), id);
    }

    private static String rolloutId(String out) {
        return FleetQueries.rolloutId(out);
    }
}
