package dev.fleetkeeper.cli.command;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fleetkeeper.cli.CliEnvironment;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.cli.FakeController;
import dev.fleetkeeper.proto.v1.ProcessSort;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class PsCommandTest {
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
    void ps_printsWhenSampled_thenProcessesLargestFirst_cutTo80Columns() {
        CliRun.Result result = CliRun.run(controller.address(), "ps", "web-1");

        assertThat(result.exitCode()).isZero();
        assertThat(result.lines()).containsExactly(
                "web-1: 4 processes, sampled 3s ago (2026-11-05 11:59:57)",
                " PID  PPID  USER      STATE    RSS  CPU%  STARTED           COMMAND",
                "2201     1  app       R       412M  37.5  2h ago            /usr/bin/node /sr...",
                " 813   812  www-data  S      12.3M   1.5  2026-11-02 12:00  nginx: worker pro...",
                " 812     1  root      S       8.2M   0.0  2026-11-02 12:00  nginx: master pro...",
                "3050  2201  app       Z         0B   0.0  10m ago           [convert] <defunct>");
        assertThat(result.lines()).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(80));
        assertThat(controller.lastListProcesses().getSort()).isEqualTo(ProcessSort.PROCESS_SORT_MEMORY);
    }

    @Test
    void wide_printsWholeCommandLines() {
        CliRun.Result result = CliRun.run(controller.address(), "ps", "web-1", "--wide");

        assertThat(result.out()).contains(String.join(" ", FakeController.NODE.getCmdlineList()));
    }

    @Test
    void columnsVariable_setsTheWidthCommandsAreCutTo() {
        CliRun.Result result = CliRun.run(
                Map.of(CliEnvironment.CONTROLLER_VARIABLE, controller.address(), CliEnvironment.COLUMNS_VARIABLE, "120"),
                "ps", "web-1");

        assertThat(result.lines()).anySatisfy(line -> assertThat(line).hasSize(120).endsWith("..."));
    }

    @Test
    void sortAndLimit_areSentToTheController() {
        CliRun.Result result = CliRun.run(controller.address(), "ps", "web-1", "--sort", "pid", "-n", "2");

        assertThat(result.exitCode()).isZero();
        assertThat(controller.lastListProcesses().getSort()).isEqualTo(ProcessSort.PROCESS_SORT_PID);
        assertThat(controller.lastListProcesses().getLimit()).isEqualTo(2);
        assertThat(result.lines()).hasSize(4);
        assertThat(result.lines().get(0)).contains("4 processes (showing 2)");
        assertThat(result.lines().get(2)).startsWith("812     1  root");
        assertThat(result.lines().get(3)).startsWith("813   812  www-data");
    }

    @Test
    void cpuSort_isSentAsCpu() {
        CliRun.run(controller.address(), "ps", "web-1", "--sort", "CPU");

        assertThat(controller.lastListProcesses().getSort()).isEqualTo(ProcessSort.PROCESS_SORT_CPU);
    }

    @Test
    void zombies_showTheParentThatHasNotReapedThem() {
        CliRun.Result result = CliRun.run(controller.address(), "ps", "web-1", "--zombies", "--wide");

        assertThat(result.exitCode()).isZero();
        assertThat(controller.lastListProcesses().getZombiesOnly()).isTrue();
        assertThat(result.lines()).startsWith(
                "web-1: 1 zombie, sampled 3s ago (2026-11-05 11:59:57)",
                " PID  PPID  STARTED  PARENT COMMAND",
                "3050  2201  10m ago  " + String.join(" ", FakeController.NODE.getCmdlineList()));
        assertThat(result.out()).contains("fix or restart the parent (PPID)");
    }

    @Test
    void offlineHost_isWarnedAboutInTheHeader() {
        CliRun.Result result = CliRun.run(controller.address(), "ps", "db-1");

        assertThat(result.exitCode()).isZero();
        assertThat(result.lines()).containsExactly(
                "db-1: 0 processes, sampled 5m ago (2026-11-05 11:55:00). "
                        + "WARNING: db-1 is offline; this is its last known state.",
                "No processes.");
    }

    @Test
    void json_isTheResponse_withEachZombiesParent() throws IOException {
        CliRun.Result result = CliRun.run(controller.address(), "ps", "web-1", "--zombies", "--json");

        assertThat(result.exitCode()).isZero();
        JsonNode response = new ObjectMapper().readTree(result.out());
        assertThat(response.get("host_online").asBoolean()).isTrue();
        assertThat(response.get("sampled_at_unix_ms").asText()).isEqualTo(Long.toString(FakeController.ago(3)));
        JsonNode entry = response.get("processes").get(0);
        assertThat(entry.get("hostname").asText()).isEqualTo("web-1");
        assertThat(entry.get("process").get("key").get("pid").asInt()).isEqualTo(3050);
        assertThat(entry.get("process").get("state").asText()).isEqualTo("PROCESS_STATE_ZOMBIE");
        assertThat(entry.get("parent").get("key").get("pid").asInt()).isEqualTo(2201);
    }
}
