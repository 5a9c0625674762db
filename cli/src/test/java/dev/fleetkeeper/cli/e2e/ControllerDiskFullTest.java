package dev.fleetkeeper.cli.e2e;

import dev.fleetkeeper.controller.store.TmpfsMount;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.agent.Agent;
import dev.fleetkeeper.agent.config.AgentConfig;
import dev.fleetkeeper.agent.transport.ControllerChannel;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import java.nio.file.Files;
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
 * The controller's data directory on a real, small tmpfs that fills up while an agent streams:
 * the controller stays up, says so once, holds what it could not store, loses nothing it had
 * acknowledged, and stores again once there is space. Skipped where mount is not permitted.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ControllerDiskFullTest {

    private static final String HOST = "full-disk-host";

    @TempDir
    Path dir;

    private final Procs procs = new Procs();
    private TmpfsMount tmpfs;
    private ControllerProcess controller;
    private ControllerChannel channel;
    private Agent agent;

    @AfterEach
    void stop() throws Exception {
        try {
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
        } finally {
            if (tmpfs != null) {
                tmpfs.close();
            }
        }
    }

    @Test
    void diskFull_controllerStaysUp_logsOnce_holdsUnstoredEvents_andStoresAgainOnceSpaceIsFreed() throws Exception {
        tmpfs = TmpfsMount.mount(dir.resolve("disk"), 32);
        Path data = tmpfs.dir().resolve("data");
        controller = new ControllerProcess(dir.resolve("controller"), data, true);
        controller.start();
        startAgent();
        await().atMost(Duration.ofSeconds(30)).until(() -> FleetQueries.online(controller.target(), HOST));

        // Acknowledged and stored before the disk fills.
        Process before = procs.start("sleep", "2");
        Event exitedBefore = await().atMost(Duration.ofSeconds(30)).until(() -> FleetQueries.processEvent(
                controller.target(), EventType.EVENT_TYPE_PROCESS_EXITED, HOST, before.pid()).orElse(null), e -> e != null);
        List<Event> storedBefore = FleetQueries.events(controller.target());

        tmpfs.fill("filler");
        // Happens while nothing can be stored: its event must not be lost.
        Process during = procs.start("sleep", "60");

        await().atMost(Duration.ofSeconds(30)).until(() -> controller.log().contains("Cannot write to the store at"));
        // Several more failed commits (the agent reconnects and resends)...
        await().atMost(Duration.ofSeconds(30))
                .until(() -> controller.metric("fleetkeeper_controller_store_failures_total"), n -> n >= 3);
        assertThat(controller.isAlive()).isTrue();
        // ...and the admin API still answers from the store.
        assertThat(FleetQueries.events(controller.target())).containsAll(storedBefore);
        // ...but one error line, naming the data directory and what to do; no stack traces.
        String log = controller.log();
        assertThat(log.lines().filter(l -> l.contains("Cannot write to the store at"))).singleElement()
                .asString().contains(data.toString()).contains("No space left").contains("df -h");
        assertThat(log).doesNotContain("\tat ").doesNotContain("Exception in thread");

        Files.delete(tmpfs.dir().resolve("filler"));
        Event startedDuring = await().atMost(Duration.ofSeconds(30)).until(() -> FleetQueries.processEvent(
                controller.target(), EventType.EVENT_TYPE_PROCESS_STARTED, HOST, during.pid()).orElse(null), e -> e != null);
        await().atMost(Duration.ofSeconds(30)).until(() -> controller.log().contains("accepts writes again"));
        await().atMost(Duration.ofSeconds(30)).until(() -> FleetQueries.online(controller.target(), HOST));

        // Durable: a SIGKILL and a restart on the same data keep all of it.
        controller.kill();
        controller.start();
        List<Event> afterRestart = FleetQueries.events(controller.target());
        assertThat(afterRestart).containsAll(storedBefore);
        assertThat(afterRestart).extracting(Event::getSequence)
                .contains(exitedBefore.getSequence(), startedDuring.getSequence());

        // The agent reconnects by itself, and new history is stored again.
        Process after = procs.start("sleep", "2");
        await().atMost(Duration.ofSeconds(30)).until(() -> FleetQueries.processEvent(
                controller.target(), EventType.EVENT_TYPE_PROCESS_EXITED, HOST, after.pid()).isPresent());
        assertThat(FleetQueries.online(controller.target(), HOST)).isTrue();
    }

    private void startAgent() {
        AgentConfig config = AgentConfig.defaults(dir.resolve("agent")).withController(controller.target())
                .withHostId(HOST).withLabels(Map.of());
        config = new AgentConfig(config.controller(), config.hostId(), config.stateDir(), config.labels(),
                config.procRoot(), Duration.ofMillis(500), config.detailInterval(), Duration.ofMillis(500),
                Duration.ofMillis(100), Duration.ofMillis(500), config.reconcileInterval(), config.services());
        channel = ControllerChannel.open(controller.target());
        agent = new Agent(config, channel.channel(), channel::resetConnectBackoff, InstantSource.system());
        agent.start();
    }
}
