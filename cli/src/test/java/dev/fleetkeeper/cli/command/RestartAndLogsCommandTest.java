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
class RestartAndLogsCommandTest {
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
    void restart_defaultsToEveryInstance_andPrintsTheAgentsAnswer() {
        CliRun.Result result = CliRun.run(controller.address(), "restart", "api", "--host", "web-1");

        assertThat(result.exitCode()).isZero();
        assertThat(result.lines()).containsExactly(
                "web-1: restart api (all instances) done: restarted api#0, api#1 (pre-flight passed)");
        assertThat(controller.lastRestart().getInstance()).isEqualTo(-1);
        assertThat(controller.lastRestart().getHost()).isEqualTo("web-1");
    }

    @Test
    void restart_ofOneInstance_sendsItsIndex_andJsonIsTheOutcome() throws IOException {
        CliRun.Result result = CliRun.run(controller.address(), "restart", "api", "--host", "web-1", "--instance", "1",
                "--json");

        assertThat(result.exitCode()).isZero();
        assertThat(controller.lastRestart().getInstance()).isEqualTo(1);
        JsonNode outcome = new ObjectMapper().readTree(result.out());
        assertThat(outcome.get("action_id").asText()).isEqualTo(FakeController.ACTION_ID);
        assertThat(outcome.get("status").asText()).isEqualTo("ACTION_STATUS_SUCCEEDED");
    }

    @Test
    void restart_ofAServiceTheAgentDoesNotKnow_exits1_withItsMessage() {
        CliRun.Result result = CliRun.run(controller.address(), "restart", "nope", "--host", "web-1");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.errLines()).containsExactly("fleetkeeper: the agent on web-1 refused restart nope (all"
                + " instances): no service 'nope' on this host (declared: api, worker) (action "
                + FakeController.ACTION_ID + ")");
    }

    @Test
    void restart_onAnOfflineHost_exits1() {
        CliRun.Result result = CliRun.run(controller.address(), "restart", "api", "--host", "db-1");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.errLines()).containsExactly(
                "fleetkeeper: host db-1 is offline (last seen 5m ago); the agent must be connected to restart a service");
    }

    @Test
    void logs_printTheLinesUnderAHeader_andPassInstanceAndCount() {
        CliRun.Result result = CliRun.run(controller.address(), "logs", "api", "--host", "web-1", "--instance", "1",
                "-n", "2");

        assertThat(result.exitCode()).isZero();
        assertThat(result.lines()).containsExactly(
                "==> web-1 api#1: last 2 lines <==",
                "ERROR: Application Failed to Bind Port.",
                "FATAL: Cannot bind port 3000: Address already in use (bind:3000)");
        assertThat(controller.lastTailLogs().getLines()).isEqualTo(2);
        assertThat(controller.lastTailLogs().getInstance()).isEqualTo(1);
    }

    @Test
    void logs_defaultTo100LinesOfInstance0_jsonIsTheResponse() throws IOException {
        CliRun.Result result = CliRun.run(controller.address(), "logs", "api", "--host", "web-1", "--json");

        assertThat(result.exitCode()).isZero();
        assertThat(controller.lastTailLogs().getLines()).isEqualTo(100);
        assertThat(controller.lastTailLogs().getInstance()).isZero();
        assertThat(new ObjectMapper().readTree(result.out()).get("logs").get("lines")).hasSize(2);
    }

    @Test
    void logs_withABadLineCount_isAUsageError() {
        CliRun.Result result = CliRun.run(controller.address(), "logs", "api", "--host", "web-1", "-n", "0");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("-n: 0 (expected: 1 to 10000)");
        assertThat(controller.lastTailLogs()).isNull();
    }
}
