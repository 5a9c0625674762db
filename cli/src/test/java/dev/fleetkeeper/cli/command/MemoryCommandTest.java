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
class MemoryCommandTest {
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
    void memory_showsBaselinesByVersion_andEachInstancesTrendAndForecast() {
        CliRun.Result result = CliRun.run(controller.address(), "memory", "api", "--host", "web-1");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.lines()).containsExactly(
                "web-1 api: 2 instances, limit 512M each, reported 4s ago",
                "VERSION  BASELINE  STARTS  RECORDED",
                "42           178M       2  2026-11-05 11:40:00",
                "41           145M       6  2026-11-04 11:00:00",
                "#   PID   RSS      SLOPE  FORECAST  LEAK  BASELINE  WHY",
                "0  2201  412M  +2.1M/min  in 47m    YES       180M  grows 2.1M/min over 30m, ...",
                "1  2202  380M      0/min  -         no        175M  sawtooth, minima flat");
    }

    @Test
    void json_keepsOnlyTheService() throws IOException {
        CliRun.Result result = CliRun.run(controller.address(), "memory", "api", "--json");

        assertThat(result.exitCode()).isZero();
        JsonNode hosts = new ObjectMapper().readTree(result.out()).get("hosts");
        assertThat(hosts).hasSize(1);
        JsonNode api = hosts.get(0).get("report").get("services");
        assertThat(api).hasSize(1);
        assertThat(api.get(0).get("name").asText()).isEqualTo("api");
        assertThat(api.get(0).get("instances").get(0).get("memory").get("leaking").asBoolean()).isTrue();
        assertThat(api.get(0).get("baselines").get(0).get("version").asText()).isEqualTo("42");
    }

    @Test
    void aServiceWithoutAMemoryPolicyShowsRssOnly_andAnUnknownServiceSaysSo() {
        CliRun.Result backup = CliRun.run(controller.address(), "memory", "backup");
        assertThat(backup.exitCode()).isZero();
        assertThat(backup.out()).contains("backup declares no memory policy");

        CliRun.Result none = CliRun.run(controller.address(), "memory", "nope");
        assertThat(none.exitCode()).isZero();
        assertThat(none.lines()).containsExactly(
                "No host reports a service 'nope'. 'fleetkeeper services' lists the declared ones.");
    }

    @Test
    void slopeIsPerMinute() {
        assertThat(MemoryCommand.slope(36_700)).isEqualTo("+2.1M/min");
        assertThat(MemoryCommand.slope(-2_000)).isEqualTo("-117K/min");
        assertThat(MemoryCommand.slope(3)).isEqualTo("0/min");
    }
}
