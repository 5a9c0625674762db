package dev.fleetkeeper.agent.manage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.release.Release;
import dev.fleetkeeper.agent.release.ReleaseBook;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.telemetry.ProcLookup;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
 * ApplyRelease under the built-in driver with real worker processes: one instance of a pool moves
 * to a release while the other keeps running, the move survives an agent restart and a crash, a
 * deploy root's {@code current} is switched, an instance goes back to its declared spec (and
 * {@code current} with it), and a bad request or a bad release changes nothing.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ApplyReleaseBuiltinTest {

    /** The project's own /proc reader, for what the started processes' environments hold. */
    private static final ProcLookup PROC_LOOKUP = new ProcLookup(Path.of("/proc"));

    private static final String PY = IncidentReplay.PYTHON;

    @TempDir
    Path tmp;

    private IncidentReplay replay;
    private String name;
    private Path state;
    private Path releaseDir;
    private Path worker;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(Files.isExecutable(Path.of(PY)), "needs " + PY);
        Files.setAttribute(tmp, "unix:mode", 0755);
        name = IncidentReplay.unique("rel");
        state = tmp.resolve("agent-state");
        releaseDir = state.resolve("releases");
        worker = writeWorker(Files.createDirectories(tmp.resolve("bin")));
        replay = new IncidentReplay();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (replay != null) {
            replay.close(Set.of(name));
        }
    }

    private static Path writeWorker(Path dir) throws IOException {
        Path script = dir.resolve("worker.py");
        Files.writeString(script, "import sys, time\nprint('worker', sys.argv[1:], flush=True)\ntime.sleep(600)\n");
        Files.setAttribute(script, "unix:mode", 0644);
        Files.setAttribute(dir, "unix:mode", 0755);
        return script;
    }

    private ServiceSpec.Builder pool() {
        return ServiceSpec.builder(name, DriverKind.BUILTIN)
                .instances(2)
                .env(Map.of("FLEETKEEPER_TEST_RUN_SERVICE", replay.run, "DECLARED", "yes", "FLAG", "one"))
                .stopTimeout(Duration.ofSeconds(3))
                .startTimeout(Duration.ofSeconds(10))
                .version("1");
    }

    private ServiceManager start(ServiceSpec spec) {
        ServiceManager m = replay.start(List.of(ServiceDeclaration.valid(spec)),
                new StandardDrivers(state, Path.of("/proc"), InstantSource.system()), null, releaseDir);
        await().atMost(Duration.ofSeconds(20)).until(() -> IncidentReplay.running(m) == spec.instances());
        return m;
    }

    private CommandResult apply(ServiceManager m, int instance, Release release, boolean switchCurrent) throws Exception {
        return m.execute(new ServiceCommand.ApplyRelease(name, instance, release, switchCurrent, "ro-7"))
                .get(60, TimeUnit.SECONDS);
    }

    // ---- moving one instance ----------------------------------------------------------------

    @Test
    void applyRelease_movesOneInstance_keepsTheOther_andSurvivesRestartsCrashesAndAnAgentRestart() throws Exception {
        ServiceManager m = start(pool().command(PY, worker.toString(), "v1").build());
        int p0 = pid(m, 0);
        int p1 = pid(m, 1);
        Release v2 = new Release("2", PY, List.of(worker.toString(), "v2"), true, Map.of("FLAG", "two"));

        CommandResult r = apply(m, 0, v2, false);

        assertThat(r.status()).as(r.message()).isEqualTo(CommandResult.Status.SUCCEEDED);
        assertThat(r.released().oldPid()).isEqualTo(p0);
        assertThat(r.released().newPid()).isPositive().isNotEqualTo(p0);
        assertThat(r.released().oldVersion()).isEqualTo("1");
        assertThat(r.released().newVersion()).isEqualTo("2");
        assertThat(r.released().startFirst()).as("no ports, no pidfile: start-first").isTrue();
        int n0 = r.released().newPid();
        assertOnRelease2(n0);
        await().atMost(Duration.ofSeconds(10)).until(() -> !IncidentReplay.isRunning(p0));
        assertThat(pid(m, 1)).as("instance 1 untouched").isEqualTo(p1);
        assertThat(PROC_LOOKUP.environ(p1)).containsEntry("FLEETKEEPER_VERSION", "1").containsEntry("FLAG", "one");
        assertThat(replay.events(name, ServiceEvent.Kind.RELEASE_APPLIED)).singleElement().satisfies(e -> {
            assertThat(e.instance()).isZero();
            assertThat(e.attributes()).containsEntry("rollout_id", "ro-7").containsEntry("old_version", "1")
                    .containsEntry("new_version", "2").containsEntry("old_pid", Integer.toString(p0))
                    .containsEntry("new_pid", Integer.toString(n0)).containsEntry("mode", "start-first");
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> versions(m).equals(List.of("2", "1")));
        assertThat(ReleaseBook.open(releaseDir).get(name, 0)).as("recorded durably").isEqualTo(v2);

        // `fleetkeeper restart` of the instance: again on its release.
        CommandResult restarted = m.execute(new ServiceCommand.Restart(name, 0)).get(60, TimeUnit.SECONDS);
        assertThat(restarted.status()).as(restarted.message()).isEqualTo(CommandResult.Status.SUCCEEDED);
        int n1 = pid(m, 0);
        assertThat(n1).isNotEqualTo(n0);
        assertOnRelease2(n1);

        // The agent restarts: the instances are adopted, instance 0 stays on its release ...
        m.close();
        ServiceManager again = start(pool().command(PY, worker.toString(), "v1").build());
        assertThat(pid(again, 0)).isEqualTo(n1);
        assertThat(pid(again, 1)).isEqualTo(p1);
        await().atMost(Duration.ofSeconds(10)).until(() -> versions(again).equals(List.of("2", "1")));

        // ... and a crash of it is restarted on its release, not on the declared spec.
        kill(n1);
        await().atMost(Duration.ofSeconds(20)).until(() -> pid(again, 0) > 0 && pid(again, 0) != n1
                && state(again, 0) == ManagerState.RUNNING);
        assertOnRelease2(pid(again, 0));
        assertThat(pid(again, 1)).isEqualTo(p1);
    }

    private void assertOnRelease2(int pid) throws IOException {
        assertThat(PROC_LOOKUP.environ(pid)).containsEntry("FLEETKEEPER_VERSION", "2").containsEntry("FLAG", "two")
                .containsEntry("DECLARED", "yes").containsEntry("FLEETKEEPER_INSTANCE", "0");
        assertThat(cmdline(pid)).containsExactly(PY, worker.toString(), "v2");
    }

    // ---- the deploy root --------------------------------------------------------------------

    @Test
    void switchCurrent_swapsTheSymlink_andTheInstanceRunsFromItsOwnReleaseDirectory() throws Exception {
        Path root = deployRoot("1", "2");
        ServiceManager m = start(pool().command(PY, "worker.py", "v1").workingDir(root.resolve("current"))
                .releases(root).build());
        int p1 = pid(m, 1);
        assertThat(cwd(p1)).isEqualTo(root.resolve("releases/1").toRealPath());

        CommandResult r = apply(m, 0, new Release("2", "", List.of("worker.py", "v2"), true, Map.of()), true);

        assertThat(r.status()).as(r.message()).isEqualTo(CommandResult.Status.SUCCEEDED);
        assertThat(Files.readSymbolicLink(root.resolve("current"))).isEqualTo(Path.of("releases/2"));
        int n0 = r.released().newPid();
        assertThat(cwd(n0)).isEqualTo(root.resolve("releases/2").toRealPath());
        assertThat(cmdline(n0)).containsExactly(PY, "worker.py", "v2");
        assertThat(pid(m, 1)).isEqualTo(p1);
        assertThat(cwd(p1)).as("the other instance still runs the old release's code").isEqualTo(
                root.resolve("releases/1").toRealPath());
        try (var files = Files.list(root)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("releases", "current");
        }
        assertThat(replay.events(name, ServiceEvent.Kind.RELEASE_APPLIED)).singleElement()
                .satisfies(e -> assertThat(e.attributes()).containsEntry("switched_current", "true"));
    }

    @Test
    void aMissingReleaseDirectory_isRejected_andNothingChanges() throws Exception {
        Path root = deployRoot("1");
        ServiceManager m = start(pool().command(PY, "worker.py", "v1").workingDir(root.resolve("current"))
                .releases(root).build());
        int p0 = pid(m, 0);

        CommandResult r = apply(m, 0, new Release("9", "", List.of(), false, Map.of()), true);

        assertThat(r.status()).isEqualTo(CommandResult.Status.REJECTED);
        assertThat(r.message()).contains(root.resolve("releases/9").toString()).contains("does not exist")
                .contains("never creates releases");
        assertThat(root.resolve("releases/9")).doesNotExist();
        assertThat(Files.readSymbolicLink(root.resolve("current"))).isEqualTo(Path.of("releases/1"));
        assertThat(pid(m, 0)).isEqualTo(p0);
        assertThat(ReleaseBook.open(releaseDir).get(name, 0)).isNull();
        assertThat(replay.events(name, ServiceEvent.Kind.RELEASE_APPLIED)).isEmpty();

        CommandResult noRoot = apply(m, 5, new Release("1", "", List.of(), false, Map.of()), false);
        assertThat(noRoot.status()).isEqualTo(CommandResult.Status.REJECTED);
        assertThat(noRoot.message()).contains("has no instance 5");
    }

    @Test
    void switchCurrent_withoutADeclaredRoot_isRejected() throws Exception {
        ServiceManager m = start(pool().command(PY, worker.toString(), "v1").build());
        int p0 = pid(m, 0);

        CommandResult r = apply(m, 0, new Release("2", "", List.of(), false, Map.of()), true);

        assertThat(r.status()).isEqualTo(CommandResult.Status.REJECTED);
        assertThat(r.message()).contains("declares no deploy root").contains("releases: /srv/app");
        assertThat(pid(m, 0)).isEqualTo(p0);
        assertThat(ReleaseBook.open(releaseDir).get(name, 0)).isNull();
    }

    // ---- back to the declared spec ----------------------------------------------------------

    @Test
    void backToDeclared_forgetsTheRelease_andTheInstanceRunsTheDeclaredCommandAndEnvironmentAgain() throws Exception {
        ServiceManager m = start(pool().command(PY, worker.toString(), "v1").build());
        int p1 = pid(m, 1);
        Release v2 = new Release("2", PY, List.of(worker.toString(), "v2"), true, Map.of("FLAG", "two"));
        CommandResult moved = apply(m, 0, v2, false);
        assertThat(moved.status()).as(moved.message()).isEqualTo(CommandResult.Status.SUCCEEDED);
        int n0 = moved.released().newPid();
        await().atMost(Duration.ofSeconds(10)).until(() -> v2.equals(release(m, 0)));

        CommandResult back = m.execute(ServiceCommand.ApplyRelease.toDeclared(name, 0, false, "ro-8"))
                .get(60, TimeUnit.SECONDS);

        assertThat(back.status()).as(back.message()).isEqualTo(CommandResult.Status.SUCCEEDED);
        assertThat(back.message()).contains("moved to its declared spec (version '1') from '2'");
        assertThat(back.released().oldPid()).isEqualTo(n0);
        assertThat(back.released().oldVersion()).isEqualTo("2");
        assertThat(back.released().newVersion()).isEqualTo("1");
        int d0 = back.released().newPid();
        assertThat(d0).isPositive().isNotEqualTo(n0);
        assertThat(PROC_LOOKUP.environ(d0)).containsEntry("FLEETKEEPER_VERSION", "1").containsEntry("FLAG", "one")
                .containsEntry("DECLARED", "yes");
        assertThat(cmdline(d0)).containsExactly(PY, worker.toString(), "v1");
        assertThat(ReleaseBook.open(releaseDir).get(name, 0)).as("the record is gone, durably").isNull();
        await().atMost(Duration.ofSeconds(10)).until(() -> versions(m).equals(List.of("1", "1"))
                && release(m, 0) == null);
        assertThat(pid(m, 1)).as("instance 1 untouched").isEqualTo(p1);
        assertThat(replay.events(name, ServiceEvent.Kind.RELEASE_APPLIED)).hasSize(2).last().satisfies(e ->
                assertThat(e.attributes()).containsEntry("rollout_id", "ro-8").containsEntry("to_declared", "true")
                        .containsEntry("old_version", "2").containsEntry("new_version", "1"));

        // A crash restart keeps it on the declared spec.
        kill(d0);
        await().atMost(Duration.ofSeconds(20)).until(() -> pid(m, 0) > 0 && pid(m, 0) != d0
                && state(m, 0) == ManagerState.RUNNING);
        assertThat(cmdline(pid(m, 0))).containsExactly(PY, worker.toString(), "v1");
    }

    @Test
    void aSwitchReportsWhereCurrentPointedBefore_andTheRollbackPutsItBackExactly_notAtTheDeclaredLabel()
            throws Exception {
        // current points at releases/3 although the declared label is 1: only the old target is right.
        Path root = deployRoot("3", "1", "4");
        ServiceManager m = start(pool().command(PY, "worker.py", "v1").workingDir(root.resolve("current"))
                .releases(root).build());
        CommandResult moved = apply(m, 0, new Release("4", "", List.of("worker.py", "v4"), true, Map.of()), true);
        assertThat(moved.status()).as(moved.message()).isEqualTo(CommandResult.Status.SUCCEEDED);
        assertThat(moved.released().previousCurrent()).isEqualTo("releases/3");

        CommandResult outside = m.execute(new ServiceCommand.ApplyRelease(name, 0, null, true, "ro-9", "../../etc"))
                .get(60, TimeUnit.SECONDS);
        assertThat(outside.status()).isEqualTo(CommandResult.Status.REJECTED);
        assertThat(outside.message()).contains("is not a directory under " + root.resolve("releases"));
        assertThat(Files.readSymbolicLink(root.resolve("current"))).isEqualTo(Path.of("releases/4"));

        CommandResult back = m.execute(new ServiceCommand.ApplyRelease(name, 0, null, true, "ro-9", "releases/3"))
                .get(60, TimeUnit.SECONDS);

        assertThat(back.status()).as(back.message()).isEqualTo(CommandResult.Status.SUCCEEDED);
        assertThat(back.message()).contains("current -> releases/3");
        assertThat(Files.readSymbolicLink(root.resolve("current"))).isEqualTo(Path.of("releases/3"));
        assertThat(back.released().previousCurrent()).isEqualTo("releases/4");
        assertThat(cwd(back.released().newPid())).isEqualTo(root.resolve("releases/3").toRealPath());
    }

    @Test
    void backToDeclared_withSwitchCurrent_pointsCurrentAtTheDeclaredVersionsDirectoryAgain() throws Exception {
        Path root = deployRoot("1", "2");
        ServiceManager m = start(pool().command(PY, "worker.py", "v1").workingDir(root.resolve("current"))
                .releases(root).build());
        CommandResult moved = apply(m, 0, new Release("2", "", List.of("worker.py", "v2"), true, Map.of()), true);
        assertThat(moved.status()).as(moved.message()).isEqualTo(CommandResult.Status.SUCCEEDED);
        assertThat(Files.readSymbolicLink(root.resolve("current"))).isEqualTo(Path.of("releases/2"));

        CommandResult back = m.execute(ServiceCommand.ApplyRelease.toDeclared(name, 0, true, "ro-8"))
                .get(60, TimeUnit.SECONDS);

        assertThat(back.status()).as(back.message()).isEqualTo(CommandResult.Status.SUCCEEDED);
        assertThat(back.message()).contains("current -> releases/1");
        assertThat(Files.readSymbolicLink(root.resolve("current"))).isEqualTo(Path.of("releases/1"));
        int d0 = back.released().newPid();
        assertThat(cwd(d0)).as("the declared workingDir, through current").isEqualTo(
                root.resolve("releases/1").toRealPath());
        assertThat(cmdline(d0)).containsExactly(PY, "worker.py", "v1");
        assertThat(ReleaseBook.open(releaseDir).get(name, 0)).isNull();
    }

    @Test
    void backToDeclared_withSwitchCurrent_isRejected_whenTheDeclaredSpecNamesNoReleaseDirectory() throws Exception {
        Path root = deployRoot("2");
        ServiceManager m = start(pool().version("").command(PY, "worker.py", "v1").workingDir(root.resolve("current"))
                .releases(root).build());
        int p0 = pid(m, 0);

        CommandResult r = m.execute(ServiceCommand.ApplyRelease.toDeclared(name, 0, true, "ro-8"))
                .get(60, TimeUnit.SECONDS);

        assertThat(r.status()).isEqualTo(CommandResult.Status.REJECTED);
        assertThat(r.message()).contains("cannot point 'current' back for " + name + "#0")
                .contains("declares no version").contains("'version:' in agent.yaml");
        assertThat(Files.readSymbolicLink(root.resolve("current"))).isEqualTo(Path.of("releases/2"));
        assertThat(pid(m, 0)).isEqualTo(p0);
        assertThat(replay.events(name, ServiceEvent.Kind.RELEASE_APPLIED)).isEmpty();
    }

    // ---- a bad release ----------------------------------------------------------------------

    @Test
    void aReplacementThatExitsAtOnce_fails_theOldProcessRunsOn_andTheRecordIsReverted() throws Exception {
        ServiceManager m = start(pool().command(PY, worker.toString(), "v1").build());
        int p0 = pid(m, 0);

        CommandResult r = apply(m, 0, new Release("2", "/bin/sh", List.of("-c", "exit 3"), true, Map.of()), false);

        assertThat(r.status()).as(r.message()).isEqualTo(CommandResult.Status.FAILED);
        assertThat(r.message()).contains("did not stay up").contains("pid " + p0 + " keeps running release '1'");
        assertThat(r.released().newVersion()).isEqualTo("1");
        assertThat(IncidentReplay.isRunning(p0)).isTrue();
        assertThat(pid(m, 0)).isEqualTo(p0);
        assertThat(ReleaseBook.open(releaseDir).get(name, 0)).as("reverted on disk").isNull();
        assertThat(replay.events(name, ServiceEvent.Kind.RELEASE_FAILED)).singleElement()
                .satisfies(e -> assertThat(e.attributes()).containsEntry("new_version", "2")
                        .containsEntry("old_version", "1").containsEntry("pid", Integer.toString(p0))
                        .containsEntry("mode", "start-first"));
        await().atMost(Duration.ofSeconds(10)).until(() -> versions(m).equals(List.of("1", "1")));

        // The driver forgot the failed release too: a crash restarts the declared spec.
        kill(p0);
        await().atMost(Duration.ofSeconds(20)).until(() -> pid(m, 0) > 0 && pid(m, 0) != p0
                && state(m, 0) == ManagerState.RUNNING);
        assertThat(PROC_LOOKUP.environ(pid(m, 0))).containsEntry("FLEETKEEPER_VERSION", "1");
        assertThat(cmdline(pid(m, 0))).containsExactly(PY, worker.toString(), "v1");
    }

    // ---- helpers ----------------------------------------------------------------------------

    /** {@code tmp/app} with {@code releases/<v>/worker.py} for each version and {@code current -> releases/<first>}. */
    private Path deployRoot(String... versions) throws IOException {
        Path root = Files.createDirectories(tmp.resolve("app"));
        for (String v : versions) {
            writeWorker(Files.createDirectories(root.resolve("releases").resolve(v)));
        }
        Files.createSymbolicLink(root.resolve("current"), Path.of("releases", versions[0]));
        return root;
    }

    /** The instance's pid, from a fresh reconciliation's report. */
    private static int pid(ServiceManager m, int instance) throws Exception {
        m.execute(new ServiceCommand.Doctor("", false)).get(30, TimeUnit.SECONDS); // reconciles soon after
        Thread.sleep(400);
        InstanceView v = IncidentReplay.view(m, instance);
        return v == null ? 0 : v.status().pid();
    }

    private static ManagerState state(ServiceManager m, int instance) {
        InstanceView v = IncidentReplay.view(m, instance);
        return v == null ? ManagerState.UNKNOWN : v.status().state();
    }

    private static Release release(ServiceManager m, int instance) {
        InstanceView v = IncidentReplay.view(m, instance);
        return v == null ? null : v.release();
    }

    private static List<String> versions(ServiceManager m) {
        ServicesReport r = m.lastReport();
        return r == null ? List.of() : r.services().get(0).instances().stream().map(InstanceView::version).toList();
    }

    private static List<String> cmdline(int pid) throws IOException {
        return List.of(Files.readString(Path.of("/proc/" + pid + "/cmdline"), StandardCharsets.UTF_8).split("\0"));
    }

    private static Path cwd(int pid) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/" + pid + "/cwd"));
    }

    /** SIGKILLs an instance's process, after checking that its environment names this test's service. */
    private void kill(int pid) throws IOException {
        assertThat(PROC_LOOKUP.environ(pid)).containsEntry("FLEETKEEPER_SERVICE", name)
                .containsEntry("FLEETKEEPER_TEST_RUN_SERVICE", replay.run);
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
}
