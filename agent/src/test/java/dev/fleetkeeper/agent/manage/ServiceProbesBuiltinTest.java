package dev.fleetkeeper.agent.manage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.probe.ProbeResult;
import dev.fleetkeeper.agent.probe.ProbeSpec;
import dev.fleetkeeper.agent.release.Release;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.ServiceSpec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
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
 * Health probes of real HTTP workers under the built-in driver: the declared probe runs against
 * every instance's own port and its result names the process it probed; a release brings its own
 * probe for the instances it moves; a release with a probe for a service without ports is refused.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServiceProbesBuiltinTest {

    private static final String PY = IncidentReplay.PYTHON;

    @TempDir
    Path tmp;

    private IncidentReplay replay;
    private String name;
    private Path worker;
    private int base;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(Files.isExecutable(Path.of(PY)), "needs " + PY);
        Files.setAttribute(tmp, "unix:mode", 0755);
        name = IncidentReplay.unique("probe");
        worker = tmp.resolve("health.py");
        // Serves GET /healthz with HEALTH_STATUS (200 by default) on BASE + its instance index.
        Files.writeString(worker, String.join("\n",
                "import http.server, os, sys",
                "port = int(sys.argv[1]) + int(os.environ['FLEETKEEPER_INSTANCE'])",
                "status = int(os.environ.get('HEALTH_STATUS', '200'))",
                "class H(http.server.BaseHTTPRequestHandler):",
                "    def do_GET(self):",
                "        self.send_response(status if self.path == '/healthz' else 404)",
                "        self.end_headers()",
                "    def log_message(self, *a):",
                "        pass",
                "http.server.HTTPServer(('127.0.0.1', port), H).serve_forever()",
                ""));
        Files.setAttribute(worker, "unix:mode", 0644);
        base = twoFreePorts();
        replay = new IncidentReplay();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (replay != null) {
            replay.close(Set.of(name));
        }
    }

    private ServiceSpec.Builder pool() {
        return ServiceSpec.builder(name, DriverKind.BUILTIN)
                .instances(2)
                .command(PY, worker.toString(), Integer.toString(base))
                .ports(List.of(base), 1)
                .env(Map.of("FLEETKEEPER_TEST_RUN_SERVICE", replay.run))
                .stopTimeout(Duration.ofSeconds(3))
                .startTimeout(Duration.ofSeconds(10))
                .version("1");
    }

    private ServiceManager start(ServiceSpec spec) {
        return replay.start(List.of(ServiceDeclaration.valid(spec)),
                new StandardDrivers(tmp.resolve("state"), Path.of("/proc"), InstantSource.system()), null,
                tmp.resolve("state/releases"));
    }

    @Test
    void theDeclaredProbe_passesOnEachInstancesOwnPort_forTheProcessItRunsNow() {
        ServiceManager m = start(pool().probe(ProbeSpec.parse("http:/healthz")).build());

        for (int i = 0; i < 2; i++) {
            int instance = i;
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                InstanceView v = IncidentReplay.view(m, instance);
                assertThat(v.status().state()).isEqualTo(ManagerState.RUNNING);
                assertThat(v.probe()).isNotNull();
                assertThat(v.probe().ok()).as(v.probe().detail()).isTrue();
                assertThat(v.probe().pid()).isEqualTo(v.status().pid());
                assertThat(v.probe().detail()).isEqualTo("HTTP 200 from :" + (base + instance) + "/healthz");
            });
        }
    }

    @Test
    void aReleasesProbe_runsOnTheInstancesItMoved_andAFailingAnswerIsReported() throws Exception {
        ServiceManager m = start(pool().build());
        await().atMost(Duration.ofSeconds(20)).until(() -> IncidentReplay.running(m) == 2);
        assertThat(IncidentReplay.view(m, 0).probe()).as("no probe declared").isNull();

        Release unhealthy = new Release("2", "", List.of(), false, Map.of("HEALTH_STATUS", "503"),
                ProbeSpec.parse("http:/healthz"));
        CommandResult r = m.execute(new ServiceCommand.ApplyRelease(name, 0, unhealthy, false, "ro-probe"))
                .get(60, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.message()).isEqualTo(CommandResult.Status.SUCCEEDED);

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            ProbeResult p = IncidentReplay.view(m, 0).probe();
            assertThat(p).isNotNull();
            assertThat(p.ok()).isFalse();
            assertThat(p.detail()).isEqualTo("HTTP 503 from :" + base + "/healthz");
            assertThat(p.pid()).isEqualTo(r.released().newPid());
        });
        assertThat(IncidentReplay.view(m, 1).probe()).as("instance 1 stays on the declared spec, without a probe")
                .isNull();
    }

    @Test
    void aReleaseWithAProbe_forAServiceWithoutPorts_isRejected_andChangesNothing() throws Exception {
        ServiceManager m = start(pool().ports(List.of(), 1).build());
        await().atMost(Duration.ofSeconds(20)).until(() -> IncidentReplay.running(m) == 2);
        int before = IncidentReplay.view(m, 0).status().pid();

        CommandResult r = m.execute(new ServiceCommand.ApplyRelease(name, 0, new Release("2", "", List.of(), false,
                Map.of(), ProbeSpec.parse("tcp")), false, "ro-noports")).get(60, TimeUnit.SECONDS);

        assertThat(r.status()).isEqualTo(CommandResult.Status.REJECTED);
        assertThat(r.message()).contains("declares no ports");
        assertThat(IncidentReplay.view(m, 0).status().pid()).isEqualTo(before);
        assertThat(IncidentReplay.view(m, 0).version()).isEqualTo("1");
    }

    /** The first of two consecutive free loopback ports. */
    private static int twoFreePorts() throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            try (ServerSocket a = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                int p = a.getLocalPort();
                if (p < 65535) {
                    try (ServerSocket b = new ServerSocket(p + 1, 1, InetAddress.getLoopbackAddress())) {
                        return b.getLocalPort() - 1;
                    } catch (IOException taken) {
                        // try another pair
                    }
                }
            }
        }
        throw new IOException("no two consecutive free ports on loopback after 50 tries");
    }
}
