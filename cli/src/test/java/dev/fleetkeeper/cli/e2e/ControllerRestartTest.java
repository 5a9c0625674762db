package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.util.JsonFormat;
import dev.fleetkeeper.agent.Agent;
import dev.fleetkeeper.agent.config.AgentConfig;
import dev.fleetkeeper.agent.transport.ControllerChannel;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.proto.v1.AdminServiceGrpc;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.GetMemorySeriesRequest;
import dev.fleetkeeper.proto.v1.HostSummary;
import dev.fleetkeeper.proto.v1.ListEventsResponse;
import dev.fleetkeeper.proto.v1.ListHostsResponse;
import dev.fleetkeeper.proto.v1.MemorySeries;
import dev.fleetkeeper.proto.v1.ProcessKey;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A controller killed with SIGKILL and started again on the same data still knows its hosts,
 * their events and memory history; the agent reconnects by itself and the host comes back
 * online.
 */
@Timeout(180)
class ControllerRestartTest {

    @TempDir
    Path dir;

    private ControllerProcess controller;
    private ControllerChannel channel;
    private Agent agent;
    private final Procs procs = new Procs();

    @AfterEach
    void stop() throws Exception {
        procs.close();
        if (agent != null) {
            agent.close();
        }
        if (channel != null) {
            channel.close();
        }
        if (controller != null) {
            controller.close();
        }
    }

    @Test
    void controllerKilledWithSigkill_keepsHostsEventsAndMemoryHistory() throws Exception {
        controller = new ControllerProcess(dir.resolve("controller"));
        controller.start();
        startAgent();
        await().atMost(Duration.ofSeconds(30)).until(() -> host() != null && host().getOnline());

        // Something to remember: a process that starts and exits while the controller watches.
        Process shortLived = procs.start("sleep", "2");
        int shortPid = (int) shortLived.pid();
        Event exited = await().atMost(Duration.ofSeconds(30)).until(() -> exitEventFor(shortPid), e -> e != null);
        ProcessKey self = ProcessKey.newBuilder().setPid((int) ProcessHandle.current().pid())
                .setStartTicks(startTicksOfSelf()).build();
        int pointsBefore = await().atMost(Duration.ofSeconds(30)).until(() -> memoryPoints(self), n -> n > 0);

        controller.kill();
        CliRun.Result down = CliRun.run(controller.target(), "hosts");
        assertThat(down.exitCode()).isEqualTo(2);
        assertThat(down.errLines()).hasSize(1);
        assertThat(down.err()).contains(controller.target());

        controller.start();
        // Straight after the restart, from the store alone:
        HostSummary known = host();
        assertThat(known).isNotNull();
        assertThat(known.getHostId()).isEqualTo("restart-host");
        assertThat(exitEventFor(shortPid)).isNotNull()
                .extracting(Event::getSequence).isEqualTo(exited.getSequence());
        assertThat(memoryPoints(self)).isGreaterThanOrEqualTo(pointsBefore);

        // The agent reconnects on its own and the host is online again, with an event saying so.
        await().atMost(Duration.ofSeconds(30)).until(() -> host().getOnline());
        await().atMost(Duration.ofSeconds(30)).until(() -> events(EventType.EVENT_TYPE_HOST_ONLINE).stream()
                .anyMatch(e -> e.getSequence() > exited.getSequence()));
        assertThat(controller.log()).doesNotContain("Exception in thread");
    }

    private void startAgent() {
        AgentConfig config = AgentConfig.defaults(dir.resolve("agent")).withController(controller.target())
                .withHostId("restart-host").withLabels(Map.of());
        config = new AgentConfig(config.controller(), config.hostId(), config.stateDir(), config.labels(),
                config.procRoot(), Duration.ofMillis(500), config.detailInterval(), Duration.ofMillis(500),
                Duration.ofMillis(100), Duration.ofMillis(500), config.reconcileInterval(), config.services());
        channel = ControllerChannel.open(controller.target());
        agent = new Agent(config, channel.channel(), channel::resetConnectBackoff, InstantSource.system());
        agent.start();
    }

    private HostSummary host() throws Exception {
        CliRun.Result r = CliRun.run(controller.target(), "hosts", "--json");
        if (r.exitCode() != 0) {
            return null;
        }
        ListHostsResponse.Builder b = ListHostsResponse.newBuilder();
        JsonFormat.parser().merge(r.out(), b);
        return b.getHostsCount() == 1 ? b.getHosts(0) : null;
    }

    private List<Event> events(EventType type) throws Exception {
        CliRun.Result r = CliRun.run(controller.target(), "events", "--json", "-n", "10000");
        assertThat(r.exitCode()).as(r.err()).isZero();
        ListEventsResponse.Builder b = ListEventsResponse.newBuilder();
        JsonFormat.parser().merge(r.out(), b);
        return b.getEventsList().stream().filter(e -> e.getType() == type).toList();
    }

    private Event exitEventFor(int pid) throws Exception {
        return events(EventType.EVENT_TYPE_PROCESS_EXITED).stream()
                .filter(e -> e.getProcess().getPid() == pid).findFirst().orElse(null);
    }

    private int memoryPoints(ProcessKey process) throws InterruptedException {
        ManagedChannel admin = Grpc.newChannelBuilder(controller.target(), InsecureChannelCredentials.create()).build();
        try {
            MemorySeries series = AdminServiceGrpc.newBlockingStub(admin).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .getMemorySeries(GetMemorySeriesRequest.newBuilder().setHost("restart-host")
                            .setProcess(process).build());
            return series.getPointsCount();
        } finally {
            admin.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static long startTicksOfSelf() throws java.io.IOException {
        String stat = java.nio.file.Files.readString(Path.of("/proc/self/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[19]);
    }
}
