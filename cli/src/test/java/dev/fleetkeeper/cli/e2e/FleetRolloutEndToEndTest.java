package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.telemetry.ProcLookup;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.proto.v1.InstanceView;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fleetkeeper rollout} through the real CLI, a real controller and three real agents in
 * this JVM, each running its own pool of two real Python workers under the built-in driver on
 * ports of their own: a clean rollout gated on an HTTP probe moves every instance to the new
 * version exactly once; a canary that crashes at start-up is reverted by its agent and no other
 * instance is touched; a canary that starts but fails its probe is rolled back to its declared
 * spec, environment included, and no other instance is touched; a paused rollout starts nothing
 * new until it is resumed.
 */
@Timeout(240)
class FleetRolloutEndToEndTest {

    /** The project's own /proc reader, for what the started processes' environments hold. */
    private static final ProcLookup PROC_LOOKUP = new ProcLookup(Path.of("/proc"));

    private static final String PYTHON = "/usr/bin/python3";
    private static final int POOL = 2;
    private static final List<String> HOSTS = List.of("ro-a", "ro-b", "ro-c");

    @TempDir
    Path dir;

    private MiniFleet fleet;
    private final String service = "worker-" + UUID.randomUUID().toString().substring(0, 8);

    @AfterEach
    void stop() {
        if (fleet != null) {
            fleet.close();
        }
    }

    /**
     * HTTP workers that listen on {@code base + instance} (a port each) and answer GET /healthz
     * with 200, or 503 when their release sets WORKER_UNHEALTHY=1 (it cannot reach its
     * database); they exit at once when it sets WORKER_FAIL=1 (a broken build).
     */
    private ServiceDeclaration pool(int base) {
        return ServiceDeclaration.valid(ServiceSpec.builder(service, DriverKind.BUILTIN)
                .command(PYTHON, "-c", "import http.server, os, sys\n"
                        + "if os.environ.get('WORKER_FAIL') == '1':\n    sys.exit(3)\n"
                        + "code = 503 if os.environ.get('WORKER_UNHEALTHY') == '1' else 200\n"
                        + "class H(http.server.BaseHTTPRequestHandler):\n"
                        + "    def do_GET(self):\n"
                        + "        self.send_response(code if self.path == '/healthz' else 404); self.end_headers()\n"
                        + "    def log_message(self, *a):\n        pass\n"
                        + "port = " + base + " + int(os.environ['FLEETKEEPER_INSTANCE'])\n"
                        + "http.server.HTTPServer(('127.0.0.1', port), H).serve_forever()")
                .instances(POOL)
                .ports(List.of(base), 1)
                .version("1")
                .stopTimeout(Duration.ofSeconds(3))
                .startTimeout(Duration.ofSeconds(10))
                .build());
    }

    private void startFleet() throws Exception {
        fleet = MiniFleet.start(dir, Duration.ofSeconds(5));
        for (String host : HOSTS) {
            fleet.startAgent(host, Map.of("role", "worker"), List.of(pool(MiniFleet.freePorts(POOL))));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            Map<String, Map<Integer, InstanceView>> now = instances();
            return now.size() == HOSTS.size() && now.values().stream().allMatch(
                    is -> is.size() == POOL && is.values().stream().allMatch(i -> i.getBoundPortsCount() == 1));
        });
    }

    private Map<String, Map<Integer, InstanceView>> instances() throws Exception {
        return FleetQueries.runningInstances(fleet.target(), service);
    }

    private Rollout status(String id) throws Exception {
        return FleetQueries.rollout(fleet.target(), id);
    }

    private static String rolloutId(String out) {
        return FleetQueries.rolloutId(out);
    }


    private static int pid(Map<String, Map<Integer, InstanceView>> all, String host, int i) {
        return all.get(host).get(i).getManagerPid();
    }

    @Test
    void cleanRollout_movesEveryInstanceToTheNewVersionOnce_canaryFirst() throws Exception {
        startFleet();
        Map<String, Map<Integer, InstanceView>> before = instances();

        CliRun.Result r = CliRun.run(fleet.target(), "rollout", "start", service, "--version", "2",
                "--selector", "role=worker", "--canary", "1", "--batch", "2", "--min-healthy", "2s", "--auto-promote",
                "--probe", "http:/healthz");

        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        Rollout done = status(rolloutId(r.out()));
        assertThat(done.getState()).isEqualTo(RolloutState.ROLLOUT_STATE_SUCCEEDED);
        assertThat(done.getStepsList()).hasSize(HOSTS.size() * POOL)
                .allSatisfy(s -> assertThat(s.getState()).isEqualTo(RolloutStepState.ROLLOUT_STEP_STATE_HEALTHY))
                .allSatisfy(s -> assertThat(s.getGatesList()).filteredOn(g -> g.getGate().equals("probe"))
                        .singleElement().satisfies(g -> assertThat(g.getDetail())
                                .startsWith("http:/healthz: HTTP 200 from :").endsWith("/healthz")));
        assertThat(done.getSteps(0).getCanary()).isTrue();
        long canaryHealthy = done.getSteps(0).getFinishedAtUnixMs();
        assertThat(done.getStepsList().subList(1, done.getStepsCount()))
                .as("nothing else was sent before the canary was healthy")
                .allSatisfy(s -> assertThat(s.getSentAtUnixMs()).isGreaterThanOrEqualTo(canaryHealthy));

        Map<String, Map<Integer, InstanceView>> after = instances();
        for (String host : HOSTS) {
            for (int i = 0; i < POOL; i++) {
                InstanceView now = after.get(host).get(i);
                assertThat(now.getVersion()).as("%s#%d", host, i).isEqualTo("2");
                assertThat(now.getManagerPid()).as("%s#%d restarted", host, i).isNotEqualTo(pid(before, host, i));
                assertThat(now.getRestarts()).as("%s#%d restarted exactly once", host, i)
                        .isEqualTo(before.get(host).get(i).getRestarts() + 1);
            }
        }
    }

    @Test
    void canaryThatCrashesAtStartUp_isRolledBack_andNoOtherInstanceIsTouched() throws Exception {
        startFleet();
        Map<String, Map<Integer, InstanceView>> before = instances();

        CliRun.Result r = CliRun.run(fleet.target(), "rollout", "start", service, "--version", "2-broken",
                "--env", "WORKER_FAIL=1", "--canary", "1", "--min-healthy", "2s", "--healthy-deadline", "20s",
                "--auto-promote", "--auto-rollback");

        assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(1);
        Rollout end = status(rolloutId(r.out()));
        assertThat(end.getState()).isEqualTo(RolloutState.ROLLOUT_STATE_ROLLED_BACK);
        assertThat(end.getSteps(0).getCanary()).isTrue();
        assertThat(end.getSteps(0).getPreviousDeclared()).isTrue();
        assertThat(end.getStepsList().subList(1, end.getStepsCount())).allSatisfy(s -> {
            assertThat(s.getActionId()).as("never sent").isEmpty();
            assertThat(s.getState()).isIn(RolloutStepState.ROLLOUT_STEP_STATE_PENDING,
                    RolloutStepState.ROLLOUT_STEP_STATE_SKIPPED);
        });

        String canaryHost = end.getSteps(0).getHostId();
        int canaryIndex = end.getSteps(0).getInstance();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            Map<String, Map<Integer, InstanceView>> after = instances();
            assertThat(after.getOrDefault(canaryHost, Map.of())).as("the canary runs again").containsKey(canaryIndex);
            assertThat(after.get(canaryHost).get(canaryIndex).getVersion()).as("the canary is back on 1").isEqualTo("1");
            assertThat(after.get(canaryHost).get(canaryIndex).hasRelease())
                    .as("back on its declared spec: no release left, not a release labelled 1").isFalse();
            for (String host : HOSTS) {
                for (int i = 0; i < POOL; i++) {
                    if (host.equals(canaryHost) && i == canaryIndex) {
                        continue;
                    }
                    assertThat(after.getOrDefault(host, Map.of())).containsKey(i);
                    assertThat(pid(after, host, i)).as("%s#%d untouched", host, i).isEqualTo(pid(before, host, i));
                }
            }
        });
    }

    @Test
    void canaryThatStartsButFailsItsProbe_isRolledBackToItsDeclaredSpec_andNoOtherInstanceIsTouched()
            throws Exception {
        startFleet();
        Map<String, Map<Integer, InstanceView>> before = instances();

        CliRun.Result r = CliRun.run(fleet.target(), "rollout", "start", service, "--version", "2-nodb",
                "--env", "WORKER_UNHEALTHY=1", "--probe", "http:/healthz", "--canary", "1", "--min-healthy", "2s",
                "--healthy-deadline", "8s", "--auto-promote", "--auto-rollback");

        assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.out()).contains("probe: http:/healthz: HTTP 503 from :");
        Rollout end = status(rolloutId(r.out()));
        assertThat(end.getState()).isEqualTo(RolloutState.ROLLOUT_STATE_ROLLED_BACK);
        assertThat(end.getMessage()).contains("not healthy within 8 s: probe: http:/healthz: HTTP 503");
        assertThat(end.getStepsList().subList(1, end.getStepsCount()))
                .allSatisfy(s -> assertThat(s.getActionId()).as("never sent").isEmpty());
        RolloutStep canary = end.getSteps(0);
        assertThat(canary.getState()).isEqualTo(RolloutStepState.ROLLOUT_STEP_STATE_ROLLED_BACK);
        assertThat(canary.getPreviousDeclared()).isTrue();
        assertThat(canary.getMessage()).isEqualTo("back on 1 (declared spec)");

        String canaryHost = canary.getHostId();
        int canaryIndex = canary.getInstance();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            Map<String, Map<Integer, InstanceView>> after = instances();
            InstanceView now = after.getOrDefault(canaryHost, Map.of()).get(canaryIndex);
            assertThat(now).as("the canary runs again").isNotNull();
            assertThat(now.getVersion()).as("the canary is back on 1").isEqualTo("1");
            assertThat(now.hasRelease()).as("no release left, not a release labelled 1").isFalse();
            assertThat(PROC_LOOKUP.environ(now.getManagerPid())).doesNotContainKey("WORKER_UNHEALTHY")
                    .containsEntry("FLEETKEEPER_VERSION", "1");
            for (String host : HOSTS) {
                for (int i = 0; i < POOL; i++) {
                    if (!(host.equals(canaryHost) && i == canaryIndex)) {
                        assertThat(pid(after, host, i)).as("%s#%d untouched", host, i).isEqualTo(pid(before, host, i));
                    }
                }
            }
        });
    }

    @Test
    void pausedRollout_startsNothingNew_untilResumed() throws Exception {
        startFleet();

        CliRun.Background run = CliRun.start(fleet.target(), "rollout", "start", service, "--version", "3",
                "--canary", "1", "--batch", "1", "--min-healthy", "3s");
        String id = rolloutId(await().atMost(Duration.ofSeconds(30))
                .until(() -> run.out().toString(), out -> out.contains("rollout ro-")));
        CliRun.Result paused = CliRun.run(fleet.target(), "rollout", "pause", id);
        assertThat(paused.exitCode()).as(paused.err()).isZero();
        assertThat(paused.out()).contains("PAUSED");
        assertThat(run.exitCode().get(30, java.util.concurrent.TimeUnit.SECONDS)).as("watch stops at PAUSED").isZero();

        Rollout held = status(id);
        Thread.sleep(4_000); // longer than min healthy: an unpaused rollout would have moved on
        Rollout still = status(id);
        assertThat(still.getState()).isEqualTo(RolloutState.ROLLOUT_STATE_PAUSED);
        assertThat(still.getStepsList().stream().filter(s -> !s.getActionId().isEmpty()).count())
                .as("no new instance sent while paused")
                .isEqualTo(held.getStepsList().stream().filter(s -> !s.getActionId().isEmpty()).count());

        assertThat(CliRun.run(fleet.target(), "rollout", "resume", id).exitCode()).isZero();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            RolloutState s = status(id).getState();
            return s == RolloutState.ROLLOUT_STATE_AWAITING_PROMOTION || s == RolloutState.ROLLOUT_STATE_ROLLING;
        });
        assertThat(CliRun.run(fleet.target(), "rollout", "promote", id).exitCode()).isZero();
        await().atMost(Duration.ofSeconds(120)).until(() -> status(id).getState() == RolloutState.ROLLOUT_STATE_SUCCEEDED);
    }
}
