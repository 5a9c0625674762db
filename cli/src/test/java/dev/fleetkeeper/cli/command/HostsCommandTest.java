package dev.fleetkeeper.cli.command;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.cli.FakeController;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class HostsCommandTest {
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
    void hosts_printsOneRowPerHost_withFiguresForPeople() {
        CliRun.Result result = CliRun.run(controller.address(), "hosts");

        assertThat(result.exitCode()).isZero();
        assertThat(result.err()).isEmpty();
        assertThat(result.lines()).containsExactly(
                "HOST   ID        ONLINE  LAST SEEN  AGENT  KERNEL          MEM AVAIL/TOTAL  LOAD1  PROCS  ZOMBIES  LISTENERS  LABELS",
                "db-1   9d00be11  no      5m ago     0.1.0  6.1.0-26-amd64        6.0G/8.0G   1.50      2        0          0  role=db",
                "web-1  3f9a1c2e  yes     3s ago     0.1.0  6.1.0-26-amd64        1.2G/4.0G   0.42      4        1          4  env=prod,role=web");
    }

    @Test
    void selector_isSentAsLabels() {
        CliRun.Result result = CliRun.run(controller.address(), "hosts", "--selector", "role=web,env=prod");

        assertThat(result.exitCode()).isZero();
        assertThat(controller.lastListHosts().getSelectorMap()).isEqualTo(Map.of("role", "web", "env", "prod"));
        assertThat(result.lines()).hasSize(2);
        assertThat(result.lines().get(1)).startsWith("web-1");
    }

    @Test
    void selectorMatchingNothing_saysSo() {
        CliRun.Result result = CliRun.run(controller.address(), "hosts", "--selector", "role=cache");

        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).isEqualTo("No hosts carry the labels role=cache.\n");
    }

    @Test
    void selectorWithoutEquals_isAUsageError() {
        CliRun.Result result = CliRun.run(controller.address(), "hosts", "--selector", "role");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("Usage: fleetkeeper hosts");
    }

    @Test
    void json_isTheResponse_withProtoFieldNames_andZeroValuesPresent() throws IOException {
        CliRun.Result result = CliRun.run(controller.address(), "hosts", "--json");

        assertThat(result.exitCode()).isZero();
        JsonNode hosts = new ObjectMapper().readTree(result.out()).get("hosts");
        assertThat(hosts).hasSize(2);
        JsonNode web = hosts.get(1);
        assertThat(web.get("hostname").asText()).isEqualTo("web-1");
        assertThat(web.get("host_id").asText()).isEqualTo(FakeController.WEB_ID);
        assertThat(web.get("online").asBoolean()).isTrue();
        assertThat(web.get("labels").get("role").asText()).isEqualTo("web");
        assertThat(web.get("stats").get("mem_total_bytes").asText()).isEqualTo(Long.toString(4L << 30));
        assertThat(hosts.get(0).get("zombie_count").asInt()).isZero();
    }
}
