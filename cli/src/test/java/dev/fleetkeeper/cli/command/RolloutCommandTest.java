package dev.fleetkeeper.cli.command;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.cli.FakeController;
import dev.fleetkeeper.proto.v1.RolloutPlan;
import dev.fleetkeeper.proto.v1.StartRolloutRequest;
import java.io.IOException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The rollout commands against a controller that answers with canned rollouts. */
@Timeout(60)
class RolloutCommandTest {
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
    void start_sendsTheReleaseAndPlanAsTyped_thenFollowsUntilThePromoteQuestion() {
        CliRun.Result result = CliRun.run(controller.address(), "rollout", "start", "api", "--version", "v43",
                "--command", "/usr/bin/node", "--arg", "server.js", "--arg", "--cluster", "--env", "NODE_ENV=production",
                "--selector", "role=web", "--canary", "1", "--batch", "25%", "--min-healthy", "30s",
                "--auto-rollback", "--reason", "release 43");

        assertThat(result.exitCode()).as(result.err()).isZero();
        StartRolloutRequest sent = controller.lastStartRollout();
        assertThat(sent.getService()).isEqualTo("api");
        assertThat(sent.getSelectorMap()).containsEntry("role", "web");
        assertThat(sent.getRelease().getVersion()).isEqualTo("v43");
        assertThat(sent.getRelease().getCommand()).isEqualTo("/usr/bin/node");
        assertThat(sent.getRelease().getArgsList()).containsExactly("server.js", "--cluster");
        assertThat(sent.getRelease().getArgsSet()).isTrue();
        assertThat(sent.getRelease().getEnvMap()).containsEntry("NODE_ENV", "production");
        RolloutPlan plan = sent.getPlan();
        assertThat(plan.getCanary()).isEqualTo(1);
        assertThat(plan.getBatch()).isEqualTo("25%");
        assertThat(plan.getMinHealthyMs()).isEqualTo(30_000);
        assertThat(plan.getAutoRollback()).isTrue();
        assertThat(plan.getAutoPromote()).isFalse();
        assertThat(plan.getHealthyDeadlineMs()).as("unset: the controller's default").isZero();
        assertThat(sent.getReason()).isEqualTo("release 43");

        assertThat(result.lines()).containsExactly(
                "rollout " + FakeController.ROLLOUT_ID + ": api -> v43, 3 instance(s) on 2 host(s), canary 1, batch 25%",
                "Ctrl-C detaches; the rollout goes on on the controller: fleetkeeper rollout status "
                        + FakeController.ROLLOUT_ID,
                FakeController.ROLLOUT_ID + "  api -> v43  CANARY",
                "  web-1  api#0  canary  sent  pid 2201 -> -",
                "  web-1  api#0  canary  verifying  pid 2201 -> 2290  gates ok  healthy for 4s of 10s",
                FakeController.ROLLOUT_ID + "  api -> v43  AWAITING_PROMOTION  canary healthy; waiting for promote",
                "  web-1  api#0  canary  healthy  pid 2201 -> 2290  gates ok",
                "The canary is healthy. Go on: fleetkeeper rollout promote " + FakeController.ROLLOUT_ID
                        + "   or undo it: fleetkeeper rollout rollback " + FakeController.ROLLOUT_ID);
    }

    @Test
    void start_withMinAvailable_sendsIt_andShowsItInTheFirstLine() {
        CliRun.Result result = CliRun.run(controller.address(), "rollout", "start", "api", "--version", "v43",
                "--min-available", "50%");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(controller.lastStartRollout().getPlan().getMinAvailable()).isEqualTo("50%");
        assertThat(result.lines().get(0)).isEqualTo("rollout " + FakeController.ROLLOUT_ID
                + ": api -> v43, 3 instance(s) on 2 host(s), canary 1, batch 1, min available 50%");
    }

    @Test
    void start_withABadMinAvailable_isAUsageError_andSendsNothing() {
        for (String bad : new String[] {"-1", "150%", "half", "2.5"}) {
            CliRun.Result r = CliRun.run(controller.address(), "rollout", "start", "api", "--version", "v43",
                    "--min-available", bad);
            assertThat(r.exitCode()).as(bad).isEqualTo(2);
            assertThat(r.err()).contains("--min-available: '" + bad + "' (expected: a number of instances such as 2");
        }
        assertThat(controller.lastStartRollout()).isNull();
    }

    @Test
    void start_withoutVersion_orWithABadBatch_isAUsageError_andSendsNothing() {
        CliRun.Result noVersion = CliRun.run(controller.address(), "rollout", "start", "api");
        assertThat(noVersion.exitCode()).isEqualTo(2);
        assertThat(noVersion.err()).contains("--version");

        CliRun.Result badBatch = CliRun.run(controller.address(), "rollout", "start", "api", "--version", "v43",
                "--batch", "half");
        assertThat(badBatch.exitCode()).isEqualTo(2);
        assertThat(badBatch.err()).contains("--batch: 'half' (expected: a number of instances such as 2, or a percentage");
        assertThat(controller.lastStartRollout()).isNull();
    }

    @Test
    void start_ofAServiceNoHostDeclares_saysSoInOneLine() {
        CliRun.Result result = CliRun.run(controller.address(), "rollout", "start", "nope", "--version", "v1");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.errLines()).hasSize(1);
        assertThat(result.err()).contains("no online host declares service 'nope'");
    }

    @Test
    void status_showsEveryInstanceWithItsFailingGate_andExitsOneForAFailedRollout() {
        CliRun.Result result = CliRun.run(controller.address(), "rollout", "status", FakeController.ROLLOUT_ID);

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.lines()).containsExactly(
                FakeController.ROLLOUT_ID + "  api -> v43  FAILED  the canary failed its gates: memory",
                "  plan: canary 0, batch , min available as declared per host, min healthy 10s, healthy deadline"
                        + " default, progress deadline default, max failures 0",
                "  web-1  api#0  canary  failed  pid 2201 -> 2290  gates failing: memory: baseline 182 MiB vs 120 MiB"
                        + " for v42 (+52%, tolerance 20%)  memory baseline regressed",
                "  web-1  api#1  batch 1  skipped");
    }

    @Test
    void status_json_isTheRollout() throws IOException {
        CliRun.Result result = CliRun.run(controller.address(), "rollout", "status", FakeController.ROLLOUT_ID, "--json");

        JsonNode r = new ObjectMapper().readTree(result.out());
        assertThat(r.get("rollout_id").asText()).isEqualTo(FakeController.ROLLOUT_ID);
        assertThat(r.get("state").asText()).isEqualTo("ROLLOUT_STATE_FAILED");
        assertThat(r.get("steps").get(0).get("gates").get(2).get("gate").asText()).isEqualTo("memory");
        assertThat(r.get("plan").get("min_available").asText()).as("present, \"\": each host's declared floor")
                .isEmpty();
    }

    @Test
    void status_ofAnUnknownRollout_isOneLine() {
        CliRun.Result result = CliRun.run(controller.address(), "rollout", "status", "ro-nope");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err()).contains("no rollout 'ro-nope'");
    }

    @Test
    void verbs_callTheirRpc_andPrintTheNewState() {
        for (String verb : new String[] {"pause", "resume", "promote", "abort", "rollback"}) {
            CliRun.Result result = CliRun.run(controller.address(), "rollout", verb, FakeController.ROLLOUT_ID);
            assertThat(result.exitCode()).as(verb + ": " + result.err()).isZero();
        }
        assertThat(controller.rolloutVerbs()).containsExactly("PAUSE " + FakeController.ROLLOUT_ID,
                "RESUME " + FakeController.ROLLOUT_ID, "PROMOTE " + FakeController.ROLLOUT_ID,
                "ABORT " + FakeController.ROLLOUT_ID, "ROLLBACK " + FakeController.ROLLOUT_ID);
        assertThat(CliRun.run(controller.address(), "rollout", "pause", FakeController.ROLLOUT_ID).out())
                .contains("PAUSED (from UNSPECIFIED)");
    }

    @Test
    void list_printsOneLinePerRollout() {
        CliRun.Result result = CliRun.run(controller.address(), "rollout", "list");

        assertThat(result.exitCode()).isZero();
        assertThat(result.lines()).containsExactly(
                FakeController.ROLLOUT_ID + "  api -> v43  FAILED  the canary failed its gates: memory");
    }

    @Test
    void rolloutWithoutSubcommand_isAUsageError() {
        CliRun.Result result = CliRun.run(controller.address(), "rollout");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("missing subcommand");
    }
}
