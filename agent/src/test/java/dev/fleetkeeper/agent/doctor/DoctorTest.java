package dev.fleetkeeper.agent.doctor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.WritablePath;
import dev.fleetkeeper.agent.telemetry.HostScan;
import dev.fleetkeeper.agent.telemetry.ProcScanner;
import dev.fleetkeeper.agent.telemetry.ProcessId;
import dev.fleetkeeper.agent.telemetry.ProcessSample;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The doctor and its remedies against real processes, sockets, pidfiles and users on this
 * machine: every finding of incident 1, and that nothing foreign is ever touched. The manager's
 * view (statuses) is written by hand here; the drivers' own tests and the end-to-end tests
 * drive real managers.
 */
@Timeout(120)
class DoctorTest {

    private static final String HOST = "test-host";
    /** Unique to this run: no other process on the machine carries this service's marker. */
    private static final String WEB = "web-" + ProcessHandle.current().pid();

    @TempDir
    Path dir;

    private final LiveProcesses procs = new LiveProcesses();
    private ProcScanner scanner;
    private HostFacts facts;
    private Doctor doctor;
    private Remedies remedies;

    @BeforeEach
    void setUp() {
        scanner = ProcScanner.forThisHost(InstantSource.system());
        facts = new HostFacts(Path.of("/proc"));
        doctor = new Doctor(facts, this::member, HOST);
        remedies = new Remedies(facts, this::member, InstantSource.system());
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        procs.close();
        scanner.close();
    }

    private boolean member(ServiceSpec spec, ProcessId id) {
        return spec.name().equals(facts.markers(id).get("FLEETKEEPER_SERVICE"));
    }

    private static ServiceSpec.Builder web() {
        return ServiceSpec.builder(WEB, DriverKind.BUILTIN).command("/usr/bin/node", "server.js")
                .stopTimeout(Duration.ofSeconds(2));
    }

    private static InstanceStatus stopped(int i) {
        return new InstanceStatus(i, WEB + "#" + i, ManagerState.STOPPED, 0, 0, -1, "", 0, "");
    }

    private static InstanceStatus running(int i, long pid) {
        return new InstanceStatus(i, WEB + "#" + i, ManagerState.RUNNING, (int) pid, System.currentTimeMillis() - 30_000, -1,
                "", 0, "");
    }

    private List<Finding> diagnose(ServiceSpec spec, InstanceStatus... statuses) {
        HostScan scan = scanner.scan();
        return doctor.diagnose(new Observation(spec, List.of(statuses), null, List.of(), Map.of(), Map.of()), scan,
                Instant.now());
    }

    private static List<Finding> only(List<Finding> all, FindingCode code) {
        return all.stream().filter(f -> f.code() == code).toList();
    }

    private static String evidence(Finding f, String label) {
        return f.evidence().stream().filter(e -> e.label().equals(label)).map(Finding.Evidence::value).findFirst()
                .orElseThrow(() -> new AssertionError("no evidence '" + label + "' in " + f));
    }

    /** Whether {@code pid} is a live process that is not a zombie. */
    private static boolean isRunning(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean refused(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return !s.isConnected();
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void anOrphanOfTheServiceHoldingItsPortIsClassifiedAndStoppedGracefully() throws Exception {
        int port = LiveProcesses.freePort();
        Path pidOut = dir.resolve("orphan.pid");
        procs.python(LiveProcesses.orphanListener(port, pidOut), Map.of("FLEETKEEPER_SERVICE", WEB));
        int orphan = LiveProcesses.awaitPidFile(pidOut);
        LiveProcesses.awaitListening(port);
        ServiceSpec spec = web().ports(List.of(port), 1).build();

        List<Finding> held = only(diagnose(spec, stopped(0)), FindingCode.PORT_HELD);

        assertThat(held).hasSize(1);
        Finding f = held.get(0);
        assertThat(f.instance()).isZero();
        assertThat(f.severity()).isEqualTo(Severity.CRITICAL);
        assertThat(evidence(f, "holder")).startsWith(orphan + " ");
        assertThat(evidence(f, "holder is")).startsWith("an orphan of this service");
        assertThat(f.remedy().automatic()).isTrue();

        Remedies.Outcome out = remedies.apply(spec, f);

        assertThat(out.succeeded()).as(out.action()).isTrue();
        assertThat(out.action()).contains("SIGTERM");
        assertThat(isRunning(orphan)).as("the orphan is gone (at most a zombie until PID 1 reaps it)").isFalse();
        await().atMost(Duration.ofSeconds(5)).until(() -> refused(port));
        assertThat(only(diagnose(spec, stopped(0)), FindingCode.PORT_HELD)).isEmpty();
    }

    @Test
    void aForeignProcessOnThePortIsReportedButNeverSignalled() throws Exception {
        int port = LiveProcesses.freePort();
        Process foreign = procs.python(LiveProcesses.listener(port), Map.of());
        LiveProcesses.awaitListening(port);
        ServiceSpec spec = web().ports(List.of(port), 1).build();

        List<Finding> held = only(diagnose(spec, stopped(0)), FindingCode.PORT_HELD);

        assertThat(held).hasSize(1);
        Finding f = held.get(0);
        assertThat(evidence(f, "holder is")).startsWith("a foreign process");
        assertThat(f.remedy().automatic()).isFalse();
        assertThat(f.remedy().commands()).anyMatch(c -> c.contains("ss -ltnup"));
        assertThatThrownBy(() -> remedies.apply(spec, f)).isInstanceOf(IllegalArgumentException.class);

        // Even a forged automatic remedy is refused: the environment does not prove membership.
        ProcessSample holder = scanner.scan().processes().values().stream()
                .filter(p -> p.pid() == foreign.pid()).findFirst().orElseThrow();
        Finding forged = new Finding(FindingCode.PORT_HELD, Severity.CRITICAL, WEB, 0, "forged", "", List.of(),
                Finding.Remedy.automatic("stop", new RemedyAction.StopProcess(holder.id(), WEB, "TERM",
                        Duration.ofSeconds(1), "test")));
        Remedies.Outcome out = remedies.apply(spec, forged);

        assertThat(out.succeeded()).isFalse();
        assertThat(out.action()).startsWith("refused to signal");
        assertThat(foreign.isAlive()).isTrue();
        assertThat(refused(port)).isFalse();
    }

    @Test
    void thePortHeldByTheCurrentInstanceIsFine() throws Exception {
        int port = LiveProcesses.freePort();
        Process p = procs.python(LiveProcesses.listener(port), Map.of("FLEETKEEPER_SERVICE", WEB));
        LiveProcesses.awaitListening(port);
        ServiceSpec spec = web().ports(List.of(port), 1).build();

        List<Finding> findings = diagnose(spec, running(0, p.pid()));

        assertThat(findings).isEmpty();
    }

    @Test
    void aPidfileNamingADeadPidIsStaleAndRemoved() throws Exception {
        Process gone = procs.python("pass", Map.of());
        gone.waitFor();
        await().atMost(Duration.ofSeconds(5)).until(() -> ProcessHandle.of(gone.pid()).isEmpty());
        Path pidfile = dir.resolve("web-0.pid");
        Files.writeString(pidfile, gone.pid() + "\n");
        ServiceSpec spec = web().pidfile(dir.resolve("web-{instance}.pid").toString()).build();

        List<Finding> stale = only(diagnose(spec, stopped(0)), FindingCode.STALE_PIDFILE);

        assertThat(stale).hasSize(1);
        assertThat(stale.get(0).summary()).contains("names pid " + gone.pid() + ", which is not running");
        Remedies.Outcome out = remedies.apply(spec, stale.get(0));
        assertThat(out.succeeded()).isTrue();
        assertThat(pidfile).doesNotExist();
    }

    @Test
    void aPidfileNamingALiveUnrelatedProcessIsStaleAndTheProcessIsLeftAlone() throws Exception {
        Process unrelated = procs.python("import time; time.sleep(600)", Map.of());
        await().atMost(Duration.ofSeconds(5)).until(() -> facts.startTicks((int) unrelated.pid()) > 0);
        Path pidfile = dir.resolve("web.pid");
        Files.writeString(pidfile, Long.toString(unrelated.pid()));
        ServiceSpec spec = web().pidfile(pidfile.toString()).build();

        List<Finding> stale = only(diagnose(spec, stopped(0)), FindingCode.STALE_PIDFILE);

        assertThat(stale).hasSize(1);
        assertThat(stale.get(0).summary()).contains("which is another program").contains("python3");
        assertThat(remedies.apply(spec, stale.get(0)).succeeded()).isTrue();
        assertThat(pidfile).doesNotExist();
        assertThat(unrelated.isAlive()).isTrue();
    }

    @Test
    void aPidfileThatChangedSinceTheDiagnosisIsLeftAlone() throws Exception {
        Path pidfile = dir.resolve("web.pid");
        Files.writeString(pidfile, "999999");
        ServiceSpec spec = web().pidfile(pidfile.toString()).build();
        Finding stale = only(diagnose(spec, stopped(0)), FindingCode.STALE_PIDFILE).get(0);
        Files.writeString(pidfile, Long.toString(ProcessHandle.current().pid()));

        Remedies.Outcome out = remedies.apply(spec, stale);

        assertThat(out.succeeded()).isFalse();
        assertThat(pidfile).exists();
    }

    @Test
    void aZombieIsReportedWithTheParentThatDoesNotReapIt() throws Exception {
        Process parent = procs.python(LiveProcesses.zombieParent(), Map.of("FLEETKEEPER_SERVICE", WEB));
        await().atMost(Duration.ofSeconds(10)).until(() -> scanner.scan().processes().values().stream()
                .anyMatch(p -> p.ppid() == parent.pid() && p.isZombie()));
        ServiceSpec spec = web().build();

        List<Finding> zombies = only(diagnose(spec, running(0, parent.pid())), FindingCode.ZOMBIE);

        assertThat(zombies).hasSize(1);
        assertThat(zombies.get(0).instance()).isZero();
        assertThat(evidence(zombies.get(0), "parent")).startsWith(parent.pid() + " ");
        assertThat(zombies.get(0).remedy().commands()).contains("fleetkeeper restart " + WEB + " --host test-host --instance 0");
    }

    @Test
    void aManagerPidThatIsGoneOrDefunctDisagreesWithProc() throws Exception {
        Process gone = procs.python("pass", Map.of());
        gone.waitFor();
        Process parent = procs.python(LiveProcesses.zombieParent(), Map.of("FLEETKEEPER_SERVICE", WEB));
        await().atMost(Duration.ofSeconds(10)).until(() -> scanner.scan().processes().values().stream()
                .anyMatch(p -> p.ppid() == parent.pid() && p.isZombie()));
        int zombie = scanner.scan().processes().values().stream()
                .filter(p -> p.ppid() == parent.pid() && p.isZombie()).findFirst().orElseThrow().pid();
        ServiceSpec spec = web().instances(2).build();

        List<Finding> findings = diagnose(spec, running(0, gone.pid()), running(1, zombie));

        assertThat(only(findings, FindingCode.PROCESS_GONE)).singleElement()
                .satisfies(f -> assertThat(f.instance()).isZero());
        assertThat(only(findings, FindingCode.PROCESS_DEFUNCT)).singleElement()
                .satisfies(f -> assertThat(f.instance()).isEqualTo(1));
    }

    @Test
    void aProcessOfAStoppedInstanceIsUnexpectedAndMayBeStopped() throws Exception {
        Process leftover = procs.python("import time; time.sleep(600)",
                Map.of("FLEETKEEPER_SERVICE", WEB, "FLEETKEEPER_INSTANCE", "1"));
        await().atMost(Duration.ofSeconds(5)).until(() -> facts.startTicks((int) leftover.pid()) > 0);
        ServiceSpec spec = web().instances(2).build();

        List<Finding> unexpected = only(diagnose(spec, stopped(0), stopped(1)), FindingCode.UNEXPECTED_PROCESS);

        assertThat(unexpected).singleElement().satisfies(f -> assertThat(f.instance()).isEqualTo(1));
        assertThat(remedies.apply(spec, unexpected.get(0)).succeeded()).isTrue();
        assertThat(leftover.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void aServiceUserThatDoesNotExistIsAFinding() {
        ServiceSpec spec = web().user("fk-no-such-user-7431").build();

        assertThat(only(diagnose(spec, stopped(0)), FindingCode.USER_UNKNOWN)).singleElement()
                .satisfies(f -> assertThat(f.summary()).contains("fk-no-such-user-7431"));
    }

    @Test
    void aDeclaredPathTheServiceUserCannotWriteIsFoundAndGivenBack() throws Exception {
        assumeTrue(TestUsers.isRoot(), "creating a user and changing owners needs root");
        String user = TestUsers.ensure("fk-test-svc");
        Path app = Files.createDirectory(dir.resolve("app"));
        Files.setAttribute(dir, "unix:mode", 0755);
        Files.setAttribute(app, "unix:mode", 0755); // owned by root: the deploy left it so
        ServiceSpec spec = web().user(user).writablePaths(List.of(new WritablePath(app, "", -1))).build();

        List<Finding> paths = only(diagnose(spec, stopped(0)), FindingCode.PATH_NOT_WRITABLE);

        assertThat(paths).singleElement().satisfies(f -> {
            assertThat(f.summary()).isEqualTo(user + " cannot write " + app);
            assertThat(f.remedy().automatic()).isTrue();
        });
        assertThat(TestUsers.canWrite(user, app)).isFalse();

        Remedies.Outcome out = remedies.apply(spec, paths.get(0));

        assertThat(out.succeeded()).as(out.action()).isTrue();
        assertThat(TestUsers.canWrite(user, app)).isTrue();
        assertThat(only(diagnose(spec, stopped(0)), FindingCode.PATH_NOT_WRITABLE)).isEmpty();
    }

    @Test
    void groupMembershipGrantsWriteEvenWhenTheOwnerDiffers() throws Exception {
        Optional<UserInfo> nobody = facts.user("nobody");
        assumeTrue(nobody.isPresent(), "no user 'nobody'");
        UserInfo u = nobody.get();
        assertThat(PathAccess.grants(u, 0, u.gid(), 0770, 3)).isTrue();
        assertThat(PathAccess.grants(u, 0, u.gid() + 1, 0770, 3)).isFalse();
        assertThat(PathAccess.grants(u, u.uid(), 0, 0570, 3)).as("owner bits, not group bits, apply to the owner")
                .isFalse();
    }

    @Test
    void preflightReportsOnlyWhatBlocksThatInstance() throws Exception {
        int a = LiveProcesses.freePort();
        int b = LiveProcesses.freePort();
        int p0 = Math.min(a, b);
        int p1 = Math.max(a, b);
        procs.python(LiveProcesses.listener(p1), Map.of());
        LiveProcesses.awaitListening(p1);
        ServiceSpec spec = web().instances(2).ports(List.of(p0), p1 - p0).build();
        Observation o = new Observation(spec, List.of(stopped(0), stopped(1)), null, List.of(), Map.of(), Map.of());
        HostScan scan = scanner.scan();

        assertThat(doctor.preflight(o, scan, Instant.now(), 0)).isEmpty();
        assertThat(doctor.preflight(o, scan, Instant.now(), 1)).singleElement()
                .satisfies(f -> assertThat(f.code()).isEqualTo(FindingCode.PORT_HELD));
    }
}
