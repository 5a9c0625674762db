package dev.fleetkeeper.cli.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.cli.FakeController;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.Severity;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class EventsCommandTest {
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
    void events_printsStoredEvents_withHostNamesForHostIds() {
        CliRun.Result result = CliRun.run(controller.address(), "events");

        assertThat(result.exitCode()).isZero();
        assertThat(result.lines()).containsExactly(
                "TIME                 HOST   SEVERITY  TYPE             MESSAGE",
                "2026-11-05 11:45:00  web-1  info      host-online      web-1 connected",
                "2026-11-05 11:50:00  web-1  warning   zombie-appeared  "
                        + "convert (pid 3050) is a zombie; parent node (pid 2201) has not reaped it",
                "2026-11-05 11:55:00  db-1   critical  host-offline     db-1 silent for 15s");
    }

    @Test
    void filters_areSentToTheController() {
        CliRun.Result result = CliRun.run(controller.address(),
                "events", "--host", "web-1", "--since", "10m", "--type", "process-exited,zombie-appeared", "-n", "5");

        assertThat(result.exitCode()).isZero();
        assertThat(controller.lastListEvents().getHost()).isEqualTo("web-1");
        assertThat(controller.lastListEvents().getSinceUnixMs()).isEqualTo(FakeController.ago(600));
        assertThat(controller.lastListEvents().getTypesList())
                .containsExactly(EventType.EVENT_TYPE_PROCESS_EXITED, EventType.EVENT_TYPE_ZOMBIE_APPEARED);
        assertThat(controller.lastListEvents().getLimit()).isEqualTo(5);
    }

    @Test
    void since_acceptsAnAbsoluteTime() {
        CliRun.run(controller.address(), "events", "--since", "2026-11-05T11:00:00Z");

        assertThat(controller.lastListEvents().getSinceUnixMs()).isEqualTo(FakeController.ago(3600));
    }

    @Test
    void unknownType_isAUsageError_listingTheTypes() {
        CliRun.Result result = CliRun.run(controller.address(), "events", "--type", "process-died");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("'process-died' is not an event type").contains("process-exited");
    }

    @Test
    void follow_printsStoredEvents_thenNewOnesAsTheyArrive() {
        CliRun.Background run = CliRun.start(controller.address(), "events", "--follow");
        await().atMost(Duration.ofSeconds(20)).until(() -> run.out().toString().contains("db-1 silent for 15s"));
        assertThat(run.exitCode()).isNotDone();

        controller.publish(FakeController.event(4, FakeController.ago(1), FakeController.WEB_ID,
                EventType.EVENT_TYPE_PROCESS_EXITED, Severity.SEVERITY_WARNING, "node (pid 2201) exited with status 137"));
        await().atMost(Duration.ofSeconds(20)).until(() -> run.out().toString().contains("exited with status 137"));
        assertThat(run.exitCode()).isNotDone();
        controller.endWatch();

        assertThat(run.exitCode()).succeedsWithin(20, TimeUnit.SECONDS).isEqualTo(0);
        List<String> lines = run.out().toString().lines().toList();
        assertThat(lines).hasSize(5);
        assertThat(lines.get(0)).isEqualTo("TIME                 HOST   SEVERITY  TYPE                  MESSAGE");
        assertThat(lines.get(4)).isEqualTo(
                "2026-11-05 11:59:59  web-1  warning   process-exited        node (pid 2201) exited with status 137");
    }

    @Test
    void followJson_printsOneEventObjectPerLine() throws IOException {
        CliRun.Background run = CliRun.start(controller.address(), "events", "--follow", "--json", "--type", "host-offline");
        await().atMost(Duration.ofSeconds(20)).until(() -> run.out().toString().contains("db-1 silent"));
        controller.publish(FakeController.event(4, FakeController.ago(1), FakeController.WEB_ID,
                EventType.EVENT_TYPE_HOST_OFFLINE, Severity.SEVERITY_CRITICAL, "web-1 silent for 15s"));
        controller.endWatch();

        assertThat(run.exitCode()).succeedsWithin(20, TimeUnit.SECONDS).isEqualTo(0);
        assertThat(controller.lastWatchEvents().getFilter().getTypesList()).containsExactly(EventType.EVENT_TYPE_HOST_OFFLINE);
        List<String> lines = run.out().toString().lines().toList();
        assertThat(lines).hasSize(2);
        ObjectMapper json = new ObjectMapper();
        JsonNode first = json.readTree(lines.get(0));
        JsonNode second = json.readTree(lines.get(1));
        assertThat(first.get("type").asText()).isEqualTo("EVENT_TYPE_HOST_OFFLINE");
        assertThat(first.get("host_id").asText()).isEqualTo(FakeController.DB_ID);
        assertThat(second.get("sequence").asText()).isEqualTo("4");
        assertThat(second.get("message").asText()).isEqualTo("web-1 silent for 15s");
    }

    @Test
    void json_isTheResponse() throws IOException {
        CliRun.Result result = CliRun.run(controller.address(), "events", "--json");

        JsonNode events = new ObjectMapper().readTree(result.out()).get("events");
        assertThat(events).hasSize(3);
        assertThat(events.get(1).get("severity").asText()).isEqualTo("SEVERITY_WARNING");
        assertThat(events.get(1).get("time_unix_ms").asText()).isEqualTo(Long.toString(FakeController.ago(600)));
    }
}
