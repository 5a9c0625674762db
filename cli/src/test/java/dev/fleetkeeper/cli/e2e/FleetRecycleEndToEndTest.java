package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.util.JsonFormat;
import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.proto.v1.RecycleJob;
import dev.fleetkeeper.proto.v1.RecycleStep;
import dev.fleetkeeper.proto.v1.RecycleStepState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fleetkeeper recycle} through the real CLI, a real controller and two real agents, each
 * running a pool of three real Python workers under the built-in driver: every instance is
 * recycled exactly once (new pids), never more than K at once, never below a host's floor, a
 * host outside the selector is left alone, and a controller restart in the middle resumes the
 * job without recycling any instance twice.
 */
@Timeout(180)
class FleetRecycleEndToEndTest {

    private static final String PYTHON = "/usr/bin/python3";
    private static final int POOL = 3;

    @TempDir
    Path dir;

    private MiniFleet fleet;

    @AfterEach
    void stop() {
        if (fleet != null) {
            fleet.close();
        }
    }

    /** Workers that finish their job in flight for {@code drainSeconds} after SIGTERM. */
    private static List<ServiceDeclaration> workers(double drainSeconds) {
        return List.of(ServiceDeclaration.valid(ServiceSpec.builder("worker", DriverKind.BUILTIN)
                .command(PYTHON, "-c", "import signal, sys, time\n"
                        + "def drain(*_):\n    time.sleep(" + drainSeconds + ")\n    sys.exit(0)\n"
                        + "signal.signal(signal.SIGTERM, drain)\n"
                        + "while True: time.sleep(1)")
                .instances(POOL)
                .stopTimeout(Duration.ofSeconds(3))
                .build()));
    }

    private void startFleet(double drainSeconds) {
        fleet = MiniFleet.start(dir, Duration.ofSeconds(5));
        fleet.startAgent("rc-a", Map.of("role", "worker"), workers(drainSeconds));
        fleet.startAgent("rc-b", Map.of("role", "worker"), workers(drainSeconds));
        fleet.startAgent("rc-other", Map.of("role", "batch"), workers(drainSeconds));
        await().atMost(Duration.ofSeconds(40)).until(() -> {
            Map<String, Map<Integer, Integer>> now = running();
            return now.size() == 3 && now.values().stream().allMatch(pids -> pids.size() == POOL);
        });
    }

    /** Running instances' pids by host, from {@code fleetkeeper services --json}. */
    private Map<String, Map<Integer, Integer>> running() throws Exception {
        return FleetQueries.runningPids(fleet.target());
    }

    private RecycleJob status(String jobId) throws Exception {
        CliRun.Result r = CliRun.run(fleet.target(), "recycle", "--status", jobId, "--json");
        RecycleJob.Builder b = RecycleJob.newBuilder();
        JsonFormat.parser().merge(r.out(), b);
        return b.build();
    }

    /** How many times the agent of {@code host} reported instance {@code i} RECYCLED. */
    private int recycledEvents(String host, int i) {
        CliRun.Result r = CliRun.run(fleet.target(), "events", "--host", host, "--type", "service-instance", "-n", "1000");
        Matcher m = Pattern.compile("worker#" + i + ": recycled \\(pid").matcher(r.out());
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    private static String jobId(String out) {
        Matcher m = Pattern.compile("recycle (rc-[0-9a-f]+-[0-9a-f]+):").matcher(out);
        assertThat(m.find()).as(out).isTrue();
        return m.group(1);
    }

    /** Most steps whose [sent, finished] intervals overlap at one moment, of {@code steps}. */
    private static int maxOverlap(List<RecycleStep> steps) {
        int max = 0;
        for (RecycleStep s : steps) {
            long t = s.getSentAtUnixMs();
            int n = 0;
            for (RecycleStep o : steps) {
                if (o.getSentAtUnixMs() <= t && t < o.getFinishedAtUnixMs()) {
                    n++;
                }
            }
            max = Math.max(max, n);
        }
        return max;
    }

    @Test
    void recycle_replacesEveryMatchingInstanceOnce_atMostKAtOnce_neverBelowTheFloor() throws Exception {
        startFleet(0);
        Map<String, Map<Integer, Integer>> before = running();
        // Watch capacity from outside while the job runs: each pool must keep 2 of 3 running.
        Map<String, Integer> lowest = new ConcurrentHashMap<>();
        AtomicBoolean watching = new AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
            while (watching.get()) {
                try {
                    running().forEach((h, pids) -> lowest.merge(h, pids.size(), Math::min));
                } catch (Exception e) {
                    // The next sample counts.
                }
            }
        });
        sampler.start();
        CliRun.Result r;
        try {
            r = CliRun.run(fleet.target(), "recycle", "worker", "--selector", "role=worker", "--max-parallel", "2",
                    "--reason", "memory creep");
        } finally {
            watching.set(false);
            sampler.join(10_000);
        }
        System.out.println(r.out());
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("6 instance(s) on 2 host(s), at most 2 at once, floor all but one per host")
                .contains("Ctrl-C detaches").contains("[6/6]").contains("SUCCEEDED: recycled 6 instance(s) of worker");

        RecycleJob job = status(jobId(r.out()));
        assertThat(job.getStepsList()).hasSize(6).allSatisfy(s -> {
            assertThat(s.getState()).isEqualTo(RecycleStepState.RECYCLE_STEP_STATE_DONE);
            assertThat(s.getOldPid()).isEqualTo(before.get(s.getHostId()).get(s.getInstance()));
            assertThat(s.getNewPid()).isNotEqualTo(s.getOldPid());
        });
        assertThat(maxOverlap(job.getStepsList())).as("never more than --max-parallel at once").isLessThanOrEqualTo(2);
        for (String host : List.of("rc-a", "rc-b")) {
            List<RecycleStep> onHost = job.getStepsList().stream().filter(s -> s.getHostId().equals(host)).toList();
            assertThat(maxOverlap(onHost)).as("floor 2 of 3 on %s: one at a time", host).isEqualTo(1);
            assertThat(lowest.get(host)).as("instances running on %s, at the lowest", host).isGreaterThanOrEqualTo(2);
            for (int i = 0; i < POOL; i++) {
                assertThat(recycledEvents(host, i)).as("%s worker#%d recycled once", host, i).isEqualTo(1);
            }
        }
        Map<String, Map<Integer, Integer>> after = running();
        for (String host : List.of("rc-a", "rc-b")) {
            for (int i = 0; i < POOL; i++) {
                assertThat(after.get(host).get(i)).as("%s worker#%d has a new pid", host, i)
                        .isNotEqualTo(before.get(host).get(i));
            }
        }
        assertThat(after.get("rc-other")).as("outside the selector: untouched").isEqualTo(before.get("rc-other"));

        CliRun.Result list = CliRun.run(fleet.target(), "recycle", "--list");
        assertThat(list.out()).contains(job.getJobId()).contains("SUCCEEDED");
        CliRun.Result events = CliRun.run(fleet.target(), "events", "--type", "recycle", "-n", "100");
        assertThat(events.out()).contains("recycle " + job.getJobId() + " of worker started")
                .contains("recycle " + job.getJobId() + " of worker succeeded");
    }

    @Test
    void aControllerRestartInTheMiddle_resumesTheJobToTheEnd_withoutRecyclingAnInstanceTwice() throws Exception {
        // Each stop takes 2 s, so the third instance's action is still unanswered when the
        // controller goes away just after the second is done.
        startFleet(2);
        Map<String, Map<Integer, Integer>> before = running();
        CliRun.Background cli = CliRun.start(fleet.target(), "recycle", "worker", "--selector", "role=worker");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                .until(() -> cli.out().toString().contains("[2/6]"));
        fleet.restartController();
        int exit = cli.exitCode().get(120, TimeUnit.SECONDS);
        String out = cli.out().toString();
        System.out.println(out);
        assertThat(exit).as(out + cli.err()).isZero();
        assertThat(out).contains("watching again").contains("[6/6]").contains("SUCCEEDED");

        RecycleJob job = status(jobId(out));
        assertThat(job.getStepsList()).allSatisfy(s ->
                assertThat(s.getState()).isEqualTo(RecycleStepState.RECYCLE_STEP_STATE_DONE));
        assertThat(maxOverlap(job.getStepsList())).isEqualTo(1);
        List<String> twice = new ArrayList<>();
        for (String host : List.of("rc-a", "rc-b")) {
            for (int i = 0; i < POOL; i++) {
                int n = recycledEvents(host, i);
                if (n != 1) {
                    twice.add(host + " worker#" + i + " recycled " + n + " times");
                }
            }
        }
        assertThat(twice).isEmpty();
        // The step in flight at the restart was sent again with the same action id (the agent
        // applies an id once: the instance was not recycled twice, as counted above).
        String agentEvents = CliRun.run(fleet.target(), "events", "--type", "agent", "-n", "1000").out();
        Map<String, Integer> sends = new HashMap<>();
        Matcher m = Pattern.compile("action (\\S+-" + job.getJobId() + "-\\d+) sent: recycle").matcher(agentEvents);
        while (m.find()) {
            sends.merge(m.group(1), 1, Integer::sum);
        }
        assertThat(sends).hasSize(6);
        assertThat(sends.values()).as("sends per action id").contains(2);
        Map<String, Map<Integer, Integer>> after = running();
        for (String host : List.of("rc-a", "rc-b")) {
            for (int i = 0; i < POOL; i++) {
                assertThat(after.get(host).get(i)).isNotEqualTo(before.get(host).get(i));
            }
        }
    }
}
