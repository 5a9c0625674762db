package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.cli.CliRun;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Incident 1 from the CLI: a real agent runs a service under the built-in driver through a real
 * controller, an orphan of the old release holds the service's port and its pidfile names a
 * dead pid. {@code services}, {@code doctor}, {@code doctor --fix}, {@code restart},
 * {@code logs} and {@code events} tell and fix the story, as the README's runbook walks it.
 */
@Timeout(180)
class ServicesEndToEndTest {

    private static final String HOST = "e2e-svc";
    /** Unique to this run: another checkout's tests may run on this machine with a service "web". */
    private static final String WEB = "web-" + ProcessHandle.current().pid();
    private static final String PYTHON = "/usr/bin/python3";

    @TempDir
    Path dir;

    private MiniFleet fleet;
    private Process orphanParent;
    private int orphanPid;

    @AfterEach
    void stop() throws Exception {
        if (fleet != null) {
            fleet.close();
        }
        if (orphanPid > 0) {
            ProcessHandle.of(orphanPid).ifPresent(ProcessHandle::destroyForcibly);
        }
        if (orphanParent != null) {
            orphanParent.destroyForcibly();
        }
    }

    @Test
    void doctorTellsTheStoryFixRepairsItAndTheServiceRunsAgain() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path app = Files.createDirectories(dir.resolve("app"));
        Path worker = app.resolve("worker.py");
        Files.writeString(worker, String.join("\n",
                "import os, socket, sys, time",
                "port, pidfile = int(sys.argv[1]), sys.argv[2]",
                "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
                "s.bind(('127.0.0.1', port)); s.listen(8)",
                "open(pidfile, 'w').write(str(os.getpid()))",
                "print('web listening on', port, flush=True)",
                "time.sleep(600)", ""));
        Path pidfile = app.resolve("web.pid");
        // The old release: its worker's child outlived it and still listens, carrying the marker.
        Path orphanOut = dir.resolve("orphan.pid");
        ProcessBuilder pb = new ProcessBuilder(PYTHON, "-c", "import os, socket, time\n"
                + "if os.fork() == 0:\n"
                + "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                + "    s.bind(('127.0.0.1', " + port + ")); s.listen(8)\n"
                + "    open('" + orphanOut + "', 'w').write(str(os.getpid()))\n"
                + "    time.sleep(600)\n"
                + "os._exit(0)\n").redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("FLEETKEEPER_SERVICE", WEB);
        orphanParent = pb.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(orphanOut) && !Files.readString(orphanOut).isBlank());
        orphanPid = Integer.parseInt(Files.readString(orphanOut).trim());
        await().atMost(Duration.ofSeconds(10)).until(() -> listening(port));
        Process gone = new ProcessBuilder(PYTHON, "-c", "pass").start();
        gone.waitFor(10, TimeUnit.SECONDS);
        Files.writeString(pidfile, gone.pid() + "\n");

        ServiceSpec web = ServiceSpec.builder(WEB, DriverKind.BUILTIN)
                .command(PYTHON, worker.toString(), Integer.toString(port), pidfile.toString())
                .ports(List.of(port), 1)
                .pidfile(pidfile.toString())
                .stopTimeout(Duration.ofSeconds(3))
                .build(); // remedies: refuse (the default)
        fleet = MiniFleet.start(dir, Duration.ofSeconds(5));
        fleet.startAgent(HOST, List.of(ServiceDeclaration.valid(web)));

        // services: the instance is down and the findings are counted.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            CliRun.Result r = CliRun.run(fleet.target(), "services", "--host", HOST);
            assertThat(r.exitCode()).isZero();
            assertThat(r.out()).contains("web").contains("PORT_HELD").contains("STALE_PIDFILE");
        });

        // doctor: the whole story on one screen; exit 1 while findings remain.
        CliRun.Result doctor = CliRun.run(fleet.target(), "doctor", HOST);
        assertThat(doctor.exitCode()).as(doctor.err()).isEqualTo(1);
        assertThat(doctor.out())
                .contains("PORT_HELD").contains("an orphan of this service").contains(Integer.toString(orphanPid))
                .contains("STALE_PIDFILE").contains(pidfile.toString())
                .contains("--fix");
        assertThat(isRunning(orphanPid)).as("doctor alone changes nothing").isTrue();

        // doctor --fix: the safe remedies, with before/after; nothing left.
        CliRun.Result fix = CliRun.run(fleet.target(), "doctor", HOST, "--fix");
        assertThat(fix.out()).contains("PORT_HELD").contains("STALE_PIDFILE").contains("stopped pid " + orphanPid)
                .contains("removed stale pidfile");
        assertThat(fix.exitCode()).as(fix.out()).isZero();
        assertThat(isRunning(orphanPid)).isFalse();
        assertThat(pidfile).doesNotExist();

        // restart: pre-flight passes now; the instance holds its own port.
        CliRun.Result restart = CliRun.run(fleet.target(), "restart", WEB, "--host", HOST);
        assertThat(restart.exitCode()).as(restart.out() + restart.err()).isZero();
        assertThat(restart.out()).contains("restarted " + WEB + "#0");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            CliRun.Result r = CliRun.run(fleet.target(), "services", "--host", HOST, "--json");
            assertThat(r.out()).contains("\"MANAGER_STATE_RUNNING\"").contains("\"bound_ports\": [" + port + "]")
                    .doesNotContain("PORT_HELD");
        });
        CliRun.Result logs = CliRun.run(fleet.target(), "logs", WEB, "--host", HOST, "-n", "5");
        assertThat(logs.exitCode()).isZero();
        assertThat(logs.out()).contains("web listening on " + port);

        // The remedies are kept on the controller as events, with their evidence.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            CliRun.Result ev = CliRun.run(fleet.target(), "events", "--host", HOST, "--type", "remedy-applied");
            assertThat(ev.out()).contains("stopped pid " + orphanPid).contains("removed stale pidfile");
        });
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return s.isConnected();
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean isRunning(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }
}
