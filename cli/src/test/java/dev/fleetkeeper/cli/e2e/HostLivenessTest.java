package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.util.JsonFormat;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.HostSummary;
import dev.fleetkeeper.proto.v1.ListEventsResponse;
import dev.fleetkeeper.proto.v1.ListHostsResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A host whose agent goes away is marked offline, and online again when it comes back, with events. */
@Timeout(120)
class HostLivenessTest {

    @TempDir
    Path dir;

    private MiniFleet fleet;

    @AfterEach
    void stop() {
        if (fleet != null) {
            fleet.close();
        }
    }

    @Test
    void agentGone_hostOffline_thenOnlineOnReconnect_withAnEventForEach() throws Exception {
        fleet = MiniFleet.start(dir, Duration.ofSeconds(2));
        MiniFleet.RunningAgent a = fleet.startAgent("live-a");
        fleet.startAgent("live-b");
        await().atMost(Duration.ofSeconds(30)).until(() -> hosts().stream().filter(HostSummary::getOnline).count() == 2);

        fleet.stopAgent(a);
        await().atMost(Duration.ofSeconds(30)).until(() -> !host("live-a").getOnline());
        assertThat(host("live-b").getOnline()).isTrue();
        Event offline = await().atMost(Duration.ofSeconds(10)).until(
                () -> last(EventType.EVENT_TYPE_HOST_OFFLINE, "live-a"), e -> e != null);
        assertThat(offline.getMessage()).contains("offline");

        fleet.startAgent("live-a");
        await().atMost(Duration.ofSeconds(30)).until(() -> host("live-a").getOnline());
        Event online = await().atMost(Duration.ofSeconds(10)).until(
                () -> last(EventType.EVENT_TYPE_HOST_ONLINE, "live-a"), e -> e != null
                        && e.getSequence() > offline.getSequence());
        assertThat(online.getHostId()).isEqualTo("live-a");
    }

    @Test
    void gracefulControllerRestart_doesNotReportItsHostsOffline() throws Exception {
        fleet = MiniFleet.start(dir, Duration.ofSeconds(2));
        fleet.startAgent("steady");
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> host("steady").getOnline());

        fleet.restartController();

        // The agent reconnects by itself; the controller's own restart is not the host going away.
        Event online = await().atMost(Duration.ofSeconds(30)).until(
                () -> last(EventType.EVENT_TYPE_HOST_ONLINE, "steady"), e -> e != null);
        assertThat(host("steady").getOnline()).isTrue();
        assertThat(last(EventType.EVENT_TYPE_HOST_OFFLINE, "steady")).isNull();
        assertThat(online.getMessage()).contains("online");
    }

    private List<HostSummary> hosts() throws Exception {
        CliRun.Result r = CliRun.run(fleet.target(), "hosts", "--json");
        ListHostsResponse.Builder b = ListHostsResponse.newBuilder();
        JsonFormat.parser().merge(r.out(), b);
        return b.getHostsList();
    }

    private HostSummary host(String id) throws Exception {
        return hosts().stream().filter(h -> h.getHostId().equals(id)).findFirst().orElseThrow();
    }

    private Event last(EventType type, String host) throws Exception {
        CliRun.Result r = CliRun.run(fleet.target(), "events", "--host", host, "--json", "-n", "1000");
        ListEventsResponse.Builder b = ListEventsResponse.newBuilder();
        JsonFormat.parser().merge(r.out(), b);
        List<Event> matching = b.getEventsList().stream().filter(e -> e.getType() == type).toList();
        return matching.isEmpty() ? null : matching.get(matching.size() - 1);
    }
}
