package dev.fleetkeeper.cli.command;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.cli.FakeController;
import java.io.IOException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class ServicesCommandTest {
    private FakeController controller;

    @BeforeEach
    void start() throws IOException {
        controller = new FakeController();
    }

    @AfterEach
    void stop() {
        controller.close();
    }

    @Test
    void services_showManagerAndProcSideBySide_markDisagreement_andCountFindings() {
        CliRun.Result result = CliRun.run(controller.address(), "services", "--host", "web-1");

        assertThat(result.exitCode()).isZero();
        assertThat(result.lines()).containsExactly(
                "web-1: 2 services, reported 4s ago (2026-11-05 11:59:56)",
                "SERVICE  #  MGR STATE  MGR PID  RESTARTS  PROC  PROC PID   RSS  PORTS  BOUND  PROBE    AGREE",
                "api      0  running       2201         0  S         2201  412M  3000   -      FAILING  NO",
                "api      1  running       2202         1  S         2202  380M  3001   3001   ok       yes",
                "worker   0  backoff          -         7  -            -     -  -      -      -        yes",
                "api#0: probe http:/healthz failing since 1m ago: connection refused on :3000 (GET /healthz)",
                "api: 2 findings (1 critical, 1 warning): PORT_HELD, PATH_NOT_WRITABLE",
                "worker: 1 finding (1 critical): CRASH_LOOP",
                "Evidence and remedies: fleetkeeper doctor web-1");
    }

    @Test
    void everyHost_isListed_andAnOfflineHostIsMarked_withItsLastReport() {
        CliRun.Result result = CliRun.run(controller.address(), "services");

        assertThat(result.exitCode()).isZero();
        assertThat(result.lines()).startsWith(
                "db-1: 1 service, reported 5m ago (2026-11-05 11:55:00). WARNING: db-1 is offline; this is its last"
                        + " reported state.",
                "SERVICE  #  MGR STATE  MGR PID  RESTARTS  PROC  PROC PID    RSS  PORTS  BOUND  PROBE  AGREE",
                "backup   0  running        900         -  S          900  20.0M  -      -      -      yes",
                "backup: no findings",
                "");
        assertThat(result.lines()).contains("web-1: 2 services, reported 4s ago (2026-11-05 11:59:56)");
    }

    @Test
    void json_isTheResponse_withTheConsistencyFlagPerInstance() throws IOException {
        CliRun.Result result = CliRun.run(controller.address(), "services", "--host", "web-1", "--json");

        assertThat(result.exitCode()).isZero();
        JsonNode host = new ObjectMapper().readTree(result.out()).get("hosts").get(0);
        assertThat(host.get("hostname").asText()).isEqualTo("web-1");
        assertThat(host.get("online").asBoolean()).isTrue();
        JsonNode api = host.get("report").get("services").get(0);
        assertThat(api.get("instances").get(0).get("consistent").asBoolean()).isFalse();
        assertThat(api.get("instances").get(0).get("manager_state").asText()).isEqualTo("MANAGER_STATE_RUNNING");
        assertThat(api.get("findings")).hasSize(2);
    }

    @Test
    void unknownHost_exits1_unreachableController_exits2() {
        CliRun.Result unknown = CliRun.run(controller.address(), "services", "--host", "nope");
        assertThat(unknown.exitCode()).isEqualTo(1);
        assertThat(unknown.errLines()).singleElement().asString().startsWith("fleetkeeper: no host 'nope'");

        String address = controller.address();
        controller.close();
        CliRun.Result unreachable = CliRun.run(address, "services");
        assertThat(unreachable.exitCode()).isEqualTo(2);
        assertThat(unreachable.errLines()).singleElement().asString()
                .startsWith("fleetkeeper: cannot reach the controller at " + address);
    }
}
