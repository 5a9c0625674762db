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
import dev.fleetkeeper.agent.service.ServiceSpec.WritablePath;
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
 * Incident 1 replayed under the built-in driver: an old release's orphan holds the port, the
 * pidfile names a dead pid, the app directory belongs to root, a foreign process holds another
 * service's port, and the new worker leaves a zombie. Pre-flight with remedies {@code auto}
 * repairs what is provably safe and starts the service; with {@code refuse} it refuses and the
 * doctor reports each finding; the foreign process always survives.
 */
@Timeout(180)
class IncidentReplayBuiltinTest {

    private static final String WEB = IncidentReplay.unique("web");
    private static final String API = IncidentReplay.unique("api");

    private static final String USER = "fk-test-svc";

    @TempDir
    Path tmp;

    private IncidentReplay replay;
    private Path dir;
    private Path app;
    private Path worker;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "the replay creates a user and chowns: root only");
        assumeTrue(Files.isExecutable(Path.of(IncidentReplay.PYTHON)), "needs " + IncidentReplay.PYTHON);
        TestUsers.ensure(USER);
        // A world-readable tree the service user can reach (the JUnit temp dir is 0700).
        dir = Files.createDirectories(tmp.resolve("srv"));
        Files.setAttribute(tmp, "unix:mode", 0755);
        Files.setAttribute(dir, "unix:mode", 0755);
        app = Files.createDirectory(dir.resolve("app"));
        Files.setAttribute(app, "unix:mode", 0755); // owned by root: the deploy ran as root
        worker = IncidentReplay.writeWorker(dir);
        Files.setAttribute(worker, "unix:mode", 0644);
        replay = new IncidentReplay();
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        if (replay != null) {
            replay.close(Set.of(WEB, API));
        }
    }

    private ServiceSpec web(int port, RemedyPolicy remedies) {
        return ServiceSpec.builder(WEB, DriverKind.BUILTIN)
                .command(IncidentReplay.PYTHON, worker.toString(), app.toString(), Integer.toString(port))
                .env(Map.of("FLEETKEEPER_TEST_RUN_SERVICE", replay.run))
                .user(USER)
                .ports(List.of(port), 1)
                .pidfile(app.resolve("web.pid").toString())
                .writablePaths(List.of(new WritablePath(app, USER, 0755)))
                .stopTimeout(Duration.ofSeconds(3))
                .crashLoop(new ServiceSpec.CrashLoopSpec(3, Duration.ofMinutes(1)))
                .backoff(new ServiceSpec.BackoffSpec(Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofMinutes(1)))
                .remedies(remedies)
                .build();
    }

    private ServiceSpec api(int port) {
        return ServiceSpec.builder(API, DriverKind.BUILTIN)
                .command(IncidentReplay.PYTHON, "-c", "import time; time.sleep(600)")
                .env(Map.of("FLEETKEEPER_TEST_RUN_SERVICE", replay.run))
                .ports(List.of(port), 1)
                .remedies(RemedyPolicy.AUTO)
                .build();
    }

    private DriverFactory drivers() {
        return new StandardDrivers(tmp.resolve("agent-state"), Path.of("/proc"), InstantSource.system());
    }

    @Test
    void withRemediesAutoPreflightRepairsWhatIsSafeAndTheServiceStarts() throws Exception {
        int port = IncidentReplay.freePort();
        int apiPort = IncidentReplay.freePort();
        int orphan = replay.oldReleaseOrphan(WEB, Map.of("FLEETKEEPER_SERVICE", WEB), port, dir);
        Process foreign = replay.foreignListener(apiPort);
        int dead = replay.deadPid();
        Files.writeString(app.resolve("web.pid"), dead + "\n");

        ServiceManager m = replay.start(List.of(ServiceDeclaration.valid(web(port, RemedyPolicy.AUTO)),
                ServiceDeclaration.valid(api(apiPort))), drivers());

        // web: the three safe remedies, then a running instance that holds its own port.
        await().atMost(Duration.ofSeconds(30)).until(() -> replay.events(WEB, ServiceEvent.Kind.STARTED).size() >= 1);
        List<ServiceEvent> remedies = replay.events(WEB, ServiceEvent.Kind.REMEDY_APPLIED);
        assertThat(remedies).extracting(e -> e.attributes().get("code"))
                .containsExactlyInAnyOrder("PORT_HELD", "STALE_PIDFILE", "PATH_NOT_WRITABLE");
        assertThat(remedies).allSatisfy(e -> assertThat(e.attributes()).containsEntry("succeeded", "true"));
        assertThat(IncidentReplay.isRunning(orphan)).as("the old release's orphan was stopped").isFalse();
        assertThat(Files.getOwner(app).getName()).isEqualTo(USER);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            ServiceState web = state(m, WEB);
            assertThat(web.instances()).singleElement().satisfies(v -> {
                assertThat(v.status().state()).isEqualTo(ManagerState.RUNNING);
                assertThat(v.boundPorts()).containsExactly(port);
                assertThat(v.consistent()).isTrue();
            });
            // The new worker leaves a zombie: reported with its parent, the instance.
            assertThat(IncidentReplay.findings(m, WEB)).extracting(Finding::code).containsExactly(FindingCode.ZOMBIE);
        });
        int pid = state(m, WEB).instances().get(0).status().pid();
        assertThat(Files.readString(app.resolve("web.pid")).trim()).isEqualTo(Integer.toString(pid));

        // api: its port is held by a foreign process: refused, and the process survives.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(
                replay.events(API, ServiceEvent.Kind.START_REFUSED)).as("events: %s", replay.events.stream()
                .map(e -> e.service() + " " + e.kind() + " " + e.message()).toList()).isNotEmpty());
        assertThat(replay.events(API, ServiceEvent.Kind.START_REFUSED).get(0).message())
                .contains("PORT_HELD").contains("foreign");
        assertThat(replay.events(API, ServiceEvent.Kind.REMEDY_APPLIED)).isEmpty();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(IncidentReplay.findings(m, API))
                .extracting(Finding::code).contains(FindingCode.PORT_HELD));
        assertThat(foreign.isAlive()).isTrue();
        assertThat(IncidentReplay.listening(apiPort)).isTrue();
    }

    @Test
    void withRemediesRefuseTheStartIsRefusedAndDoctorFixRepairsIt() throws Exception {
        int port = IncidentReplay.freePort();
        int orphan = replay.oldReleaseOrphan(WEB, Map.of("FLEETKEEPER_SERVICE", WEB), port, dir);
        int dead = replay.deadPid();
        Files.writeString(app.resolve("web.pid"), dead + "\n");

        ServiceManager m = replay.start(List.of(ServiceDeclaration.valid(web(port, RemedyPolicy.REFUSE))), drivers());

        await().atMost(Duration.ofSeconds(20)).until(() -> !replay.events(WEB, ServiceEvent.Kind.START_REFUSED).isEmpty());
        assertThat(replay.events(WEB, ServiceEvent.Kind.STARTED)).isEmpty();
        CommandResult report = m.execute(new ServiceCommand.Doctor(WEB, false)).get(30, TimeUnit.SECONDS);
        assertThat(report.doctor().findings()).extracting(Finding::code)
                .contains(FindingCode.PORT_HELD, FindingCode.STALE_PIDFILE, FindingCode.PATH_NOT_WRITABLE);
        Finding held = report.doctor().findings().stream().filter(f -> f.code() == FindingCode.PORT_HELD)
                .findFirst().orElseThrow();
        assertThat(held.evidence()).anySatisfy(e -> assertThat(e.value()).startsWith("an orphan of this service"));
        assertThat(IncidentReplay.isRunning(orphan)).as("doctor without --fix changes nothing").isTrue();

        CommandResult fixed = m.execute(new ServiceCommand.Doctor(WEB, true)).get(60, TimeUnit.SECONDS);

        assertThat(fixed.doctor().applied()).hasSize(3).allSatisfy(o -> assertThat(o.succeeded()).as(o.action()).isTrue());
        assertThat(fixed.doctor().remaining()).extracting(Finding::code)
                .doesNotContain(FindingCode.PORT_HELD, FindingCode.STALE_PIDFILE, FindingCode.PATH_NOT_WRITABLE);
        assertThat(IncidentReplay.isRunning(orphan)).isFalse();

        CommandResult restarted = m.execute(new ServiceCommand.Restart(WEB, 0)).get(60, TimeUnit.SECONDS);
        assertThat(restarted.status()).as(restarted.message()).isEqualTo(CommandResult.Status.SUCCEEDED);
        IncidentReplay.awaitListening(port);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(state(m, WEB).instances().get(0).boundPorts())
                .containsExactly(port));
    }

    private static ServiceState state(ServiceManager m, String name) {
        ServicesReport r = m.lastReport();
        assertThat(r).isNotNull();
        return r.services().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }
}
