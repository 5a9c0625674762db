package dev.fleetkeeper.agent.manage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.doctor.Finding;
import dev.fleetkeeper.agent.doctor.FindingCode;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.RemedyPolicy;
import dev.fleetkeeper.agent.service.ServiceSpec.SupervisorSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.WritablePath;
import dev.fleetkeeper.agent.service.supervisor.Supervisord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Incident 1 replayed under a real supervisord: the previous release's process (started by
 * supervisord, so it carries SUPERVISOR_GROUP_NAME) outlived its parent and still holds the
 * port, the pidfile names a dead pid, the app directory belongs to root, and a foreign process
 * holds another program's port. The agent owns the programs' config files (autostart=false),
 * so every start has a pre-flight.
 */
@Timeout(180)
class IncidentReplaySupervisorTest {

    private static final String WEB = IncidentReplay.unique("web");
    private static final String API = IncidentReplay.unique("api");

    private static final String USER = "fk-test-svc";

    @TempDir
    Path tmp;

    private IncidentReplay replay;
    private Supervisord supervisord;
    private Path dir;
    private Path app;
    private Path worker;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "the replay creates a user and chowns: root only");
        TestUsers.ensure(USER);
        dir = Files.createDirectories(tmp.resolve("srv"));
        Files.setAttribute(tmp, "unix:mode", 0755);
        Files.setAttribute(dir, "unix:mode", 0755);
        app = Files.createDirectory(dir.resolve("app"));
        Files.setAttribute(app, "unix:mode", 0755);
        worker = IncidentReplay.writeWorker(dir);
        Files.setAttribute(worker, "unix:mode", 0644);
        supervisord = Supervisord.start(Files.createDirectories(tmp.resolve("supervisord")), false);
        replay = new IncidentReplay();
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        if (replay != null) {
            replay.close(Set.of());
        }
        if (supervisord != null) {
            supervisord.close();
        }
    }

    private ServiceSpec web(int port, RemedyPolicy remedies) {
        return ServiceSpec.builder(WEB, DriverKind.SUPERVISOR)
                .command(IncidentReplay.PYTHON, worker.toString(), app.toString(), Integer.toString(port))
                .user(USER)
                .ports(List.of(port), 1)
                .pidfile(app.resolve("web.pid").toString())
                .writablePaths(List.of(new WritablePath(app, USER, 0755)))
                .stopTimeout(Duration.ofSeconds(3))
                .remedies(remedies)
                .supervisor(new SupervisorSpec(supervisord.unixUrl(), "", "", WEB, supervisord.confD().resolve("web.conf")))
                .build();
    }

    private ServiceSpec api(int port) {
        return ServiceSpec.builder(API, DriverKind.SUPERVISOR)
                .command(IncidentReplay.PYTHON, "-c", "import time; time.sleep(600)")
                .ports(List.of(port), 1)
                .remedies(RemedyPolicy.AUTO)
                .supervisor(new SupervisorSpec(supervisord.unixUrl(), "", "", API, supervisord.confD().resolve("api.conf")))
                .build();
    }

    private DriverFactory drivers() {
        return new StandardDrivers(tmp.resolve("agent-state"), Path.of("/proc"), InstantSource.system());
    }

    /** Markers supervisord puts on the processes of program web, as the old release's had them. */
    private static Map<String, String> oldReleaseMarkers() {
        return Map.of("SUPERVISOR_ENABLED", "1", "SUPERVISOR_GROUP_NAME", WEB, "SUPERVISOR_PROCESS_NAME", WEB);
    }

    @Test
    void withRemediesAutoPreflightRepairsWhatIsSafeAndSupervisordRunsTheProgram() throws Exception {
        int port = IncidentReplay.freePort();
        int apiPort = IncidentReplay.freePort();
        int orphan = replay.oldReleaseOrphan(WEB, oldReleaseMarkers(), port, dir);
        Process foreign = replay.foreignListener(apiPort);
        Files.writeString(app.resolve("web.pid"), replay.deadPid() + "\n");

        ServiceManager m = replay.start(List.of(ServiceDeclaration.valid(web(port, RemedyPolicy.AUTO)),
                ServiceDeclaration.valid(api(apiPort))), drivers());

        await().atMost(Duration.ofSeconds(30)).until(() -> !replay.events(WEB, ServiceEvent.Kind.STARTED).isEmpty());
        assertThat(replay.events(WEB, ServiceEvent.Kind.REMEDY_APPLIED)).extracting(e -> e.attributes().get("code"))
                .containsExactlyInAnyOrder("PORT_HELD", "STALE_PIDFILE", "PATH_NOT_WRITABLE");
        assertThat(IncidentReplay.isRunning(orphan)).as("the old release's orphan was stopped").isFalse();
        assertThat(Files.getOwner(app).getName()).isEqualTo(USER);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            InstanceView v = state(m, WEB).instances().get(0);
            assertThat(v.status().state()).isEqualTo(ManagerState.RUNNING);
            assertThat(v.status().managerName()).isEqualTo(WEB + ":" + WEB);
            assertThat(v.boundPorts()).containsExactly(port);
            assertThat(IncidentReplay.findings(m, WEB)).extracting(Finding::code).containsExactly(FindingCode.ZOMBIE);
        });

        await().atMost(Duration.ofSeconds(20)).until(() -> !replay.events(API, ServiceEvent.Kind.START_REFUSED).isEmpty());
        assertThat(replay.events(API, ServiceEvent.Kind.START_REFUSED).get(0).message()).contains("PORT_HELD");
        assertThat(state(m, API).instances().get(0).status().state()).isNotEqualTo(ManagerState.RUNNING);
        assertThat(foreign.isAlive()).isTrue();
        assertThat(IncidentReplay.listening(apiPort)).isTrue();
    }

    @Test
    void withRemediesRefuseDoctorTellsTheStoryAndFixRepairsIt() throws Exception {
        int port = IncidentReplay.freePort();
        int orphan = replay.oldReleaseOrphan(WEB, oldReleaseMarkers(), port, dir);
        // This time the pidfile names a live process that is not the service's (the pid was reused).
        Process unrelated = replay.python("import time; time.sleep(600)", Map.of());
        await().atMost(Duration.ofSeconds(10)).until(() -> IncidentReplay.isRunning(unrelated.pid()));
        Thread.sleep(1100); // the process must look older than the file, as a reused pid would not be
        Files.writeString(app.resolve("web.pid"), unrelated.pid() + "\n");

        ServiceManager m = replay.start(List.of(ServiceDeclaration.valid(web(port, RemedyPolicy.REFUSE))), drivers());

        await().atMost(Duration.ofSeconds(20)).until(() -> !replay.events(WEB, ServiceEvent.Kind.START_REFUSED).isEmpty());
        CommandResult report = m.execute(new ServiceCommand.Doctor("", false)).get(30, TimeUnit.SECONDS);
        assertThat(report.doctor().findings()).extracting(Finding::code)
                .contains(FindingCode.PORT_HELD, FindingCode.STALE_PIDFILE, FindingCode.PATH_NOT_WRITABLE);
        assertThat(IncidentReplay.isRunning(orphan)).isTrue();

        CommandResult fixed = m.execute(new ServiceCommand.Doctor(WEB, true)).get(60, TimeUnit.SECONDS);

        assertThat(fixed.doctor().applied()).hasSize(3).allSatisfy(o -> assertThat(o.succeeded()).as(o.action()).isTrue());
        assertThat(IncidentReplay.isRunning(orphan)).isFalse();
        assertThat(unrelated.isAlive()).as("the process the stale pidfile named is not the service's: untouched").isTrue();
        CommandResult restarted = m.execute(new ServiceCommand.Restart(WEB, 0)).get(60, TimeUnit.SECONDS);
        assertThat(restarted.status()).as(restarted.message()).isEqualTo(CommandResult.Status.SUCCEEDED);
        IncidentReplay.awaitListening(port);
        CommandResult tail = m.execute(new ServiceCommand.Tail(WEB, 0, 5)).get(30, TimeUnit.SECONDS);
        assertThat(tail.lines()).contains("web listening on " + port);
    }

    @Test
    void whenSupervisordsOwnRestartsFailOnAnOrphanTheAgentRepairsAndStartsTheProgram() throws Exception {
        int port = IncidentReplay.freePort();
        ServiceManager m = replay.start(List.of(ServiceDeclaration.valid(web(port, RemedyPolicy.AUTO))), drivers());
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(state(m, WEB).instances().get(0)
                .boundPorts()).containsExactly(port));
        // Behind the agent's back: the program is stopped, an old process of it takes the port,
        // and supervisorctl starts the program again (no pre-flight): it cannot bind and
        // supervisord gives up after its retries.
        supervisorctl("stop", WEB);
        int orphan = replay.oldReleaseOrphan(WEB, oldReleaseMarkers(), port, dir);
        supervisorctl("start", WEB);

        await().atMost(Duration.ofSeconds(60)).until(() -> replay.events(WEB, ServiceEvent.Kind.REMEDY_APPLIED).stream()
                .anyMatch(e -> "PORT_HELD".equals(e.attributes().get("code"))));
        assertThat(replay.events(WEB, ServiceEvent.Kind.REMEDY_APPLIED))
                .filteredOn(e -> "PORT_HELD".equals(e.attributes().get("code")))
                .singleElement().satisfies(e -> assertThat(e.attributes()).containsEntry("succeeded", "true"));
        assertThat(IncidentReplay.isRunning(orphan)).isFalse();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            InstanceView v = state(m, WEB).instances().get(0);
            assertThat(v.status().state()).isEqualTo(ManagerState.RUNNING);
            assertThat(v.boundPorts()).containsExactly(port);
        });
    }

    private void supervisorctl(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("supervisorctl", "-s", supervisord.unixUrl()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }

    private static ServiceState state(ServiceManager m, String name) {
        ServicesReport r = m.lastReport();
        assertThat(r).isNotNull();
        return r.services().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }
}
