package dev.fleetkeeper.agent.manage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.agent.config.AgentConfig;
import dev.fleetkeeper.agent.config.AgentConfigLoader;
import dev.fleetkeeper.agent.doctor.Finding;
import dev.fleetkeeper.agent.doctor.FindingCode;
import dev.fleetkeeper.agent.service.ManagerState;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad service declarations and unreachable managers each become a finding naming the service
 * and what to do, while the agent keeps running every other service: an unknown driver, a
 * supervisord socket that is not there, a PM2 that is not installed, a user that does not exist.
 */
@Timeout(120)
class BadServicesTest {

    private static final String GOOD = IncidentReplay.unique("good");
    private static final String LEGACY = IncidentReplay.unique("legacy");
    private static final String QUEUE = IncidentReplay.unique("queue");
    private static final String FRONTEND = IncidentReplay.unique("frontend");
    private static final String GHOST_USER = IncidentReplay.unique("ghost-user");

    @TempDir
    Path tmp;

    private IncidentReplay replay;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (replay != null) {
            replay.close(Set.of(GOOD, GHOST_USER));
        }
    }

    @Test
    void eachBadServiceIsAFindingAndTheGoodOneRuns() throws Exception {
        replay = new IncidentReplay();
        String yaml = String.join("\n",
                "services:",
                "  - name: " + GOOD,
                "    driver: builtin",
                "    command: " + IncidentReplay.PYTHON,
                "    args: ['-c', 'import time; time.sleep(600)']",
                "    env: {FLEETKEEPER_TEST_RUN_SERVICE: " + replay.run + "}",
                "  - name: " + LEGACY,
                "    driver: systemd",
                "    command: /usr/bin/legacyd",
                "  - name: " + QUEUE,
                "    driver: supervisor",
                "    supervisor: {url: 'unix://" + tmp.resolve("no-such.sock") + "'}",
                "  - name: " + FRONTEND,
                "    driver: pm2",
                "    pm2: {bin: /nonexistent/bin/pm2, home: " + tmp.resolve("pm2home") + "}",
                "  - name: " + GHOST_USER,
                "    driver: builtin",
                "    user: fk-no-such-user-5512",
                "    command: /bin/sleep",
                "    args: ['600']",
                "    env: {FLEETKEEPER_TEST_RUN_SERVICE: " + replay.run + "}",
                "");
        AgentConfig config = AgentConfigLoader.parse("agent.yaml", yaml);

        ServiceManager m = replay.start(config.services(),
                new StandardDrivers(tmp.resolve("state"), Path.of("/proc"), InstantSource.system()));

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            ServicesReport r = m.lastReport();
            assertThat(r).isNotNull();
            assertThat(r.services()).extracting(ServiceState::name)
                    .containsExactly(GOOD, LEGACY, QUEUE, FRONTEND, GHOST_USER);
            ServiceState good = r.services().get(0);
            assertThat(good.instances()).singleElement()
                    .satisfies(v -> assertThat(v.status().state()).isEqualTo(ManagerState.RUNNING));
            assertThat(good.findings()).isEmpty();
        });
        assertThat(only(m, LEGACY)).singleElement().satisfies(f -> {
            assertThat(f.code()).isEqualTo(FindingCode.SPEC_INVALID);
            assertThat(f.evidence().get(0).value()).contains("agent.yaml:8").contains("unknown driver 'systemd'");
        });
        assertThat(only(m, QUEUE)).singleElement().satisfies(f -> {
            assertThat(f.code()).isEqualTo(FindingCode.MANAGER_UNREACHABLE);
            assertThat(f.evidence().get(0).value()).contains(tmp.resolve("no-such.sock").toString());
        });
        assertThat(only(m, FRONTEND)).singleElement().satisfies(f -> {
            assertThat(f.code()).isEqualTo(FindingCode.MANAGER_UNREACHABLE);
            assertThat(f.evidence().get(0).value()).contains("/nonexistent/bin/pm2").contains("npm install");
        });
        assertThat(only(m, GHOST_USER)).extracting(Finding::code).contains(FindingCode.USER_UNKNOWN);
        assertThat(m.failures()).as("no task of the service manager threw").isZero();
    }

    private static List<Finding> only(ServiceManager m, String service) {
        return IncidentReplay.findings(m, service);
    }
}
