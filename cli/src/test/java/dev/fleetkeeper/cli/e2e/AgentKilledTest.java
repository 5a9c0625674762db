package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.proto.v1.Action;
import dev.fleetkeeper.proto.v1.ActionResult;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.ControllerMessage;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.HostSummary;
import dev.fleetkeeper.proto.v1.RequestSnapshot;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent process killed with SIGKILL: the controller marks its host offline with an event;
 * started again on the same state directory it comes back as the same host, and the action
 * ids it had applied are still known to it (it reports them and does not apply them again).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AgentKilledTest {

    @TempDir
    Path dir;

    private MiniFleet fleet;
    private Server fakeController;
    private AgentProcess agent;

    @AfterEach
    void stop() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (fleet != null) {
            fleet.close();
        }
        if (fakeController != null) {
            fakeController.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void agentKilled_hostGoesOfflineWithAnEvent_andComesBackAsTheSameHostOnRestart() throws Exception {
        fleet = MiniFleet.start(dir.resolve("fleet"), Duration.ofSeconds(2));
        agent = new AgentProcess(dir.resolve("agent"), fleet.target());
        // Not this machine's id (which every agent here would derive from /etc/machine-id): only
        // the state directory can carry it across the restart.
        String hostId = "killed-" + UUID.randomUUID();
        Files.createDirectories(agent.stateDir());
        Files.writeString(agent.stateDir().resolve("host-id"), hostId + "\n");
        String target = fleet.target();

        agent.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> FleetQueries.online(target, hostId)
                && FleetQueries.host(target, hostId).orElseThrow().getProcessCount() > 0);

        agent.kill();
        await().atMost(Duration.ofSeconds(15)).until(() -> !FleetQueries.online(target, hostId));
        Event offline = await().atMost(Duration.ofSeconds(10)).until(() -> last(target,
                EventType.EVENT_TYPE_HOST_OFFLINE, hostId), e -> e != null);
        assertThat(offline.getMessage()).contains("offline");

        agent.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> FleetQueries.online(target, hostId));
        Event online = await().atMost(Duration.ofSeconds(10)).until(() -> last(target,
                EventType.EVENT_TYPE_HOST_ONLINE, hostId), e -> e != null && e.getSequence() > offline.getSequence());
        assertThat(online.getMessage()).contains("online");
        List<HostSummary> hosts = FleetQueries.hosts(target);
        assertThat(hosts).extracting(HostSummary::getHostId).containsExactly(hostId);
        assertThat(FleetQueries.events(target)).filteredOn(e -> e.getType() == EventType.EVENT_TYPE_HOST_REGISTERED)
                .hasSize(1);
        assertThat(Files.readString(agent.stateDir().resolve("host-id")).trim()).isEqualTo(hostId);
    }

    @Test
    void agentKilledAfterApplyingAnAction_reportsItAfterRestart_andDoesNotApplyItAgain() throws Exception {
        RecordingAgentService service = new RecordingAgentService();
        fakeController = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(service).build().start();
        String target = "127.0.0.1:" + ((InetSocketAddress) fakeController.getListenSockets().get(0)).getPort();
        agent = new AgentProcess(dir.resolve("agent"), target);

        agent.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> service.hellos.size() == 1);
        assertThat(service.hellos.get(0).getRecentActionIdsList()).isEmpty();
        service.send(requestSnapshot("act-1"));
        ActionResult applied = await().atMost(Duration.ofSeconds(10)).until(() -> result("act-1", service),
                r -> r != null);
        assertThat(applied.getStatus()).isEqualTo(ActionStatus.ACTION_STATUS_SUCCEEDED);

        agent.kill();
        agent.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> service.hellos.size() == 2);
        assertThat(service.hellos.get(1).getHostId()).isEqualTo(service.hellos.get(0).getHostId());
        assertThat(service.hellos.get(1).getRecentActionIdsList()).containsExactly("act-1");

        service.results.clear();
        service.send(requestSnapshot("act-1"));
        ActionResult again = await().atMost(Duration.ofSeconds(10)).until(() -> result("act-1", service),
                r -> r != null);
        assertThat(again.getStatus()).isEqualTo(ActionStatus.ACTION_STATUS_DUPLICATE);
        assertThat(Files.readAllLines(agent.stateDir().resolve("applied-actions"))).containsExactly("act-1");
    }

    private static ControllerMessage requestSnapshot(String id) {
        return ControllerMessage.newBuilder().setAction(Action.newBuilder().setActionId(id)
                .setRequestSnapshot(RequestSnapshot.newBuilder().setReason("test"))).build();
    }

    private static ActionResult result(String id, RecordingAgentService service) {
        return service.results.stream().filter(r -> r.getActionId().equals(id)).findFirst().orElse(null);
    }

    private static Event last(String target, EventType type, String hostId) throws Exception {
        List<Event> events = FleetQueries.events(target, type, hostId);
        return events.isEmpty() ? null : events.get(events.size() - 1);
    }
}
