package dev.fleetkeeper.agent.service.supervisor;

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
import dev.fleetkeeper.agent.telemetry.ProcLookup;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The SUPERVISOR driver against a real supervisord (Debian's 4.2.5), one per test, on a socket in a temp dir. */
@Timeout(60)
class SupervisorDriverTest {

    /** The project's own /proc reader, for what the started processes' environments hold. */
    private static final ProcLookup PROC_LOOKUP = new ProcLookup(Path.of("/proc"));

    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path tmp;

    private final List<ServiceEvent> events = new CopyOnWriteArrayList<>();
    private Supervisord supervisord;
    private SupervisorDriver driver;

    @AfterEach
    void tearDown() {
        if (driver != null) {
            driver.close();
        }
        if (supervisord != null) {
            supervisord.close();
        }
    }

    /** A program section the operator wrote, in place before supervisord starts. */
    private void operatorConf(String name, String body) throws IOException {
        Files.createDirectories(tmp.resolve("conf.d"));
        Files.writeString(tmp.resolve("conf.d").resolve(name + ".conf"), body);
    }

    private void startSupervisord(boolean http) throws IOException {
        supervisord = Supervisord.start(tmp, http);
        driver = newDriver(PreStartCheck.NONE);
    }

    /**
     * Applies an agent-owned program and starts its instances: the agent writes autostart=false
     * so that every start goes through its pre-flight, and starts them itself.
     */
    private void applyAndStart(ServiceSpec spec) {
        driver.apply(spec);
        for (int i = 0; i < spec.instances(); i++) {
            driver.start(spec, i);
        }
    }

    private SupervisorDriver newDriver(PreStartCheck check) {
        return new SupervisorDriver(check, events::add, InstantSource.system(), Duration.ofSeconds(2), Duration.ofSeconds(10));
    }

    private ServiceSpec spec(String name, int instances, Path configFile, String command, String... args) {
        return spec(name, instances, supervisord.unixUrl(), "", "", configFile, command, args);
    }

    private static ServiceSpec spec(String name, int instances, String url, String user, String password, Path configFile,
                                    String command, String... args) {
        return ServiceSpec.builder(name, DriverKind.SUPERVISOR)
                .instances(instances)
                .command(command, args)
                .stopTimeout(Duration.ofSeconds(5))
                .startTimeout(Duration.ofSeconds(10))
                .supervisor(new ServiceSpec.SupervisorSpec(url, user, password, name, configFile))
                .build();
    }

    private List<InstanceStatus> awaitStates(ServiceSpec spec, ManagerState... states) {
        return await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).until(() -> driver.status(spec),
                s -> s.stream().map(InstanceStatus::state).collect(Collectors.toList()).equals(List.of(states)));
    }

    private List<ServiceEvent.Kind> eventKinds() {
        return events.stream().map(ServiceEvent::kind).collect(Collectors.toList());
    }

    private static String cmdline(int pid) throws IOException {
        return new String(Files.readAllBytes(Path.of("/proc", Integer.toString(pid), "cmdline"))).replace('\0', ' ');
    }

    @Test
    void status_numprocs3_mapsEachInstanceToItsProcessWithTheRealPid() throws Exception {
        operatorConf("web", "[program:web]\ncommand=sleep 601\nnumprocs=3\n"
                + "process_name=%(program_name)s_%(process_num)02d\nstopwaitsecs=5\n");
        startSupervisord(false);
        ServiceSpec web = spec("web", 3, null, "sleep", "601");

        List<InstanceStatus> st = awaitStates(web, ManagerState.RUNNING, ManagerState.RUNNING, ManagerState.RUNNING);

        assertThat(st).extracting(InstanceStatus::managerName).containsExactly("web:web_00", "web:web_01", "web:web_02");
        assertThat(st).extracting(InstanceStatus::pid).doesNotHaveDuplicates().allMatch(pid -> pid > 0);
        for (InstanceStatus s : st) {
            assertThat(cmdline(s.pid())).isEqualTo("sleep 601 ");
            assertThat(Supervisord.parentOf(s.pid())).isEqualTo(supervisord.pid());
            assertThat(s.startedAtMillis()).isBetween(System.currentTimeMillis() - 60_000, System.currentTimeMillis());
        }
        assertThat(driver.configDrift(web)).containsExactly("supervisord's SIGKILL after the stop timeout reaches only"
                + " the main process (killasgroup=false), so its children can outlive it; the spec expects the whole"
                + " process group");
    }

    @Test
    void stopStartRestart_actOnTheRealProcesses_andReportEvents() throws Exception {
        startSupervisord(false);
        ServiceSpec web = spec("web", 2, supervisord.confD().resolve("web.conf"), "sleep", "602");
        applyAndStart(web);
        List<InstanceStatus> before = awaitStates(web, ManagerState.RUNNING, ManagerState.RUNNING);
        int pid0 = before.get(0).pid();
        int pid1 = before.get(1).pid();
        events.clear(); // the STARTED events of applyAndStart

        driver.stop(web, 1);
        assertThat(driver.status(web).get(1).state()).isEqualTo(ManagerState.STOPPED);
        await().atMost(WAIT).until(() -> !Supervisord.alive(pid1));
        assertThat(events).last().satisfies(e -> {
            assertThat(e.kind()).isEqualTo(ServiceEvent.Kind.STOPPED);
            assertThat(e.instance()).isEqualTo(1);
            assertThat(e.attributes()).containsEntry("pid", Integer.toString(pid1));
        });
        driver.stop(web, 1); // already down: nothing to do, no event
        assertThat(eventKinds()).containsExactly(ServiceEvent.Kind.STOPPED);

        driver.start(web, 1);
        InstanceStatus started = driver.status(web).get(1);
        assertThat(started.state()).isEqualTo(ManagerState.RUNNING);
        assertThat(started.pid()).isNotEqualTo(pid1);
        assertThat(Supervisord.alive(started.pid())).isTrue();
        assertThat(events).last().satisfies(e -> {
            assertThat(e.kind()).isEqualTo(ServiceEvent.Kind.STARTED);
            assertThat(e.attributes()).containsEntry("pid", Integer.toString(started.pid()));
        });
        driver.start(web, 1); // already up: a no-op
        assertThat(driver.status(web).get(1).pid()).isEqualTo(started.pid());

        driver.restart(web, 0);
        int newPid0 = driver.status(web).get(0).pid();
        assertThat(newPid0).isNotEqualTo(pid0).isPositive();
        await().atMost(WAIT).until(() -> !Supervisord.alive(pid0));
        assertThat(eventKinds()).containsExactly(ServiceEvent.Kind.STOPPED, ServiceEvent.Kind.STARTED,
                ServiceEvent.Kind.STOPPED, ServiceEvent.Kind.STARTED);
    }

    @Test
    void restart_refusedByPreflight_leavesTheInstanceRunning_andReportsTheReason() throws Exception {
        startSupervisord(false);
        ServiceSpec web = spec("web", 1, supervisord.confD().resolve("web.conf"), "sleep", "603");
        applyAndStart(web);
        int pid = awaitStates(web, ManagerState.RUNNING).get(0).pid();
        driver.close();
        events.clear();
        String reason = "port 3000 is held by pid 4242 (node old.js), which is not this service's";
        driver = newDriver((spec, instance) -> instance == 0 ? reason : null);
        driver.apply(web);

        assertThatThrownBy(() -> driver.restart(web, 0))
                .isInstanceOf(DriverException.class)
                .hasMessageContaining("service 'web' instance 0")
                .hasMessageContaining(reason);

        assertThat(driver.status(web).get(0).pid()).isEqualTo(pid);
        assertThat(Supervisord.alive(pid)).isTrue();
        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.kind()).isEqualTo(ServiceEvent.Kind.START_REFUSED);
            assertThat(e.message()).contains(reason);
        });
    }

    @Test
    void failingCommands_reportFatalWithExitStatusOrSpawnError() throws Exception {
        operatorConf("crash", "[program:crash]\ncommand=sh -c 'echo boom; exit 3'\nstartretries=0\n");
        operatorConf("ghost", "[program:ghost]\ncommand=/nonexistent/ghostd --serve\nstartretries=0\n");
        operatorConf("killed", "[program:killed]\ncommand=sh -c 'sleep 1.5; kill -KILL $$'\nautorestart=false\n");
        startSupervisord(false);
        ServiceSpec crash = spec("crash", 1, null, "sh", "-c", "echo boom; exit 3");
        ServiceSpec ghost = spec("ghost", 1, null, "/nonexistent/ghostd", "--serve");

        InstanceStatus crashed = awaitStates(crash, ManagerState.FATAL).get(0);
        assertThat(crashed.exitCode()).isEqualTo(3);
        assertThat(crashed.pid()).isZero();
        assertThat(crashed.detail()).contains("Exited too quickly");
        InstanceStatus missing = awaitStates(ghost, ManagerState.FATAL).get(0);
        assertThat(missing.detail()).isEqualTo("can't find command '/nonexistent/ghostd'");
        assertThat(missing.exitCode()).isEqualTo(-1);
        InstanceStatus killed = awaitStates(spec("killed", 1, null, "sh", "-c", "sleep 1.5; kill -KILL $$"),
                ManagerState.EXITED).get(0);
        assertThat(killed.exitSignal()).isEqualTo("KILL");
        assertThat(killed.exitCode()).isEqualTo(-1);

        assertThatThrownBy(() -> driver.start(crash, 0))
                .isInstanceOf(DriverException.class)
                .hasMessageContaining("service 'crash' instance 0")
                .hasMessageContaining("exited right after the start with status 3")
                .hasMessageContaining("Its last output: boom");
        assertThatThrownBy(() -> driver.start(ghost, 0))
                .isInstanceOf(DriverException.class)
                .hasMessageContaining("could not spawn it: can't find command '/nonexistent/ghostd'");
        assertThat(events).extracting(ServiceEvent::kind)
                .containsExactly(ServiceEvent.Kind.START_FAILED, ServiceEvent.Kind.START_FAILED);
        assertThat(events.get(0).attributes()).containsEntry("exit_code", "3");
    }

    @Test
    void tail_returnsTheLastLinesOfOutput_stderrIncluded() throws Exception {
        startSupervisord(false);
        ServiceSpec talk = spec("talk", 1, supervisord.confD().resolve("talk.conf"), "sh", "-c",
                "i=1; while [ $i -le 400 ]; do echo line-$i; i=$((i+1)); done; echo oops >&2; exec sleep 604");
        applyAndStart(talk);
        awaitStates(talk, ManagerState.RUNNING);

        List<String> last = await().atMost(WAIT).until(() -> driver.tail(talk, 0, 3), l -> l.contains("oops"));
        assertThat(last).containsExactly("line-399", "line-400", "oops");
        List<String> many = driver.tail(talk, 0, 300);
        assertThat(many).hasSize(300).startsWith("line-102").endsWith("line-400", "oops");
    }

    @Test
    void signal_reachesTheProcess_andAStoppedInstanceIsAClearError() throws Exception {
        startSupervisord(false);
        ServiceSpec sig = spec("sig", 2, supervisord.confD().resolve("sig.conf"), "sh", "-c",
                "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.1; done");
        applyAndStart(sig);
        awaitStates(sig, ManagerState.RUNNING, ManagerState.RUNNING);
        await().atMost(WAIT).until(() -> driver.tail(sig, 0, 5), l -> l.contains("ready"));

        driver.signal(sig, 0, "SIGUSR1");

        await().atMost(WAIT).until(() -> driver.tail(sig, 0, 5), l -> l.contains("got-usr1"));
        assertThat(driver.tail(sig, 1, 5)).doesNotContain("got-usr1");
        driver.stop(sig, 1);
        assertThatThrownBy(() -> driver.signal(sig, 1, "HUP"))
                .isInstanceOf(DriverException.class)
                .hasMessageContaining("sig:sig_01")
                .hasMessageContaining("is not running");
        // A fault supervisord raises (BAD_SIGNAL) comes back in words, not as a fault code.
        assertThatThrownBy(() -> driver.signal(sig, 0, "NOPE"))
                .isInstanceOf(DriverException.class)
                .hasMessageContaining("supervisord does not know the signal 'NOPE'");
    }

    @Test
    void apply_ownedConfigFile_addsTheProgram_thenChangesNumprocs_thenRemovesIt() throws Exception {
        startSupervisord(false);
        Path file = supervisord.confD().resolve("api.conf");
        // Quoting the supervisord config must survive: a space, a %, a single quote, a ';' after no space.
        ServiceSpec one = spec("api", 1, file, "sh", "-c",
                "echo \"$0|$1|$FLEETKEEPER_SERVICE/$FLEETKEEPER_INSTANCE\"; exec sleep 605", "a b", "50%'x;y");

        driver.apply(one);

        assertThat(Files.readString(file)).contains("[program:api]\n", "numprocs=1\n", "stopasgroup=true\n",
                "killasgroup=true\n", "stopwaitsecs=5\n", "redirect_stderr=true\n", "autostart=false\n");
        // autostart=false: every start goes through the agent's pre-flight.
        awaitStates(one, ManagerState.STOPPED);
        driver.start(one, 0);
        InstanceStatus only = awaitStates(one, ManagerState.RUNNING).get(0);
        assertThat(only.managerName()).isEqualTo("api:api");
        await().atMost(WAIT).until(() -> driver.tail(one, 0, 1), l -> l.equals(List.of("a b|50%'x;y|api/0")));
        assertThat(driver.configDrift(one)).isEmpty();

        ServiceSpec three = spec("api", 3, file, one.command(), one.args().toArray(String[]::new));
        driver.apply(three);
        awaitStates(three, ManagerState.STOPPED, ManagerState.STOPPED, ManagerState.STOPPED);
        for (int i = 0; i < 3; i++) {
            driver.start(three, i);
        }

        List<InstanceStatus> st = awaitStates(three, ManagerState.RUNNING, ManagerState.RUNNING, ManagerState.RUNNING);
        assertThat(st).extracting(InstanceStatus::managerName).containsExactly("api:api_00", "api:api_01", "api:api_02");
        await().atMost(WAIT).until(() -> !Supervisord.alive(only.pid()));
        await().atMost(WAIT).until(() -> driver.tail(three, 2, 1), l -> l.equals(List.of("a b|50%'x;y|api/2")));
        assertThat(driver.configDrift(three)).isEmpty();
        assertThat(driver.configDrift(one)).containsExactly("supervisord has 3 processes in 'api', the spec declares 1");
        assertThat(events).filteredOn(e -> e.kind() == ServiceEvent.Kind.STOPPED)
                .singleElement().satisfies(e -> assertThat(e.attributes()).containsEntry("pid", Integer.toString(only.pid())));

        driver.remove(three);

        assertThat(file).doesNotExist();
        assertThat(driver.status(three)).extracting(InstanceStatus::state).containsOnly(ManagerState.UNKNOWN);
        for (InstanceStatus s : st) {
            await().atMost(WAIT).until(() -> !Supervisord.alive(s.pid()));
        }
    }

    @Test
    void configDrift_operatorConfig_namesEachDifferenceInWords() throws Exception {
        operatorConf("web", "[program:web]\ncommand=sleep 606\nstopsignal=INT\nstopwaitsecs=10\n"
                + "killasgroup=true\nstopasgroup=true\n");
        startSupervisord(false);
        ServiceSpec web = spec("web", 3, null, "sleep", "6060");
        driver.apply(web); // the operator's program exists: apply only checks that

        assertThat(driver.configDrift(web)).containsExactly(
                "supervisord has 1 process in 'web', the spec declares 3",
                "supervisord runs 'sleep 606', the spec says 'sleep 6060'",
                "supervisord stops it with SIGINT, the spec says SIGTERM",
                "supervisord waits 10 s for it to stop before SIGKILL, the spec says 5 s");
        assertThat(supervisord.confD().resolve("web.conf")).content().contains("command=sleep 606");

        ServiceSpec absent = spec("worker", 1, null, "sleep", "1");
        assertThat(driver.configDrift(absent)).containsExactly(
                "supervisord has no program or group 'worker', the spec declares 1 process");
        assertThatThrownBy(() -> driver.apply(absent))
                .isInstanceOf(DriverException.class)
                .hasMessageContaining("has no program or group 'worker'")
                .hasMessageContaining("supervisorctl reread && supervisorctl update");
    }

    @Test
    void isMember_recognisesARealChildByItsEnvironment() throws Exception {
        startSupervisord(false);
        ServiceSpec web = spec("web", 1, supervisord.confD().resolve("web.conf"), "sleep", "607");
        applyAndStart(web);
        int pid = awaitStates(web, ManagerState.RUNNING).get(0).pid();
        Map<String, String> environ = PROC_LOOKUP.environ(pid);

        assertThat(driver.isMember(web, environ)).isTrue();
        ServiceSpec other = spec("other", 1, null, "sleep", "607");
        assertThat(driver.isMember(other, environ)).isFalse();
        assertThat(driver.isMember(web, PROC_LOOKUP.environ((int) ProcessHandle.current().pid()))).isFalse();
        // A process that kept only the agent's mark (a worker that reset SUPERVISOR_*): still the service's.
        assertThat(driver.isMember(web, Map.of("FLEETKEEPER_SERVICE", "web"))).isTrue();
        // An operator's program (no FLEETKEEPER_* variables): supervisord's own marks suffice.
        assertThat(driver.isMember(web, Map.of("SUPERVISOR_GROUP_NAME", "web", "SUPERVISOR_PROCESS_NAME", "web")))
                .isTrue();
    }

    @Test
    void unreachableSupervisord_failsFast_namingTheSocketAndWhatToCheck() throws Exception {
        driver = newDriver(PreStartCheck.NONE);
        Path missing = tmp.resolve("missing.sock");
        ServiceSpec gone = spec("web", 1, "unix://" + missing, "", "", null, "sleep", "1");
        assertThatThrownBy(() -> driver.status(gone))
                .isInstanceOfSatisfying(DriverException.class, e -> assertThat(e.isUnreachable()).isTrue())
                .hasMessageContaining("service 'web'")
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("Is supervisord running");

        // A socket file nobody listens on: what a crashed supervisord leaves behind.
        Path stale = tmp.resolve("stale.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(stale));
        }
        ServiceSpec dead = spec("web", 1, "unix://" + stale, "", "", null, "sleep", "1");
        assertThatThrownBy(() -> driver.start(dead, 0))
                .isInstanceOfSatisfying(DriverException.class, e -> assertThat(e.isUnreachable()).isTrue())
                .hasMessageContaining(stale.toString())
                .hasMessageContaining("refused")
                .hasMessageContaining("read and write the socket");

        // A socket that accepts but never answers (a hung supervisord): the call times out, it does not hang.
        Path hung = tmp.resolve("hung.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(hung));
            SupervisorDriver impatient = new SupervisorDriver(PreStartCheck.NONE, events::add, InstantSource.system(),
                    Duration.ofSeconds(1), Duration.ofSeconds(1));
            try (impatient) {
                ServiceSpec stuck = spec("web", 1, "unix://" + hung, "", "", null, "sleep", "1");
                assertThatThrownBy(() -> impatient.status(stuck))
                        .isInstanceOfSatisfying(DriverException.class, e -> assertThat(e.isUnreachable()).isTrue())
                        .hasMessageContaining("did not answer supervisor.getAllProcessInfo() within 1 s");
            }
        }
        assertThat(events).isEmpty();
    }

    @Test
    void inetPortWithBasicAuth_works_andWrongPasswordSaysWhatToFix() throws Exception {
        startSupervisord(true);
        ServiceSpec viaUnix = spec("web", 1, supervisord.confD().resolve("web.conf"), "sleep", "608");
        applyAndStart(viaUnix);
        int pid = awaitStates(viaUnix, ManagerState.RUNNING).get(0).pid();

        ServiceSpec viaHttp = spec("web", 1, supervisord.httpUrl(), Supervisord.USER, Supervisord.PASSWORD, null,
                "sleep", "608");
        assertThat(driver.status(viaHttp)).singleElement().satisfies(s -> {
            assertThat(s.state()).isEqualTo(ManagerState.RUNNING);
            assertThat(s.pid()).isEqualTo(pid);
        });
        driver.restart(viaHttp, 0);
        assertThat(driver.status(viaHttp).get(0).pid()).isNotEqualTo(pid).isPositive();

        ServiceSpec wrong = spec("web", 1, supervisord.httpUrl(), Supervisord.USER, "guess", null, "sleep", "608");
        assertThatThrownBy(() -> driver.status(wrong))
                .isInstanceOf(DriverException.class)
                .hasMessageContaining(supervisord.httpUrl())
                .hasMessageContaining("HTTP 401")
                .hasMessageContaining("supervisor.password");
        ServiceSpec anonymous = spec("web", 1, supervisord.httpUrl(), "", "", null, "sleep", "608");
        assertThatThrownBy(() -> driver.status(anonymous)).hasMessageContaining("without credentials");
    }
}
