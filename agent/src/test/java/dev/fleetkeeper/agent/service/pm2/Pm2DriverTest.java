package dev.fleetkeeper.agent.service.pm2;

import dev.fleetkeeper.agent.service.DriverException;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.PreStartCheck;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.telemetry.ProcLookup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

/**
 * The PM2 driver against a real PM2 (installed by deploy/src/test/deps/pm2.sh), a daemon of
 * its own per test in a temporary PM2_HOME, killed after each test, and small node scripts
 * that listen on loopback ports.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Pm2DriverTest {

    /** The project's own /proc reader, for what the started processes' environments hold. */
    private static final ProcLookup PROC_LOOKUP = new ProcLookup(Path.of("/proc"));

    /** Writes one line to stdout, one to stderr, one to stdout, then serves "instance N" on a loopback port. */
    private static final String SERVER_JS = """
            const net = require('net');
            const i = process.env.NODE_APP_INSTANCE;
            const s = net.createServer(c => c.end('instance ' + i + '\\n'));
            s.listen(0, '127.0.0.1', () => {
              console.log('ready instance=' + i + ' port=' + s.address().port + ' args=' + process.argv.slice(2).join(','));
              console.error('stderr instance=' + i);
              console.log('after instance=' + i);
            });
            process.on('SIGHUP', () => console.log('got HUP instance=' + i));
            """;

    private static final String CRASH_JS = """
            console.log('boom pid=' + process.pid);
            setTimeout(() => process.exit(3), 50);
            """;

    private static final Pattern READY = Pattern.compile("ready instance=(\\d+) port=(\\d+) args=(\\S*)");

    @TempDir
    Path tmp;

    private final List<ServiceEvent> events = new CopyOnWriteArrayList<>();
    private Path home;

    private Pm2Driver driver(PreStartCheck check) throws IOException {
        home = Files.createDirectories(tmp.resolve("pm2home"));
        return new Pm2Driver(tmp.resolve("state"), check, events::add, InstantSource.system(),
                Duration.ofSeconds(20), Path.of("/etc/passwd"));
    }

    @AfterEach
    void killDaemon() throws Exception {
        if (home != null && Files.exists(home.resolve("rpc.sock"))) {
            ProcessBuilder pb = new ProcessBuilder(pm2Bin().toString(), "kill").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("PM2_HOME", home.toString());
            Process p = pb.start();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("pm2 kill finished").isTrue();
        }
    }

    @Test
    void status_twoInstances_pidsAreLiveNodeProcesses_indexedByNodeAppInstanceNotPmId() throws Exception {
        Pm2Driver driver = driver(PreStartCheck.NONE);
        // Another app first, so that pm_ids (global to the daemon) and instance indices differ.
        ServiceSpec other = spec("other", 1, script("other.js", SERVER_JS));
        driver.apply(other);
        driver.start(other, 0);
        ServiceSpec web = spec("web", 2, script("server.js", SERVER_JS), "a1");
        driver.apply(web);

        driver.start(web, 0);

        List<InstanceStatus> status = driver.status(web);
        assertThat(status).hasSize(2);
        for (InstanceStatus s : status) {
            assertThat(s.state()).isEqualTo(ManagerState.RUNNING);
            assertThat(s.pid()).isPositive();
            Map<String, String> environ = PROC_LOOKUP.environ(s.pid());
            assertThat(environ).containsEntry("NODE_APP_INSTANCE", Integer.toString(s.instance()))
                    .containsEntry("FLEETKEEPER_SERVICE", "web").containsEntry("FLEETKEEPER_VERSION", "1");
            assertThat(Files.readString(Path.of("/proc/" + s.pid() + "/cmdline"))).contains("server.js");
            assertThat(s.managerName()).isNotEqualTo("web (pm_id " + s.instance() + ")");
            assertThat(s.startedAtMillis()).isPositive();
            assertThat(s.restarts()).isZero();
        }
        assertThat(status.get(0).pid()).isNotEqualTo(status.get(1).pid());
        assertThat(events).filteredOn(e -> e.service().equals("web") && e.kind() == ServiceEvent.Kind.STARTED)
                .extracting(e -> e.attributes().get("pid"))
                .containsExactlyInAnyOrder(Integer.toString(status.get(0).pid()), Integer.toString(status.get(1).pid()));
        // Each instance answers on its own loopback port, and says which one it is.
        for (int i = 0; i < 2; i++) {
            int instance = i;
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(driver.tail(web, instance, 10)).anyMatch(l -> READY.matcher(l).find()));
            assertThat(ask(portOf(driver.tail(web, i, 10)))).isEqualTo("instance " + i);
        }
    }

    @Test
    void tail_holdsStdoutAndStderr_andSignalReachesTheProcess() throws Exception {
        Pm2Driver driver = driver(PreStartCheck.NONE);
        ServiceSpec web = spec("web", 1, script("server.js", SERVER_JS));
        driver.apply(web);
        driver.start(web, 0);

        // stdout and stderr reach PM2 through two pipes: both are in the file, in an order PM2 chooses.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(driver.tail(web, 0, 2)).containsExactlyInAnyOrder("stderr instance=0", "after instance=0"));
        assertThat(driver.tail(web, 0, 3).get(0)).startsWith("ready instance=0");

        InstanceStatus before = driver.status(web).get(0);
        driver.signal(web, 0, "HUP");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(driver.tail(web, 0, 1)).containsExactly("got HUP instance=0"));
        InstanceStatus after = driver.status(web).get(0);
        assertThat(after.pid()).as("HUP handled by the same process, not a restart").isEqualTo(before.pid());
        assertThat(after.restarts()).isEqualTo(before.restarts());
    }

    @Test
    void stopAndRestart_actOnOneInstance_restartGivesNewPidAndCountsIt() throws Exception {
        Pm2Driver driver = driver(PreStartCheck.NONE);
        ServiceSpec web = spec("web", 2, script("server.js", SERVER_JS));
        driver.apply(web);
        driver.start(web, 0);
        List<InstanceStatus> before = driver.status(web);
        int pid0 = before.get(0).pid();
        int pid1 = before.get(1).pid();

        driver.stop(web, 1);

        InstanceStatus stopped = driver.status(web).get(1);
        assertThat(stopped.state()).isEqualTo(ManagerState.STOPPED);
        assertThat(stopped.pid()).isZero();
        await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(pid1).isEmpty());
        assertThat(driver.status(web).get(0).pid()).as("instance 0 untouched").isEqualTo(pid0);
        assertThat(events).anyMatch(e -> e.kind() == ServiceEvent.Kind.STOPPED && e.instance() == 1
                && e.attributes().get("pid").equals(Integer.toString(pid1)));

        driver.restart(web, 0);

        InstanceStatus restarted = driver.status(web).get(0);
        assertThat(restarted.state()).isEqualTo(ManagerState.RUNNING);
        assertThat(restarted.pid()).isPositive().isNotEqualTo(pid0);
        assertThat(restarted.restarts()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(pid0).isEmpty());
        assertThat(events).anyMatch(e -> e.kind() == ServiceEvent.Kind.STARTED && e.instance() == 0
                && e.attributes().get("pid").equals(Integer.toString(restarted.pid())));

        driver.start(web, 1);
        assertThat(driver.status(web).get(1).state()).isEqualTo(ManagerState.RUNNING);
        assertThat(driver.status(web).get(1).pid()).isPositive();
    }

    @Test
    void crashingScript_isRestartedWithBackoff_restartsAndExitCodeReported() throws Exception {
        Pm2Driver driver = driver(PreStartCheck.NONE);
        ServiceSpec crash = spec("crash", 1, script("crash.js", CRASH_JS));
        driver.apply(crash);
        driver.start(crash, 0);

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            InstanceStatus s = driver.status(crash).get(0);
            assertThat(s.restarts()).isGreaterThanOrEqualTo(3);
            assertThat(s.exitCode()).isEqualTo(3);
            assertThat(s.state()).isEqualTo(ManagerState.BACKOFF);
        });
        assertThat(driver.tail(crash, 0, 5)).hasSizeGreaterThanOrEqualTo(3).allMatch(l -> l.startsWith("boom pid="));
    }

    @Test
    void crashingScript_withRestartNever_staysDownWithItsExitCode() throws Exception {
        Pm2Driver driver = driver(PreStartCheck.NONE);
        ServiceSpec once = builder("once", 1, script("crash.js", CRASH_JS)).restart(ServiceSpec.RestartPolicy.NEVER)
                .build();
        driver.apply(once);
        driver.start(once, 0);

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            InstanceStatus s = driver.status(once).get(0);
            assertThat(s.state()).isEqualTo(ManagerState.STOPPED);
            assertThat(s.exitCode()).isEqualTo(3);
            assertThat(s.pid()).isZero();
        });
        Thread.sleep(500); // no restart may follow
        assertThat(driver.status(once).get(0).restarts()).isZero();
    }

    @Test
    void start_ofAMissingScript_failsWithPm2sReason_andReportsStartFailed() throws Exception {
        Pm2Driver driver = driver(PreStartCheck.NONE);
        ServiceSpec gone = spec("gone", 1, tmp.resolve("no-such-script.js"));
        driver.apply(gone);

        assertThatThrownBy(() -> driver.start(gone, 0)).isInstanceOf(DriverException.class)
                .hasMessageContaining("no-such-script.js").hasMessageContaining("without a process");
        assertThat(events).anyMatch(e -> e.kind() == ServiceEvent.Kind.START_FAILED && e.service().equals("gone"));
        assertThat(driver.status(gone).get(0).state()).isEqualTo(ManagerState.UNKNOWN);
    }

    @Test
    void preflightRefusal_startsNothing_andReportsStartRefused() throws Exception {
        Pm2Driver driver = driver((spec, i) -> i == 1 ? "port 4001 is held by pid 77 (nginx)" : null);
        ServiceSpec web = spec("web", 2, script("server.js", SERVER_JS));
        driver.apply(web);

        assertThatThrownBy(() -> driver.start(web, 0)).isInstanceOf(DriverException.class)
                .hasMessageContaining("port 4001 is held by pid 77");

        assertThat(events).anyMatch(e -> e.kind() == ServiceEvent.Kind.START_REFUSED && e.instance() == 1);
        assertThat(driver.status(web)).allMatch(s -> s.state() == ManagerState.UNKNOWN && s.pid() == 0);
    }

    @Test
    void isMember_acceptsTheEnvironmentOfARealInstance_rejectsOthers() throws Exception {
        Pm2Driver driver = driver(PreStartCheck.NONE);
        ServiceSpec web = spec("web", 1, script("server.js", SERVER_JS));
        ServiceSpec other = spec("other", 1, script("other.js", SERVER_JS));
        driver.apply(web);
        driver.start(web, 0);
        Map<String, String> environ = PROC_LOOKUP.environ(driver.status(web).get(0).pid());

        assertThat(driver.isMember(web, environ)).isTrue();
        assertThat(driver.isMember(other, environ)).isFalse();
        assertThat(driver.isMember(web, System.getenv())).isFalse();
        // PM2's own marks alone (a process started before FLEETKEEPER_SERVICE was set) still prove it.
        Map<String, String> pm2Only = new HashMap<>(environ);
        pm2Only.remove("FLEETKEEPER_SERVICE");
        assertThat(driver.isMember(web, pm2Only)).isTrue();
        // ...but not the same app name under another PM2 home (another user's daemon).
        pm2Only.put("PM2_HOME", "/home/someone-else/.pm2");
        assertThat(driver.isMember(web, pm2Only)).isFalse();
    }

    @Test
    void configDrift_namesChangedArgs_restartRefused_reloadMovesEveryInstance() throws Exception {
        Pm2Driver driver = driver(PreStartCheck.NONE);
        Path js = script("server.js", SERVER_JS);
        ServiceSpec v1 = spec("web", 2, js, "a1");
        driver.apply(v1);
        driver.start(v1, 0);
        assertThat(driver.configDrift(v1)).isEmpty();
        List<Integer> oldPids = driver.status(v1).stream().map(InstanceStatus::pid).toList();

        ServiceSpec v2 = v1.withRelease("2", "node", List.of(js.toString(), "b2"));
        driver.apply(v2);

        assertThat(driver.configDrift(v2)).containsExactly("PM2 passes ['a1'] to 'web', the spec says ['b2']");
        assertThatThrownBy(() -> driver.restart(v2, 0)).isInstanceOf(DriverException.class)
                .hasMessageContaining("pm2 reload");
        assertThat(driver.status(v2).stream().map(InstanceStatus::pid).toList()).isEqualTo(oldPids);

        driver.reload(v2);

        assertThat(driver.configDrift(v2)).isEmpty();
        for (InstanceStatus s : driver.status(v2)) {
            assertThat(s.pid()).isPositive().isNotIn(oldPids);
            assertThat(PROC_LOOKUP.environ(s.pid())).containsEntry("FLEETKEEPER_VERSION", "2");
        }
    }

    @Test
    void pm2Missing_isUnreachable_namingThePathAndWhatToDo() throws Exception {
        Pm2Driver driver = driver(PreStartCheck.NONE);
        ServiceSpec absolute = builder("web", 1, tmp.resolve("server.js"))
                .pm2(new ServiceSpec.Pm2Spec("/opt/nowhere/bin/pm2", home, "web")).build();
        ServiceSpec onPath = builder("web", 1, tmp.resolve("server.js"))
                .pm2(new ServiceSpec.Pm2Spec("pm2-not-installed-here", home, "web")).build();

        assertThatThrownBy(() -> driver.status(absolute)).isInstanceOf(DriverException.class)
                .matches(e -> ((DriverException) e).isUnreachable(), "unreachable")
                .hasMessageContaining("/opt/nowhere/bin/pm2").hasMessageContaining("npm install -g pm2")
                .hasMessageContaining("pm2.bin");
        assertThatThrownBy(() -> driver.start(onPath, 0)).isInstanceOf(DriverException.class)
                .matches(e -> ((DriverException) e).isUnreachable(), "unreachable")
                .hasMessageContaining("pm2-not-installed-here").hasMessageContaining("PATH");
    }

    @Test
    void status_withoutADaemon_isUnknown_andSpawnsNone() throws Exception {
        Pm2Driver driver = driver(PreStartCheck.NONE);
        ServiceSpec web = spec("web", 2, script("server.js", SERVER_JS));
        driver.apply(web);

        assertThat(driver.status(web)).extracting(InstanceStatus::state)
                .containsExactly(ManagerState.UNKNOWN, ManagerState.UNKNOWN);
        assertThat(driver.status(web).get(0).detail()).contains("no PM2 daemon runs in " + home);
        assertThat(home.resolve("rpc.sock")).doesNotExist();
    }

    // User switching (runuser -u USER) is not run for real here: the pm2 these tests use lives
    // under root's home (mode 0700), which another user cannot execute, and installing a second
    // copy for a test user is not cheap. Pm2CliTest checks the command line it builds.

    // --- fixtures -------------------------------------------------------------------------------

    static Path pm2Bin() {
        String override = System.getenv("FLEETKEEPER_TEST_PM2");
        Path bin = override != null && !override.isEmpty() ? Path.of(override)
                : Path.of(System.getProperty("user.home"), ".cache/fleetkeeper-test/pm2/node_modules/.bin/pm2");
        if (!Files.isExecutable(bin)) {
            fail("no pm2 at " + bin + ": run deploy/src/test/deps/pm2.sh (or set FLEETKEEPER_TEST_PM2)");
        }
        return bin;
    }

    private Path script(String name, String text) throws IOException {
        Path p = tmp.resolve("app").resolve(name);
        Files.createDirectories(p.getParent());
        return Files.writeString(p, text);
    }

    private ServiceSpec.Builder builder(String name, int instances, Path script, String... args) {
        String[] all = new String[args.length + 1];
        all[0] = script.toString();
        System.arraycopy(args, 0, all, 1, args.length);
        return ServiceSpec.builder(name, DriverKind.PM2)
                .instances(instances)
                .command("node", all)
                .workingDir(script.getParent())
                .stopTimeout(Duration.ofSeconds(3))
                .backoff(new ServiceSpec.BackoffSpec(Duration.ofMillis(100), Duration.ofSeconds(1),
                        Duration.ofSeconds(5)))
                .version("1")
                .pm2(new ServiceSpec.Pm2Spec(pm2Bin().toString(), home, name));
    }

    private ServiceSpec spec(String name, int instances, Path script, String... args) {
        return builder(name, instances, script, args).build();
    }

    private static int portOf(List<String> lines) {
        for (String l : lines) {
            Matcher m = READY.matcher(l);
            if (m.find()) {
                return Integer.parseInt(m.group(2));
            }
        }
        throw new AssertionError("no ready line in " + lines);
    }

    private static String ask(int port) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(5000);
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
        }
    }
}
