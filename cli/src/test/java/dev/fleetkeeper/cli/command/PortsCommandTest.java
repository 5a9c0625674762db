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
class PortsCommandTest {
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
    void ports_printsOneRowPerSocket_listingEveryOwner() {
        CliRun.Result result = CliRun.run(controller.address(), "ports", "web-1", "--wide");

        assertThat(result.exitCode()).isZero();
        assertThat(result.lines()).containsExactly(
                "web-1: 4 sockets, sampled 3s ago (2026-11-05 11:59:57)",
                "PROTO  ADDRESS:PORT    PID(S)   USER           STATE   STARTED  COMMAND",
                "tcp    0.0.0.0:80      812,813  root,www-data  LISTEN  3d ago   "
                        + "nginx: master process /usr/sbin/nginx -g daemon on; master_process on; | nginx: worker process",
                "tcp6   [::]:80         812      root           LISTEN  3d ago   "
                        + "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",
                "tcp    127.0.0.1:3000  2201     app            LISTEN  2h ago   "
                        + String.join(" ", FakeController.NODE.getCmdlineList()),
                "udp    0.0.0.0:5353    -        107            UNCONN  -        -",
                "",
                "PID(S) '-': no process with a readable fd holds the socket (another network namespace,"
                        + " or the agent lacks the privilege to read that process's fds).");
    }

    @Test
    void json_isTheResponse_withSocketsAndOwners() throws IOException {
        CliRun.Result result = CliRun.run(controller.address(), "ports", "web-1", "--json");

        assertThat(result.exitCode()).isZero();
        JsonNode ports = new ObjectMapper().readTree(result.out()).get("ports");
        assertThat(ports).hasSize(4);
        assertThat(ports.get(0).get("socket").get("protocol").asText()).isEqualTo("SOCKET_PROTOCOL_TCP");
        assertThat(ports.get(0).get("socket").get("port").asInt()).isEqualTo(80);
        assertThat(ports.get(0).get("owners")).hasSize(2);
        assertThat(ports.get(3).get("owners")).isEmpty();
    }

    @Test
    void unknownHost_exits1() {
        CliRun.Result result = CliRun.run(controller.address(), "ports", "nope");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.errLines()).singleElement().asString().startsWith("fleetkeeper: no host 'nope'");
    }
}
