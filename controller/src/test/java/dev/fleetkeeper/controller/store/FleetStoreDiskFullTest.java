package dev.fleetkeeper.controller.store;

import static dev.fleetkeeper.controller.store.Fixtures.T0;
import static dev.fleetkeeper.controller.store.Fixtures.event;
import static dev.fleetkeeper.controller.store.Fixtures.host;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetkeeper.controller.ManualClock;
import dev.fleetkeeper.proto.v1.EventType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A store on a real, small tmpfs that fills up: commits fail cleanly, and work again once there is space. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
final class FleetStoreDiskFullTest {
    @TempDir
    Path dir;

    private final ManualClock clock = new ManualClock(T0);
    private TmpfsMount tmpfs;
    private FleetStore store;

    @BeforeEach
    void mount() throws Exception {
        tmpfs = TmpfsMount.mount(dir.resolve("small"), 16);
    }

    @AfterEach
    void unmount() throws Exception {
        try {
            if (store != null) {
                store.close();
            }
        } finally {
            tmpfs.close();
        }
    }

    @Test
    void diskFull_failsCommitsAndKeepsReads_thenWritesAgainOnceSpaceIsFreed_losingNothingStored() throws Exception {
        store = FleetStore.open(tmpfs.dir().resolve("data"), StoreOptions.defaults(), clock, new SimpleMeterRegistry());
        store.commit(store.newBatch().putHost(host("h"))
                .appendEvent(event("h", "h:before", T0, EventType.EVENT_TYPE_HOST_ONLINE)));

        tmpfs.fill("filler");
        byte[] big = new byte[256 * 1024];
        assertThatThrownBy(() -> store.commit(store.newBatch()
                .appendEvent(event("h", "h:during", T0, EventType.EVENT_TYPE_AGENT).toBuilder()
                        .setMessage(new String(big, java.nio.charset.StandardCharsets.ISO_8859_1)).build())))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining(tmpfs.dir().resolve("data").toString());

        // Still full: commits keep failing, and reads keep working.
        assertThatThrownBy(() -> store.commit(store.newBatch()
                .appendEvent(event("h", "h:still-full", T0, EventType.EVENT_TYPE_AGENT))))
                .isInstanceOf(StoreException.class).hasMessageContaining("No space left");
        assertThat(store.events(EventQuery.oldest(100))).extracting(e -> e.getId()).containsExactly("h:before");

        Files.delete(tmpfs.dir().resolve("filler"));
        store.commit(store.newBatch().appendEvent(event("h", "h:after", T0, EventType.EVENT_TYPE_HOST_ONLINE)));
        store.close();
        store = FleetStore.open(tmpfs.dir().resolve("data"), StoreOptions.defaults(), clock, new SimpleMeterRegistry());

        assertThat(store.events(EventQuery.oldest(100))).extracting(e -> e.getId())
                .containsExactly("h:before", "h:after");
        assertThat(store.events(EventQuery.oldest(100))).extracting(e -> e.getSequence()).containsExactly(1L, 2L);
        assertThat(store.host("h")).contains(host("h"));
    }
}
