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
class DoctorCommandTest {
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
    void doctor_tellsEachFindingsWholeStory_andExits1WhileFindingsRemain() {
        CliRun.Result result = CliRun.run(controller.address(), "doctor", "web-1");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err()).isEmpty();
        assertThat(result.lines()).containsExactly(
                "web-1: doctor examined api: 2 findings.",
                "",
                "[1] CRITICAL  PORT_HELD  api#0: port 3000 is held by pid 4211, a process of an older release",
                "    holder:  4211 node /srv/app/releases/41/server.js",
                "    started: 2026-11-05 09:12:03 (before the deploy)",
                "    Why: The previous release's node process never exited; api#0 cannot bind until it does.",
                "    Remedy (automatic with --fix): stop pid 4211 (SIGTERM, then SIGKILL after 30s)",
                "      $ kill -TERM 4211",
                "",
                "[2] WARNING  PATH_NOT_WRITABLE  api: www-data cannot write /srv/app/current/storage",
                "    path: /srv/app/current/storage root:root 0755",
                "    Why: The deploy left the directory owned by root.",
                "    Remedy (by hand): give the directory back to the service user",
                "      $ chown -R www-data:www-data /srv/app/current/storage",
                "",
                "web-1: 2 findings remain; 'fleetkeeper doctor web-1 --fix' applies 1 automatic remedy; the rest"
                        + " need the commands shown above.");
        assertThat(controller.lastDoctor().getFix()).isFalse();
        assertThat(controller.lastDoctor().getService()).isEmpty();
    }

    @Test
    void fix_showsEachRemedyWithBeforeAndAfter_thenWhatRemains() {
        CliRun.Result result = CliRun.run(controller.address(), "doctor", "web-1", "--fix");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(controller.lastDoctor().getFix()).isTrue();
        String out = result.out();
        assertThat(out).contains(String.join("\n",
                "Applied 1 remedy:",
                "  ok     PORT_HELD  api#0: stopped pid 4211 (SIGTERM, exited after 120 ms)",
                "         before:",
                "           holder of :3000: 4211 node /srv/app/releases/41/server.js",
                "         after:",
                "           holder of :3000: 2201 node (api#0)",
                "",
                "Remaining: 1 finding",
                "",
                "[1] WARNING  PATH_NOT_WRITABLE  api: www-data cannot write /srv/app/current/storage"));
        assertThat(result.lines()).last().isEqualTo("web-1: 1 finding remains; run the commands shown above by hand.");
    }

    @Test
    void healthyService_exits0() {
        CliRun.Result result = CliRun.run(controller.address(), "doctor", "web-1", "backup");

        assertThat(result.exitCode()).isZero();
        assertThat(result.lines()).containsExactly("web-1: doctor examined backup: no findings.", "",
                "web-1: nothing left to fix.");
        assertThat(controller.lastDoctor().getService()).isEqualTo("backup");
    }

    @Test
    void json_isTheDoctorResponse_withTheSameExitStatus() throws IOException {
        CliRun.Result result = CliRun.run(controller.address(), "doctor", "web-1", "--fix", "--json");

        assertThat(result.exitCode()).isEqualTo(1);
        JsonNode response = new ObjectMapper().readTree(result.out());
        assertThat(response.get("outcome").get("status").asText()).isEqualTo("ACTION_STATUS_SUCCEEDED");
        assertThat(response.get("report").get("applied").get(0).get("code").asText()).isEqualTo("PORT_HELD");
        assertThat(response.get("report").get("remaining").get(0).get("code").asText()).isEqualTo("PATH_NOT_WRITABLE");

        assertThat(CliRun.run(controller.address(), "doctor", "web-1", "backup", "--json").exitCode()).isZero();
    }

    @Test
    void unknownServiceRejectedByTheAgent_isOneLine_exit1() {
        CliRun.Result result = CliRun.run(controller.address(), "doctor", "web-1", "nope");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.out()).isEmpty();
        assertThat(result.errLines()).containsExactly("fleetkeeper: the agent on web-1 refused doctor nope: no service"
                + " 'nope' on this host (declared: api, worker) (action " + FakeController.ACTION_ID + ")");
    }

    @Test
    void offlineHost_isOneLineSayingWhy_exit1() {
        CliRun.Result result = CliRun.run(controller.address(), "doctor", "db-1");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.errLines()).containsExactly(
                "fleetkeeper: host db-1 is offline (last seen 5m ago); the agent must be connected to run doctor");
    }

    @Test
    void unreachableController_exits2() {
        String address = controller.address();
        controller.close();

        CliRun.Result result = CliRun.run(address, "doctor", "web-1");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.errLines()).singleElement().asString().startsWith("fleetkeeper: cannot reach the controller");
    }
}
