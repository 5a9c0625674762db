package dev.fleetkeeper.controller.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.proto.v1.Event;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Nothing a commit acknowledged is lost when the controller is killed: a child JVM commits
 * batches and reports each one after {@code commit} returned; it is killed with SIGKILL, and
 * the reopened store holds every reported batch.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
final class StoreCrashTest {
    private static final int ACKNOWLEDGED_BEFORE_KILL = 300;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "sync={0}")
    @ValueSource(booleans = {true, false})
    void sigkill_losesNoAcknowledgedCommit(boolean sync) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-cp", System.getProperty("java.class.path"),
                CrashWriterMain.class.getName(), dir.toString(), Boolean.toString(sync))
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        int acknowledged = 0;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("committed ")) {
                    acknowledged = Integer.parseInt(line.substring("committed ".length()));
                    if (acknowledged >= ACKNOWLEDGED_BEFORE_KILL) {
                        // Killed mid-stream: the child is committing the next batch right now.
                        child.destroyForcibly();
                        break;
                    }
                }
            }
        } catch (IOException e) {
            child.destroyForcibly();
            throw e;
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(acknowledged).as("batches the child acknowledged").isEqualTo(ACKNOWLEDGED_BEFORE_KILL);

        try (FleetStore store = FleetStore.open(dir, StoreOptions.defaults())) {
            List<Event> events = store.events(EventQuery.oldest(EventQuery.MAX_LIMIT).withHostId("crash"));
            assertThat(events.size()).isGreaterThanOrEqualTo(acknowledged);
            for (int i = 1; i <= acknowledged; i++) {
                assertThat(events.get(i - 1).getId()).isEqualTo("crash:" + i);
                assertThat(events.get(i - 1).getSequence()).isEqualTo(i);
            }
            assertThat(store.host("host-" + acknowledged)).isPresent();
            for (int p = 0; p < 20; p++) {
                assertThat(store.memorySeries("crash", Fixtures.BOOT, p, 1, 0, Long.MAX_VALUE).size())
                        .isGreaterThanOrEqualTo(acknowledged);
            }
            // The sequence counter was durable with the events: the next event follows on.
            List<Event> next = store.commit(store.newBatch().appendEvent(
                    Fixtures.event("crash", "after-restart", Fixtures.T0, dev.fleetkeeper.proto.v1.EventType.EVENT_TYPE_AGENT)));
            assertThat(next.get(0).getSequence()).isEqualTo(events.size() + 1L);
        }
    }
}
