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
class TopCommandTest {
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
    void top_printsTheLargestProcessesAcrossTheFleet() {
        CliRun.Result result = CliRun.run(controller.address(), "top", "-n", "3", "--selector", "role=web");

        assertThat(result.exitCode()).isZero();
        assertThat(controller.lastTopMemory().getLimit()).isEqualTo(3);
        assertThat(controller.lastTopMemory().getSelectorMap()).isEqualTo(Map.of("role", "web"));
        assertThat(result.lines()).containsExactly(
                "HOST    PID  USER        RSS  CPU%  COMMAND",
                "web-1  2201  app        412M  37.5  /usr/bin/node /srv/app/server.js --port 3...",
                "web-1   813  www-data  12.3M   1.5  nginx: worker process",
                "web-1   812  root       8.2M   0.0  nginx: master process /usr/sbin/nginx -g ...");
    }

    @Test
    void json_isTheResponse() throws IOException {
        CliRun.Result result = CliRun.run(controller.address(), "top", "--json");

        JsonNode processes = new ObjectMapper().readTree(result.out()).get("processes");
        assertThat(processes).hasSize(4);
        assertThat(processes.get(0).get("process").get("rss_bytes").asText())
                .isEqualTo(Long.toString(FakeController.NODE.getRssBytes()));
        assertThat(processes.get(0).get("process").get("cmdline").get(0).asText()).isEqualTo("/usr/bin/node");
    }
}
