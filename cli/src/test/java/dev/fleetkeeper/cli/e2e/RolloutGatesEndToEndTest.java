package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.util.JsonFormat;
import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.MemorySpec;
import dev.fleetkeeper.agent.service.ServiceSpec.RemedyPolicy;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.GateResult;
import dev.fleetkeeper.proto.v1.InstanceView;
import dev.fleetkeeper.proto.v1.ListEventsResponse;
import dev.fleetkeeper.proto.v1.MemoryBaseline;
import dev.fleetkeeper.proto.v1.Rollout;
import dev.fleetkeeper.proto.v1.RolloutState;
import dev.fleetkeeper.proto.v1.RolloutStep;
import dev.fleetkeeper.proto.v1.RolloutStepState;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rollout gates that need more than a process that is up, through the real CLI, a real
 * controller and real agents in this JVM running real Python workers under the built-in
 * driver (issue 5 §6): a canary whose startup memory baseline regressed fails its
 * {@code memory} gate and is rolled back without touching any other instance; a canary whose
 * port an orphan of the service still holds (incident 1) is started anyway, because the
 * agent's pre-flight stops the orphan first ({@code remedies: auto}) and says so.
 */
@Timeout(240)
class RolloutGatesEndToEndTest {

    private static final String PYTHON = "/usr/bin/python3";
    private static final int POOL = 2;
    private static final List<String> HOSTS = List.of("gt-a", "gt-b", "gt-c");
    private static final long MIB = 1L << 20;
    /** What version 1 allocates at start, and what the regressed version 2 does. */
    private static final int SMALL_MIB = 8;
    private static final int BIG_MIB = 160;
    /**
     * How long a flat series settles a baseline. The agents here sample every 500 ms, and a
     * settle window must start within a fifth of it of its first sample: 3 s always does.
     */
    private static final Duration SETTLE = Duration.ofSeconds(3);

    @TempDir
    Path dir;

    private MiniFleet fleet;
    private final String service = "gates-" + UUID.randomUUID().toString().substring(0, 8);
    private final Map<String, Integer> bases = new HashMap<>();
    /** Where the orphan of the port test writes its pid. */
    private Path orphanPidFile;

    @AfterEach
    void stop() throws IOException {
        if (fleet != null) {
            fleet.close();
        }
        if (orphanPidFile != null && Files.exists(orphanPidFile)) {
            long pid = Long.parseLong(Files.readString(orphanPidFile).trim());
            ProcessHandle.of(pid).filter(p -> environ(pid).contains("FLEETKEEPER_SERVICE=" + service + "\0"))
                    .ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    /**
     * Workers that allocate (and touch) WORKER_MIB MiB at start, then listen on
     * {@code base + instance} and idle: a flat memory series that settles within
     * {@link #SETTLE}. With WORKER_ORPHAN_PIDFILE set, instance 0's first start leaves a
     * grandchild in a session of its own that inherits the listening socket and outlives its
     * parent (re-parented to PID 1 at once): incident 1's orphan, carrying the service's
     * environment markers.
     */
    private ServiceDeclaration pool(int base, Map<String, String> env, RemedyPolicy remedies) {
        return ServiceDeclaration.valid(ServiceSpec.builder(service, DriverKind.BUILTIN)
                .command(PYTHON, "-c", String.join("\n",
                        "import os, socket, time",
                        "b = bytearray(b'\\x01') * (int(os.environ.get('WORKER_MIB', '0')) * 1024 * 1024)",
                        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
                        "s.bind(('127.0.0.1', " + base + " + int(os.environ['FLEETKEEPER_INSTANCE']))); s.listen(8)",
                        "orphan = os.environ.get('WORKER_ORPHAN_PIDFILE', '')",
                        "if orphan and os.environ['FLEETKEEPER_INSTANCE'] == '0' and not os.path.exists(orphan):",
                        "    if os.fork() == 0:",
                        "        os.setsid()",
                        "        if os.fork() == 0:",
                        "            time.sleep(0.3)",
                        "            open(orphan + '.tmp', 'w').write(str(os.getpid()))",
                        "            os.rename(orphan + '.tmp', orphan)",
                        "            while True: time.sleep(1)",
                        "        os._exit(0)",
                        "    os.wait()",
                        "while True: time.sleep(1)",
                        ""))
                .instances(POOL)
                .ports(List.of(base), 1)
                .env(env)
                .version("1")
                .memory(new MemorySpec(0, Duration.ofSeconds(20), Duration.ZERO, 3, Duration.ZERO, Duration.ZERO, 0,
                        null, SETTLE, 0.2))
                .remedies(remedies)
                .stopTimeout(Duration.ofSeconds(3))
                .startTimeout(Duration.ofSeconds(10))
                .build());
    }

    private static int freeBase() throws Exception {
        return MiniFleet.freePorts(POOL);
    }

    /** Starts the fleet; {@code firstHostEnv} is declared on the first host only (where the canary runs). */
    private void startFleet(Map<String, String> firstHostEnv, RemedyPolicy remedies) throws Exception {
        fleet = MiniFleet.start(dir, Duration.ofSeconds(5));
        for (String host : HOSTS) {
            Map<String, String> env = new HashMap<>(Map.of("WORKER_MIB", Integer.toString(SMALL_MIB)));
            if (host.equals(HOSTS.get(0))) {
                env.putAll(firstHostEnv);
            }
            int base = freeBase();
            bases.put(host, base);
            fleet.startAgent(host, Map.of("role", "gated"), List.of(pool(base, env, remedies)));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            Map<String, Map<Integer, InstanceView>> now = instances();
            return now.size() == HOSTS.size() && now.values().stream().allMatch(
                    is -> is.size() == POOL && is.values().stream().allMatch(i -> i.getBoundPortsCount() == 1));
        });
    }

    /** The service as each host reports it, by host id. */
    private Map<String, ServiceStatus> statuses() throws Exception {
        return FleetQueries.serviceStatuses(fleet.target(), service);
    }

    /** Running instances by host and index, from {@code fleetkeeper services --json}. */
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

    private static String environ(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/environ")));
        } catch (IOException e) {
            return "";
        }
    }

    /** Alive and not a zombie (a zombie holds no port). */
    private static boolean isRunning(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }

    private static int ppid(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
    }

    private static boolean holdsPort(long pid, int port) throws IOException {
        // A listening socket of the pid on the port: its inode in /proc/net/tcp, its fd in /proc/PID/fd.
        String hex = String.format(":%04X ", port);
        java.util.Set<String> inodes = new java.util.HashSet<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            for (String line : Files.readAllLines(Path.of(table))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 9 && f[1].endsWith(hex.trim()) && f[3].equals("0A")) {
                    inodes.add(f[9]);
                }
            }
        }
        try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return fds.anyMatch(fd -> {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    return target.startsWith("socket:[") && inodes.contains(target.substring(8, target.length() - 1));
                } catch (IOException e) {
                    return false;
                }
            });
        }
    }

    @Test
    void canaryWhoseMemoryBaselineRegressed_failsTheMemoryGate_isRolledBack_andNoOtherInstanceIsTouched()
            throws Exception {
        startFleet(Map.of(), RemedyPolicy.REFUSE);
        // Version 1's baseline settled on every host: the one a new release is compared with.
        await().atMost(Duration.ofSeconds(40)).untilAsserted(() -> {
            Map<String, ServiceStatus> now = statuses();
            assertThat(now).as("%s", now).hasSize(HOSTS.size()).allSatisfy((host, s) -> assertThat(
                    s.getBaselinesList()).as("%s", s).anyMatch(b -> b.getVersion().equals("1")));
        });
        Map<String, Map<Integer, InstanceView>> before = instances();

        CliRun.Result r = CliRun.run(fleet.target(), "rollout", "start", service, "--version", "2",
                "--env", "WORKER_MIB=" + BIG_MIB, "--canary", "1", "--min-healthy", "30s",
                "--healthy-deadline", "60s", "--auto-promote", "--auto-rollback");

        assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(1);
        Rollout end = status(rolloutId(r.out()));
        assertThat(end.getState()).as(end.getMessage()).isEqualTo(RolloutState.ROLLOUT_STATE_ROLLED_BACK);
        assertThat(end.getMessage()).contains("memory");
        RolloutStep canary = end.getSteps(0);
        assertThat(canary.getCanary()).isTrue();
        assertThat(canary.getApplied()).as("the agent moved the canary to 2").isTrue();
        assertThat(canary.getRollbackActionId()).as("and was sent back").isNotEmpty();
        assertThat(canary.getState()).isEqualTo(RolloutStepState.ROLLOUT_STEP_STATE_ROLLED_BACK);
        assertThat(canary.getFinishedAtUnixMs() - canary.getSentAtUnixMs())
                .as("failed on its memory gate, not after min healthy").isLessThan(30_000);
        assertThat(canary.getGatesList()).filteredOn(g -> g.getGate().equals("memory")).singleElement()
                .satisfies(g -> {
                    assertThat(g.getOk()).isFalse();
                    assertThat(g.getDetail()).contains("version 2").contains("above version 1");
                });
        assertThat(canary.getGatesList()).filteredOn(g -> !g.getGate().equals("memory"))
                .as("the canary was otherwise fine").allMatch(GateResult::getOk);
        assertThat(end.getStepsList().subList(1, end.getStepsCount())).allSatisfy(s -> {
            assertThat(s.getActionId()).as("never sent").isEmpty();
            assertThat(s.getState()).isIn(RolloutStepState.ROLLOUT_STEP_STATE_PENDING,
                    RolloutStepState.ROLLOUT_STEP_STATE_SKIPPED);
        });

        String canaryHost = canary.getHostId();
        int canaryIndex = canary.getInstance();
        // The canary host measured version 2 well above version 1.
        Map<String, Long> baselines = new HashMap<>();
        for (MemoryBaseline b : statuses().get(canaryHost).getBaselinesList()) {
            baselines.putIfAbsent(b.getVersion(), b.getRssBytes());
        }
        assertThat(baselines).containsKeys("1", "2");
        assertThat(baselines.get("2") - baselines.get("1")).isGreaterThan((BIG_MIB - SMALL_MIB) * MIB / 2);

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            Map<String, Map<Integer, InstanceView>> after = instances();
            assertThat(after.getOrDefault(canaryHost, Map.of())).as("the canary runs again").containsKey(canaryIndex);
            InstanceView back = after.get(canaryHost).get(canaryIndex);
            assertThat(back.getVersion()).as("the canary is back on 1").isEqualTo("1");
            assertThat(back.getManagerPid()).as("a new process").isNotEqualTo(pid(before, canaryHost, canaryIndex));
            assertThat(back.getManagerPid()).isNotEqualTo(canary.getNewPid());
            for (String host : HOSTS) {
                for (int i = 0; i < POOL; i++) {
                    if (host.equals(canaryHost) && i == canaryIndex) {
                        continue;
                    }
                    assertThat(after.getOrDefault(host, Map.of())).containsKey(i);
                    assertThat(pid(after, host, i)).as("%s#%d untouched", host, i).isEqualTo(pid(before, host, i));
                    assertThat(after.get(host).get(i).getVersion()).isEqualTo("1");
                }
            }
        });
    }

    @Test
    void canaryWhosePortAnOrphanHolds_succeeds_afterPreFlightStopsTheOrphan() throws Exception {
        orphanPidFile = dir.resolve("orphan.pid");
        startFleet(Map.of("WORKER_ORPHAN_PIDFILE", orphanPidFile.toString()), RemedyPolicy.AUTO);
        String canaryHost = HOSTS.get(0);
        int port = bases.get(canaryHost);
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(orphanPidFile));
        long orphan = Long.parseLong(Files.readString(orphanPidFile).trim());
        Map<String, Map<Integer, InstanceView>> before = instances();
        int oldPid = pid(before, canaryHost, 0);
        // Incident 1's orphan: the service's, outside the instance's process tree, on its port.
        await().atMost(Duration.ofSeconds(10)).until(() -> ppid(orphan) == 1);
        assertThat(environ(orphan)).contains("FLEETKEEPER_SERVICE=" + service + "\0")
                .contains("FLEETKEEPER_INSTANCE=0\0");
        assertThat(ProcessHandle.of(oldPid).orElseThrow().descendants().mapToLong(ProcessHandle::pid))
                .doesNotContain(orphan);
        assertThat(holdsPort(orphan, port)).as("the orphan holds port %d", port).isTrue();
        assertThat(holdsPort(oldPid, port)).isTrue();

        CliRun.Result r = CliRun.run(fleet.target(), "rollout", "start", service, "--version", "2",
                "--canary", "1", "--batch", "100%", "--min-healthy", "2s", "--healthy-deadline", "30s",
                "--auto-promote", "--auto-rollback");

        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        Rollout done = status(rolloutId(r.out()));
        assertThat(done.getState()).as(done.getMessage()).isEqualTo(RolloutState.ROLLOUT_STATE_SUCCEEDED);
        RolloutStep canary = done.getSteps(0);
        assertThat(canary.getCanary()).isTrue();
        assertThat(canary.getHostId()).isEqualTo(canaryHost);
        assertThat(canary.getInstance()).isZero();
        assertThat(canary.getState()).isEqualTo(RolloutStepState.ROLLOUT_STEP_STATE_HEALTHY);
        assertThat(done.getStepsList()).allSatisfy(
                s -> assertThat(s.getState()).isEqualTo(RolloutStepState.ROLLOUT_STEP_STATE_HEALTHY));

        assertThat(isRunning(orphan)).as("the orphan was stopped").isFalse();
        InstanceView now = instances().get(canaryHost).get(0);
        assertThat(now.getVersion()).isEqualTo("2");
        assertThat(now.getManagerPid()).isNotEqualTo(oldPid).isEqualTo(canary.getNewPid());
        assertThat(now.getBoundPortsList()).containsExactly(port);
        assertThat(holdsPort(now.getManagerPid(), port)).as("the new canary holds its port").isTrue();

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            CliRun.Result ev = CliRun.run(fleet.target(), "events", "--type", "remedy-applied", "--host", canaryHost,
                    "--json");
            assertThat(ev.exitCode()).as(ev.err()).isZero();
            ListEventsResponse.Builder b = ListEventsResponse.newBuilder();
            JsonFormat.parser().ignoringUnknownFields().merge(ev.out(), b);
            assertThat(b.getEventsList()).filteredOn(e -> service.equals(e.getAttributesMap().get("service")))
                    .singleElement().satisfies((Event e) -> {
                        assertThat(e.getAttributesMap()).containsEntry("code", "PORT_HELD")
                                .containsEntry("succeeded", "true").containsEntry("instance", "0");
                        assertThat(e.getMessage()).contains(Long.toString(orphan));
                    });
        });
    }
}
