package dev.fleetkeeper.agent.service.builtin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.agent.service.DriverException;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.PreStartCheck;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.BackoffSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.CrashLoopSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.LogSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.RestartPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built-in driver against real child processes and real files. Every service name carries
 * this run's prefix, and after each test every process whose environment carries it is killed,
 * so that a failing test leaves nothing behind.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BuiltinDriverTest {

    private static final Path PROC = Path.of("/proc");
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String PREFIX = "bt" + UUID.randomUUID().toString().substring(0, 8) + "-";

    @TempDir
    Path tmp;

    private final ProcFs proc = new ProcFs(PROC);
    private final List<ServiceEvent> events = new CopyOnWriteArrayList<>();
    private final List<BuiltinDriver> drivers = new ArrayList<>();
    private final List<Process> foreign = new ArrayList<>();
    private final AtomicReference<String> refusal = new AtomicReference<>();
    private Path stateDir;
    private BuiltinDriver driver;

    @BeforeEach
    void setUp() {
        stateDir = tmp.resolve("state");
        driver = newDriver();
    }

    @AfterEach
    void tearDown() {
        for (BuiltinDriver d : drivers) {
            d.close();
        }
        for (int pid : ourPids()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        for (Process p : foreign) {
            p.destroyForcibly();
        }
    }

    private BuiltinDriver newDriver() {
        PreStartCheck check = (spec, instance) -> refusal.get();
        BuiltinDriver d = new BuiltinDriver(stateDir, PROC, InstantSource.system(), check, events::add, null,
                Duration.ofMillis(100));
        drivers.add(d);
        return d;
    }

    private static ServiceSpec.Builder service(String name, String script) {
        return ServiceSpec.builder(PREFIX + name, DriverKind.BUILTIN)
                .command("sh", "-c", script)
                .restart(RestartPolicy.NEVER)
                .stopTimeout(Duration.ofSeconds(3));
    }

    // ------------------------------------------------------------------ start and stop

    @Test
    void start_runsTheInstanceAsLeaderOfItsOwnSession_withTheMarkers_thenRunningAfterOneSecond() {
        ServiceSpec spec = service("web", "exec sleep 1000").version("v7").env(Map.of("PORT", "3000")).build();
        driver.apply(spec);

        driver.start(spec, 0);

        InstanceStatus st = driver.status(spec).get(0);
        assertThat(st.state()).isEqualTo(ManagerState.STARTING);
        int pid = st.pid();
        ProcFs.Stat stat = proc.stat(pid);
        assertThat(stat.pgrp()).isEqualTo(pid);
        assertThat(stat.session()).isEqualTo(pid);
        Map<String, String> env = proc.environ(pid);
        assertThat(env).containsEntry("FLEETKEEPER_SERVICE", spec.name()).containsEntry("FLEETKEEPER_INSTANCE", "0")
                .containsEntry("FLEETKEEPER_VERSION", "v7").containsEntry("PORT", "3000");
        assertThat(driver.isMember(spec, env)).isTrue();
        assertThat(driver.isMember(spec, Map.of("FLEETKEEPER_SERVICE", "other"))).isFalse();
        assertThat(kinds()).containsExactly(ServiceEvent.Kind.STARTED);

        await().atMost(WAIT).until(() -> driver.status(spec).get(0).state() == ManagerState.RUNNING);

        driver.start(spec, 0);
        assertThat(driver.status(spec).get(0).pid()).as("start of a running instance is a no-op").isEqualTo(pid);
        assertThat(ourPids()).containsExactly(pid);
    }

    @Test
    void stop_sendsTheStopSignal_andWaitsUntilTheInstanceIsGone() {
        ServiceSpec spec = service("web", "exec sleep 1000").build();
        driver.apply(spec);
        driver.start(spec, 0);
        int pid = driver.status(spec).get(0).pid();

        driver.stop(spec, 0);

        assertThat(alive(pid)).isFalse();
        InstanceStatus st = driver.status(spec).get(0);
        assertThat(st.state()).isEqualTo(ManagerState.STOPPED);
        assertThat(st.pid()).isZero();
        assertThat(st.exitSignal()).isEqualTo("TERM");
        assertThat(event(ServiceEvent.Kind.STOPPED).attributes()).containsEntry("how", "signal");
        assertThat(Files.exists(stateDir.resolve("services").resolve(spec.name()).resolve("0")))
                .as("the record of a stopped instance is deleted").isFalse();
    }

    @Test
    void stop_killsTheWholeProcessGroup_includingAGrandchild() throws IOException {
        Path childPid = tmp.resolve("child.pid");
        ServiceSpec spec = service("worker", "sleep 1000 & echo $! > " + childPid + "; wait").build();
        driver.apply(spec);
        driver.start(spec, 0);
        int leader = driver.status(spec).get(0).pid();
        await().atMost(WAIT).until(() -> Files.exists(childPid) && Files.size(childPid) > 0);
        int grandchild = Integer.parseInt(Files.readString(childPid).trim());
        assertThat(alive(grandchild)).isTrue();

        driver.stop(spec, 0);

        assertThat(alive(leader)).isFalse();
        assertThat(alive(grandchild)).as("grandchild %d", grandchild).isFalse();
    }

    @Test
    void stop_sendsSigkillToTheGroup_whenTheStopSignalIsIgnoredPastTheTimeout() {
        ServiceSpec spec = service("stubborn", "trap '' TERM; while :; do sleep 0.05; done")
                .stopTimeout(Duration.ofMillis(500)).build();
        driver.apply(spec);
        driver.start(spec, 0);
        int pid = driver.status(spec).get(0).pid();

        driver.stop(spec, 0);

        assertThat(alive(pid)).isFalse();
        assertThat(ourPids()).isEmpty();
        assertThat(driver.status(spec).get(0).exitSignal()).isEqualTo("KILL");
        assertThat(event(ServiceEvent.Kind.STOPPED).attributes()).containsEntry("how", "kill");
    }

    // ------------------------------------------------------------------ exits and restarts

    @Test
    void exit_reportsTheExitCode_orTheSignal_ofTheLastRun() {
        ServiceSpec exits = service("exits", "exit 3").build();
        ServiceSpec killed = service("killed", "kill -KILL $$").build();
        driver.apply(exits);
        driver.apply(killed);

        driver.start(exits, 0);
        driver.start(killed, 0);

        await().atMost(WAIT).until(() -> driver.status(exits).get(0).state() == ManagerState.EXITED
                && driver.status(killed).get(0).state() == ManagerState.EXITED);
        InstanceStatus e = driver.status(exits).get(0);
        assertThat(e.exitCode()).isEqualTo(3);
        assertThat(e.exitSignal()).isEmpty();
        InstanceStatus k = driver.status(killed).get(0);
        assertThat(k.exitCode()).isEqualTo(-1);
        assertThat(k.exitSignal()).isEqualTo("KILL");
        assertThat(events).filteredOn(ev -> ev.kind() == ServiceEvent.Kind.EXITED)
                .extracting(ServiceEvent::attributes)
                .anySatisfy(a -> assertThat(a).containsEntry("exit_code", "3"))
                .anySatisfy(a -> assertThat(a).containsEntry("signal", "KILL"));
    }

    @Test
    void crash_restartsWithDoublingBackoff_thenCrashLoopIsFatal_untilAnExplicitStart() {
        ServiceSpec spec = service("crasher", "exit 1")
                .restart(RestartPolicy.ALWAYS)
                .backoff(new BackoffSpec(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMinutes(5)))
                .crashLoop(new CrashLoopSpec(3, Duration.ofMinutes(1)))
                .build();
        driver.apply(spec);

        driver.start(spec, 0);

        await().atMost(WAIT).until(() -> driver.status(spec).get(0).state() == ManagerState.FATAL);
        assertThat(events).filteredOn(e -> e.kind() == ServiceEvent.Kind.RESTART_SCHEDULED)
                .extracting(e -> e.attributes().get("delay_ms")).containsExactly("100", "200", "200");
        assertThat(count(ServiceEvent.Kind.STARTED)).isEqualTo(4);
        assertThat(event(ServiceEvent.Kind.CRASH_LOOP).attributes()).containsEntry("restarts", "3");
        InstanceStatus st = driver.status(spec).get(0);
        assertThat(st.restarts()).isEqualTo(3);
        assertThat(st.detail()).contains("crash loop");

        driver.start(spec, 0);

        await().atMost(WAIT).until(() -> count(ServiceEvent.Kind.CRASH_LOOP) == 2);
        assertThat(count(ServiceEvent.Kind.STARTED)).as("an explicit start clears the crash loop").isEqualTo(8);
    }

    @Test
    void crash_stopsWhatTheCrashedRunLeftInItsGroup_beforeTheRestart() throws IOException {
        Path pids = tmp.resolve("pids");
        ServiceSpec spec = service("orphaner", "sleep 1000 & echo $! >> " + pids + "; sleep 0.2; exit 1")
                .restart(RestartPolicy.ALWAYS)
                .backoff(new BackoffSpec(Duration.ofMillis(100), Duration.ofMillis(100), Duration.ofMinutes(5)))
                .build();
        driver.apply(spec);

        driver.start(spec, 0);

        await().atMost(WAIT).until(() -> Files.exists(pids) && Files.readAllLines(pids).size() >= 2);
        int orphan = Integer.parseInt(Files.readAllLines(pids).get(0).trim());
        assertThat(alive(orphan)).as("the first run's orphaned worker %d", orphan).isFalse();
        driver.stop(spec, 0);
    }

    @Test
    void preStartCheck_refusesAnExplicitStart_andAnAutomaticRestart() {
        ServiceSpec spec = service("guarded", "sleep 0.3; exit 1").restart(RestartPolicy.ALWAYS)
                .backoff(new BackoffSpec(Duration.ofMillis(100), Duration.ofMillis(100), Duration.ofMinutes(5)))
                .build();
        driver.apply(spec);
        refusal.set("port 3000 is held by pid 1");

        assertThatThrownBy(() -> driver.start(spec, 0)).isInstanceOf(DriverException.class)
                .hasMessageContaining(spec.name()).hasMessageContaining("port 3000 is held by pid 1");

        InstanceStatus st = driver.status(spec).get(0);
        assertThat(st.state()).isEqualTo(ManagerState.FATAL);
        assertThat(st.detail()).contains("port 3000 is held by pid 1");
        assertThat(kinds()).containsExactly(ServiceEvent.Kind.START_REFUSED);
        assertThat(ourPids()).isEmpty();

        refusal.set(null);
        driver.start(spec, 0);
        refusal.set("disk full");
        await().atMost(WAIT).until(() -> count(ServiceEvent.Kind.START_REFUSED) == 2);
        assertThat(driver.status(spec).get(0).state()).isEqualTo(ManagerState.FATAL);
        assertThat(driver.status(spec).get(0).detail()).contains("disk full");
        assertThat(count(ServiceEvent.Kind.STARTED)).isEqualTo(1);
    }

    // ------------------------------------------------------------------ users

    @Test
    void user_thatDoesNotExist_failsTheStartNamingTheServiceAndTheFix() {
        ServiceSpec spec = service("ghost", "exec sleep 1000").user("no-such-user-fk").build();
        driver.apply(spec);

        assertThatThrownBy(() -> driver.start(spec, 0)).isInstanceOf(DriverException.class)
                .hasMessageContaining(spec.name()).hasMessageContaining("no-such-user-fk")
                .hasMessageContaining("useradd");
        assertThat(driver.status(spec).get(0).state()).isEqualTo(ManagerState.FATAL);
        assertThat(kinds()).containsExactly(ServiceEvent.Kind.START_FAILED);
    }

    @Test
    void user_isSwitchedTo_whenTheAgentIsRoot() throws IOException {
        Assumptions.assumeTrue(proc.selfEffectiveUid() == 0, "needs root");
        Assumptions.assumeTrue(Account.lookup("nobody") != null, "needs user nobody");
        ServiceSpec spec = service("unprivileged", "exec sleep 1000").user("nobody").build();
        driver.apply(spec);

        driver.start(spec, 0);

        int pid = driver.status(spec).get(0).pid();
        // setpriv changes the uid just before it execs the command: wait for the exec.
        await().atMost(WAIT).until(() -> Files.readString(PROC.resolve(pid + "/comm")).trim().equals("sleep"));
        String uidLine = Files.readAllLines(PROC.resolve(pid + "/status")).stream()
                .filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow();
        assertThat(uidLine.split("\\s+")).contains(Integer.toString(Account.lookup("nobody").uid()))
                .doesNotContain("0");
        assertThat(proc.environ(pid)).containsEntry("USER", "nobody");
        driver.stop(spec, 0);
    }

    // ------------------------------------------------------------------ logs

    @Test
    void output_goesToARotatedFile_keepingTheConfiguredNumber_andTailReadsItsLastLines() {
        Path logs = tmp.resolve("logs");
        // About 5 KB per burst, above the 4096-byte limit each time; stderr last.
        String script = "for b in 1 2 3 4 5 6; do i=0; while [ $i -lt 100 ]; do "
                + "echo \"burst $b line $i padding padding padding\"; i=$((i+1)); done; sleep 0.3; done; "
                + "echo 'last words' >&2; exec sleep 1000";
        ServiceSpec spec = service("chatty", script).logs(new LogSpec(logs, 4096, 2)).build();
        driver.apply(spec);

        driver.start(spec, 0);

        OutputLog out = new OutputLog(logs, spec.name(), 0);
        await().atMost(WAIT).until(() -> driver.tail(spec, 0, 1).equals(List.of("last words")));
        await().atMost(WAIT).until(() -> Files.exists(out.rotated(2)));
        assertThat(out.rotated(3)).as("keep = 2").doesNotExist();
        List<String> tail = driver.tail(spec, 0, 3);
        assertThat(tail).containsExactly("burst 6 line 98 padding padding padding",
                "burst 6 line 99 padding padding padding", "last words");
        driver.stop(spec, 0);
    }

    // ------------------------------------------------------------------ agent restart

    @Test
    void agentRestart_leavesTheInstanceRunning_andASecondDriverAdoptsItInsteadOfStartingADuplicate() {
        ServiceSpec spec = service("adoptee", "while :; do echo tick; sleep 0.1; done")
                .restart(RestartPolicy.ALWAYS).build();
        driver.apply(spec);
        driver.start(spec, 0);
        int pid = driver.status(spec).get(0).pid();

        driver.close();

        assertThat(alive(pid)).as("close() leaves instances running").isTrue();
        events.clear();
        BuiltinDriver second = newDriver();
        second.apply(spec);
        second.start(spec, 0);

        assertThat(kinds()).containsExactly(ServiceEvent.Kind.ADOPTED);
        assertThat(event(ServiceEvent.Kind.ADOPTED).attributes()).containsEntry("pid", Integer.toString(pid));
        InstanceStatus st = second.status(spec).get(0);
        assertThat(st.state()).isEqualTo(ManagerState.RUNNING);
        assertThat(st.pid()).isEqualTo(pid);
        assertThat(ourPids()).as("no duplicate").allMatch(p -> p == pid || proc.stat(p) == null
                || proc.stat(p).pgrp() == pid);
        // It still writes its own output: nothing went through the closed driver.
        List<String> before = second.tail(spec, 0, 1000);
        await().atMost(WAIT).until(() -> second.tail(spec, 0, 1000).size() > before.size());

        second.stop(spec, 0);
        assertThat(alive(pid)).isFalse();
        assertThat(event(ServiceEvent.Kind.STOPPED).attributes()).containsEntry("pid", Integer.toString(pid));
    }

    @Test
    void adoptedInstance_thatDies_isSeenInProc_withAnUnknownStatus_andRestarted() {
        ServiceSpec spec = service("adoptee", "exec sleep 1000").restart(RestartPolicy.ON_FAILURE)
                .backoff(new BackoffSpec(Duration.ofMillis(100), Duration.ofMillis(100), Duration.ofMinutes(5)))
                .build();
        driver.apply(spec);
        driver.start(spec, 0);
        int pid = driver.status(spec).get(0).pid();
        driver.close();
        BuiltinDriver second = newDriver();
        second.apply(spec);
        events.clear();

        ProcessHandle.of(pid).orElseThrow().destroyForcibly();

        await().atMost(WAIT).until(() -> count(ServiceEvent.Kind.STARTED) == 1);
        ServiceEvent exited = event(ServiceEvent.Kind.EXITED);
        assertThat(exited.attributes()).containsEntry("pid", Integer.toString(pid))
                .doesNotContainKeys("exit_code", "signal");
        assertThat(second.status(spec).get(0).pid()).isNotEqualTo(pid).isPositive();
        second.stop(spec, 0);
    }

    @Test
    void aProcessTheDriverDidNotStart_survivesEverything_evenWithARecordNamingItsPid() throws IOException {
        Process other = new ProcessBuilder("setsid", "sleep", "1000").start();
        foreign.add(other);
        int pid = (int) other.pid();
        await().atMost(WAIT).until(() -> proc.stat(pid) != null && proc.stat(pid).pgrp() == pid);
        long ticks = proc.stat(pid).startTicks();
        ServiceSpec spec = service("impostor", "exec sleep 1000").instances(2).restart(RestartPolicy.ALWAYS).build();
        Path records = stateDir.resolve("services").resolve(spec.name());
        // Instance 0: its pid and true start time but not its markers; 1: a reused pid (wrong start time).
        new InstanceRecord(pid, ticks, proc.bootId(), 0, "", 0).write(records.resolve("0"));
        new InstanceRecord(pid, ticks - 1, proc.bootId(), 0, "", 0).write(records.resolve("1"));

        driver.apply(spec);
        assertThat(count(ServiceEvent.Kind.ADOPTED)).isZero();
        driver.start(spec, 0);
        driver.start(spec, 1);
        assertThat(driver.status(spec)).extracting(InstanceStatus::pid).doesNotContain(pid);
        driver.signal(spec, 0, "HUP");
        driver.restart(spec, 1);
        driver.stop(spec, 0);
        driver.remove(spec);
        driver.close();

        assertThat(alive(pid)).isTrue();
        assertThat(other.isAlive()).isTrue();
    }

    // ------------------------------------------------------------------ start-first replacement

    /** A worker that logs "start PID" and, on SIGTERM, "stop PID"; with FLAG present it dies at once. */
    private String worker(Path log, Path flag) {
        return "if [ -e '" + flag + "' ]; then echo \"fail $$\" >> '" + log + "'; exit 3; fi; "
                + "echo \"start $$\" >> '" + log + "'; "
                + "trap 'echo \"stop $$\" >> \"" + log + "\"; exit 0' TERM; "
                + "while :; do sleep 0.1; done";
    }

    private static List<String> lines(Path log) throws IOException {
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    private int runningPid(ServiceSpec spec) {
        await().atMost(WAIT).until(() -> driver.status(spec).get(0).state() == ManagerState.RUNNING);
        return driver.status(spec).get(0).pid();
    }

    @Test
    void replace_startsTheNewProcessFirst_andStopsTheOldOnlyOnceTheNewOneIsUp_whenTheServiceHasNoPorts()
            throws IOException {
        Path log = tmp.resolve("worker.log");
        ServiceSpec spec = service("worker", worker(log, tmp.resolve("flag"))).build();
        driver.apply(spec);
        driver.start(spec, 0);
        int old = runningPid(spec);

        boolean startFirst = driver.replace(spec, 0, Duration.ofMillis(1500));

        InstanceStatus st = driver.status(spec).get(0);
        assertThat(startFirst).isTrue();
        assertThat(st.pid()).isNotEqualTo(old);
        assertThat(st.state()).isEqualTo(ManagerState.RUNNING);
        assertThat(st.restarts()).isEqualTo(1);
        assertThat(lines(log)).as("the new process started before the old one was stopped")
                .containsExactly("start " + old, "start " + st.pid(), "stop " + old);
        assertThat(alive(old)).isFalse();
        assertThat(ourPids()).contains(st.pid()).doesNotContain(old);
        assertThat(event(ServiceEvent.Kind.STOPPED).attributes()).containsEntry("mode", "start-first")
                .containsEntry("pid", Integer.toString(old));
    }

    @Test
    void replace_isStopFirst_whenTheInstanceHasAPortTheReplacementWouldNeed() throws IOException {
        Path log = tmp.resolve("worker.log");
        ServiceSpec spec = service("web", worker(log, tmp.resolve("flag"))).ports(List.of(45001), 1).build();
        driver.apply(spec);
        driver.start(spec, 0);
        int old = runningPid(spec);

        boolean startFirst = driver.replace(spec, 0, Duration.ofMillis(1500));

        int now = driver.status(spec).get(0).pid();
        assertThat(startFirst).isFalse();
        // A stop-first restart returns once the new process is spawned; it logs a moment later.
        await().atMost(WAIT).until(() -> lines(log).size() == 3);
        assertThat(lines(log)).containsExactly("start " + old, "stop " + old, "start " + now);
    }

    @Test
    void replace_isStartFirst_whenThePoolSharesItsPortWithSoReuseport() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "python3 binds the shared port");
        Path log = tmp.resolve("worker.log");
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        // Both instances listen on the same port, as SO_REUSEPORT pools (node cluster-less, gunicorn
        // --reuse-port) do; each logs when it holds the port and when it is told to stop.
        String script = "exec /usr/bin/python3 -c '"
                + "import os, signal, socket, sys, time\n"
                + "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n"
                + "s.bind((\"127.0.0.1\", " + port + ")); s.listen(8)\n"
                + "open(sys.argv[1], \"a\").write(\"bound %d\\n\" % os.getpid())\n"
                + "signal.signal(signal.SIGTERM, lambda *a: (open(sys.argv[1], \"a\").write(\"stop %d\\n\" % os.getpid()), sys.exit(0)))\n"
                + "while True: time.sleep(0.1)\n"
                + "' '" + log + "'";
        ServiceSpec spec = service("pool", script).instances(2).ports(List.of(port), 0).build();
        driver.apply(spec);
        driver.start(spec, 0);
        driver.start(spec, 1);
        int old = runningPid(spec);
        await().atMost(WAIT).until(() -> lines(log).size() == 2);

        boolean startFirst = driver.replace(spec, 0, Duration.ofMillis(1500));

        int now = driver.status(spec).get(0).pid();
        assertThat(startFirst).isTrue();
        List<String> l = lines(log);
        assertThat(l.subList(2, l.size())).as("the replacement held the shared port before the old one stopped")
                .containsExactly("bound " + now, "stop " + old);
    }

    @Test
    void replace_givesTheInstanceBackToTheOldProcess_whenTheReplacementDiesBeforeItIsUp() throws Exception {
        Path log = tmp.resolve("worker.log");
        Path flag = tmp.resolve("flag");
        ServiceSpec spec = service("worker", worker(log, flag)).build();
        driver.apply(spec);
        driver.start(spec, 0);
        int old = runningPid(spec);
        Files.writeString(flag, "broken release");

        assertThatThrownBy(() -> driver.replace(spec, 0, Duration.ofMillis(1500)))
                .isInstanceOf(DriverException.class).hasMessageContaining("did not stay up");

        InstanceStatus st = driver.status(spec).get(0);
        assertThat(st.pid()).isEqualTo(old);
        assertThat(st.state()).isEqualTo(ManagerState.RUNNING);
        assertThat(alive(old)).isTrue();
        assertThat(lines(log)).hasSize(2).first().isEqualTo("start " + old);
        assertThat(lines(log).get(1)).startsWith("fail ");
        assertThat(event(ServiceEvent.Kind.START_FAILED).attributes()).containsEntry("mode", "start-first");

        // The old process is watched again: its own exit is seen, and a stop works.
        ProcessHandle.of(old).orElseThrow().destroy();
        await().atMost(WAIT).until(() -> driver.status(spec).get(0).state() == ManagerState.EXITED);
        assertThat(ourPids()).isEmpty();
    }

    @Test
    void replace_leavesTheRunningProcessAlone_whenThePreStartCheckRefuses() throws IOException {
        Path log = tmp.resolve("worker.log");
        ServiceSpec spec = service("worker", worker(log, tmp.resolve("flag"))).build();
        driver.apply(spec);
        driver.start(spec, 0);
        int old = runningPid(spec);
        refusal.set("PATH_NOT_WRITABLE: /srv/app");

        assertThatThrownBy(() -> driver.replace(spec, 0, Duration.ofMillis(1500)))
                .isInstanceOf(DriverException.class).hasMessageContaining("refused").hasMessageContaining("keeps running");

        assertThat(driver.status(spec).get(0).pid()).isEqualTo(old);
        assertThat(driver.status(spec).get(0).state()).isEqualTo(ManagerState.RUNNING);
        assertThat(lines(log)).containsExactly("start " + old);
    }

    @Test
    void stop_inTheMiddleOfAStartFirstReplacement_stopsBothProcesses() throws Exception {
        Path log = tmp.resolve("worker.log");
        ServiceSpec spec = service("worker", worker(log, tmp.resolve("flag"))).build();
        driver.apply(spec);
        driver.start(spec, 0);
        int old = runningPid(spec);
        Thread replacing = new Thread(() -> {
            try {
                driver.replace(spec, 0, Duration.ofSeconds(30));
            } catch (DriverException expected) {
                // the stop below ends it
            }
        });
        replacing.start();
        await().atMost(WAIT).until(() -> lines(log).size() == 2);

        driver.stop(spec, 0);
        replacing.join(TimeUnit.SECONDS.toMillis(20));

        assertThat(replacing.isAlive()).isFalse();
        assertThat(alive(old)).isFalse();
        assertThat(ourPids()).isEmpty();
        assertThat(driver.status(spec).get(0).state()).isEqualTo(ManagerState.STOPPED);
    }

    // ------------------------------------------------------------------ helpers

    private boolean alive(int pid) {
        ProcFs.Stat s = proc.stat(pid);
        return s != null && !s.dead();
    }

    /** Live processes carrying this run's service marker. */
    private List<Integer> ourPids() {
        List<Integer> out = new ArrayList<>();
        try (var dirs = Files.newDirectoryStream(PROC, "[0-9]*")) {
            for (Path d : dirs) {
                int pid = Integer.parseInt(d.getFileName().toString());
                String svc = proc.environ(pid).getOrDefault("FLEETKEEPER_SERVICE", "");
                if (svc.startsWith(PREFIX) && alive(pid)) {
                    out.add(pid);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private List<ServiceEvent.Kind> kinds() {
        return events.stream().map(ServiceEvent::kind).toList();
    }

    private long count(ServiceEvent.Kind kind) {
        return events.stream().filter(e -> e.kind() == kind).count();
    }

    private ServiceEvent event(ServiceEvent.Kind kind) {
        return events.stream().filter(e -> e.kind() == kind).reduce((a, b) -> b).orElseThrow(
                () -> new AssertionError("no " + kind + " event in " + events));
    }
}
