package dev.fleetkeeper.controller.store;

import static dev.fleetkeeper.controller.store.Fixtures.BOOT;
import static dev.fleetkeeper.controller.store.Fixtures.HOUR;
import static dev.fleetkeeper.controller.store.Fixtures.OTHER_BOOT;
import static dev.fleetkeeper.controller.store.Fixtures.T0;
import static dev.fleetkeeper.controller.store.Fixtures.event;
import static dev.fleetkeeper.controller.store.Fixtures.host;
import static dev.fleetkeeper.controller.store.Fixtures.point;
import static dev.fleetkeeper.controller.store.Fixtures.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetkeeper.controller.ManualClock;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
final class FleetStoreTest {
    @TempDir
    Path dir;

    private final ManualClock clock = new ManualClock(T0);
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private FleetStore store;

    @BeforeEach
    void open() {
        store = open(StoreOptions.defaults());
    }

    @AfterEach
    void close() {
        store.close();
    }

    private FleetStore open(StoreOptions options) {
        return FleetStore.open(dir, options, clock, registry);
    }

    private FleetStore reopen() {
        store.close();
        store = open(StoreOptions.defaults());
        return store;
    }

    @Test
    void hostsAndLatestState_roundTrip_andSurviveReopen() {
        HostRecord a = host("host-a");
        HostRecord b = host("host-b");
        store.commit(store.newBatch().putHost(b).putHost(a).putLatestState("host-a", snapshot(T0)));

        assertThat(store.host("host-a")).contains(a);
        assertThat(store.hosts()).containsExactly(a, b);
        assertThat(store.latestState("host-a")).contains(snapshot(T0));
        assertThat(store.latestState("host-b")).isEmpty();
        assertThat(store.host("nobody")).isEmpty();

        reopen();
        assertThat(store.hosts()).containsExactly(a, b);
        assertThat(store.latestState("host-a")).contains(snapshot(T0));
    }

    @Test
    void recycleJobs_surviveReopen_withTheirSteps_andTheirEventsAreStoredWithThem() {
        dev.fleetkeeper.controller.recycle.RecycleJob older = Fixtures.recycleJob("rc-019b76daa800-0001");
        dev.fleetkeeper.controller.recycle.RecycleJob newer = Fixtures.recycleJob("rc-019b76daa900-0002");
        java.util.List<Event> stored = store.saveRecycleJob(newer, java.util.List.of(
                Fixtures.exitEvent("controller", "ctl-rc-019b76daa900-0002:start", T0)));
        store.saveRecycleJob(older, java.util.List.of());
        assertThat(stored).hasSize(1);
        assertThat(stored.get(0).getSequence()).isPositive();

        reopen();
        assertThat(store.recycleJobs()).containsExactly(older, newer);
        assertThat(store.recycleJobs().get(1).steps().get(1).actionId()).endsWith("-1");
    }

    @Test
    void rollouts_surviveReopen_withTheirStepsAndGates() {
        dev.fleetkeeper.controller.rollout.Rollout older = Fixtures.rollout("ro-019b76daa800-0001");
        dev.fleetkeeper.controller.rollout.Rollout newer = Fixtures.rollout("ro-019b76daa900-0002");
        java.util.List<Event> stored = store.saveRollout(newer, java.util.List.of(
                Fixtures.exitEvent("controller", "ctl-ro-019b76daa900-0002:start", T0)));
        store.saveRollout(older, java.util.List.of());
        assertThat(stored).singleElement().matches(e -> e.getSequence() > 0);

        reopen();
        assertThat(store.rollouts()).containsExactly(older, newer);
        assertThat(store.rollouts().get(1).steps().get(1).gates()).hasSize(2);
        assertThat(store.recycleJobs()).isEmpty();
    }

    @Test
    void laterWritesInOneCommit_replaceEarlierOnes() {
        HostRecord online = host("h");
        HostRecord offline = new HostRecord("h", "h", online.labels(), "0.1.0", "k", BOOT, T0, T0 + 9, T0, false);
        store.commit(List.of(store.newBatch().putHost(online), store.newBatch().putHost(offline)));

        assertThat(store.host("h")).contains(offline);
    }

    @Test
    void memorySeries_readsAcrossHourBuckets_inTimeOrder_halfOpenRange() {
        StoreBatch batch = store.newBatch();
        // Every 10 s for three hours starting 30 min before an hour boundary.
        long start = T0 - HOUR / 2;
        for (long t = start; t < start + 3 * HOUR; t += 10_000) {
            batch.addMemoryPoint("h", BOOT, 4242, 123_456, point(t, t - start));
        }
        // Same pid, different start ticks and boot: other processes, must not leak in.
        batch.addMemoryPoint("h", BOOT, 4242, 999, point(T0, 1));
        batch.addMemoryPoint("h", OTHER_BOOT, 4242, 123_456, point(T0, 2));
        batch.addMemoryPoint("other", BOOT, 4242, 123_456, point(T0, 3));
        store.commit(batch);

        List<MemoryPoint> series = store.memorySeries("h", BOOT, 4242, 123_456, T0 - 60_000, T0 + HOUR + 60_000);

        assertThat(series).hasSize((int) ((HOUR + 120_000) / 10_000));
        assertThat(series.get(0)).isEqualTo(point(T0 - 60_000, T0 - 60_000 - start));
        assertThat(series.get(series.size() - 1).timeMillis()).isEqualTo(T0 + HOUR + 50_000);
        assertThat(series).isSortedAccordingTo((x, y) -> Long.compare(x.timeMillis(), y.timeMillis()));
        assertThat(store.memorySeries("h", BOOT, 4242, 999, 0, Long.MAX_VALUE)).containsExactly(point(T0, 1));
        assertThat(store.memorySeries("h", OTHER_BOOT, 4242, 123_456, 0, Long.MAX_VALUE)).containsExactly(point(T0, 2));
        assertThat(store.memorySeries("other", BOOT, 4242, 123_456, 0, Long.MAX_VALUE)).containsExactly(point(T0, 3));
        assertThat(store.memorySeries("unknown", BOOT, 4242, 123_456, 0, Long.MAX_VALUE)).isEmpty();
    }

    @Test
    void hostNumbers_areStableAcrossReopen() {
        store.commit(store.newBatch().addMemoryPoint("h1", BOOT, 1, 1, point(T0, 10)));
        reopen();
        store.commit(store.newBatch()
                .addMemoryPoint("h2", BOOT, 1, 1, point(T0, 20))
                .addMemoryPoint("h1", BOOT, 1, 1, point(T0 + 10_000, 11)));

        assertThat(store.memorySeries("h1", BOOT, 1, 1, 0, Long.MAX_VALUE))
                .containsExactly(point(T0, 10), point(T0 + 10_000, 11));
        assertThat(store.memorySeries("h2", BOOT, 1, 1, 0, Long.MAX_VALUE)).containsExactly(point(T0, 20));
    }

    @Test
    void events_getIncreasingSequences_thatContinueAfterReopen() {
        List<Event> first = store.commit(store.newBatch()
                .appendEvent(event("h", "h:1", T0, EventType.EVENT_TYPE_HOST_ONLINE))
                .appendEvent(event("h", "", T0, EventType.EVENT_TYPE_HOST_OFFLINE)));
        reopen();
        List<Event> second = store.commit(store.newBatch().appendEvent(event("h", "h:2", T0, EventType.EVENT_TYPE_HOST_ONLINE)));

        assertThat(first).extracting(Event::getSequence).containsExactly(1L, 2L);
        assertThat(second).extracting(Event::getSequence).containsExactly(3L);
        assertThat(store.events(EventQuery.newest(10))).extracting(Event::getSequence).containsExactly(1L, 2L, 3L);
        assertThat(store.events(EventQuery.newest(10)).get(0))
                .isEqualTo(event("h", "h:1", T0, EventType.EVENT_TYPE_HOST_ONLINE).toBuilder().setSequence(1).build());
    }

    @Test
    void eventResentWithSameId_isStoredOnce_evenAfterReopen_andWithinOneCommit() {
        Event e = event("h", "h:7", T0, EventType.EVENT_TYPE_PROCESS_STARTED);
        assertThat(store.commit(store.newBatch().appendEvent(e).appendEvent(e))).hasSize(1);
        reopen();
        clock.advance(3 * HOUR);

        assertThat(store.commit(store.newBatch().appendEvent(e))).isEmpty();
        assertThat(store.events(EventQuery.newest(10))).hasSize(1);
    }

    @Test
    void eventIdsAreForgotten_afterTheDedupWindow() {
        FleetStore shortWindow = reopenWith(StoreOptions.defaults().withEventDedupWindow(Duration.ofHours(2)));
        Event e = event("h", "h:7", T0, EventType.EVENT_TYPE_PROCESS_STARTED);
        shortWindow.commit(shortWindow.newBatch().appendEvent(e));
        clock.advance(4 * HOUR);

        assertThat(shortWindow.commit(shortWindow.newBatch().appendEvent(e))).hasSize(1);
    }

    @Test
    void uniqueEvents_areStoredWithoutTheDedupIndex_andDoNotHideALaterAgentResend() {
        Event e = event("h", "h:9", T0, EventType.EVENT_TYPE_PROCESS_STARTED);

        assertThat(store.commit(store.newBatch().appendUniqueEvent(e))).hasSize(1);
        // Not indexed: the same id appended for dedup is stored, then deduplicated from then on.
        assertThat(store.commit(store.newBatch().appendEvent(e))).hasSize(1);
        assertThat(store.commit(store.newBatch().appendEvent(e))).isEmpty();
        assertThat(store.events(EventQuery.newest(10))).extracting(Event::getSequence).containsExactly(1L, 2L);
    }

    private FleetStore reopenWith(StoreOptions options) {
        store.close();
        store = open(options);
        return store;
    }

    @Test
    void eventQuery_filtersByHostTypeTimeAndSequence_keepsNewestOrOldest() {
        StoreBatch batch = store.newBatch();
        for (int i = 0; i < 10; i++) {
            String hostId = i % 2 == 0 ? "even" : "odd";
            EventType type = i < 5 ? EventType.EVENT_TYPE_PROCESS_STARTED : EventType.EVENT_TYPE_PROCESS_EXITED;
            batch.appendEvent(event(hostId, "id-" + i, T0 + i, type));
        }
        store.commit(batch);

        assertThat(store.events(EventQuery.newest(3))).extracting(Event::getSequence).containsExactly(8L, 9L, 10L);
        assertThat(store.events(EventQuery.oldest(3))).extracting(Event::getSequence).containsExactly(1L, 2L, 3L);
        assertThat(store.events(EventQuery.oldest(3).withAfterSequence(3))).extracting(Event::getSequence)
                .containsExactly(4L, 5L, 6L);
        assertThat(store.events(EventQuery.newest(100).withHostId("even"))).extracting(Event::getId)
                .containsExactly("id-0", "id-2", "id-4", "id-6", "id-8");
        assertThat(store.events(EventQuery.newest(100).withTypes(Set.of(EventType.EVENT_TYPE_PROCESS_EXITED))
                .withSinceMillis(T0 + 7))).extracting(Event::getId).containsExactly("id-7", "id-8", "id-9");
        assertThat(store.events(new EventQuery("odd", T0, Set.of(), 5, 2))).extracting(Event::getId)
                .containsExactly("id-7", "id-9");
    }

    @Test
    void expire_dropsExactlyTheHoursOlderThanRetention() {
        FleetStore s = reopenWith(StoreOptions.defaults().withMemoryRetention(Duration.ofHours(24)));
        StoreBatch batch = s.newBatch();
        for (int h = 0; h < 30; h++) {
            batch.addMemoryPoint("h", BOOT, 1, 1, point(T0 + h * HOUR, h));
            batch.addMemoryPoint("h", BOOT, 1, 1, point(T0 + h * HOUR + HOUR - 1, h));
        }
        s.commit(batch);

        // 24 h before now is exactly the start of hour 5: hours 0..4 are wholly older.
        s.expire(T0 + 29 * HOUR);
        List<MemoryPoint> kept = s.memorySeries("h", BOOT, 1, 1, 0, Long.MAX_VALUE);
        assertThat(kept.get(0).timeMillis()).isEqualTo(T0 + 5 * HOUR);
        assertThat(kept).hasSize(2 * 25);

        // One millisecond later hour 5 still has a point inside retention (its last one): kept.
        s.expire(T0 + 29 * HOUR + 1);
        assertThat(s.memorySeries("h", BOOT, 1, 1, 0, Long.MAX_VALUE)).hasSize(2 * 25);
        s.expire(T0 + 30 * HOUR);
        assertThat(s.memorySeries("h", BOOT, 1, 1, 0, Long.MAX_VALUE)).hasSize(2 * 24);
    }

    @Test
    void serviceReports_areReplacedPerHost_andSurviveReopen() {
        store.commit(store.newBatch().putServiceReport("host-a", Fixtures.serviceReport(T0, "api")));
        store.commit(store.newBatch()
                .putServiceReport("host-a", Fixtures.serviceReport(T0 + 1000, "api", "worker"))
                .putServiceReport("host-b", Fixtures.serviceReport(T0, "db")));

        reopen();
        assertThat(store.serviceReports()).containsOnlyKeys("host-a", "host-b");
        assertThat(store.serviceReports().get("host-a")).isEqualTo(Fixtures.serviceReport(T0 + 1000, "api", "worker"));
    }

    @Test
    void actionResult_isStoredOnce_theFirstCopyWins_withinACommitAndAcrossReopen() {
        String id = FleetStore.actionIdPrefix(T0) + "-1";
        store.commit(store.newBatch()
                .addActionResult("host-a", Fixtures.doctorResult(id, "first"))
                .addActionResult("host-a", Fixtures.doctorResult(id, "second")));
        reopen();
        store.commit(store.newBatch().addActionResult("host-a", Fixtures.doctorResult(id, "resent after reconnect")));

        StoredAction stored = store.actionResult(id).orElseThrow();
        assertThat(stored.hostId()).isEqualTo("host-a");
        assertThat(stored.result()).isEqualTo(Fixtures.doctorResult(id, "first"));
        assertThat(store.actionResult("no-such-action")).isEmpty();
    }

    @Test
    void expire_dropsActionResultsIssuedBeforeEventRetention() {
        FleetStore s = reopenWith(StoreOptions.defaults().withEventDedupWindow(Duration.ofHours(1))
                .withEventRetention(Duration.ofHours(10)));
        String old = FleetStore.actionIdPrefix(T0 + HOUR - 1) + "-old";
        String kept = FleetStore.actionIdPrefix(T0 + HOUR) + "-kept";
        s.commit(s.newBatch().addActionResult("h", Fixtures.doctorResult(old, "old"))
                .addActionResult("h", Fixtures.doctorResult(kept, "kept")));

        // Retention (10 h before T0 + 11 h) starts at hour 1.
        s.expire(T0 + 11 * HOUR);

        assertThat(s.actionResult(old)).isEmpty();
        assertThat(s.actionResult(kept)).isPresent();
    }

    @Test
    void expire_dropsEventsStoredBeforeRetention_keepsSequencesGoing() {
        FleetStore s = reopenWith(StoreOptions.defaults().withEventDedupWindow(Duration.ofHours(1))
                .withEventRetention(Duration.ofHours(10)));
        for (int h = 0; h < 12; h++) {
            clock.set(T0 + h * HOUR + 30 * 60_000);
            s.commit(s.newBatch()
                    .appendEvent(event("h", "h:" + h + "a", clock.millis(), EventType.EVENT_TYPE_AGENT))
                    .appendEvent(event("h", "h:" + h + "b", clock.millis(), EventType.EVENT_TYPE_AGENT)));
        }

        // Retention starts at hour 2: the events stored in hours 0 and 1 (sequences 1..4) go.
        s.expire(T0 + 12 * HOUR);
        assertThat(s.events(EventQuery.oldest(100))).extracting(Event::getSequence).first().isEqualTo(5L);
        assertThat(s.events(EventQuery.oldest(100))).hasSize(20);

        s = reopenWith(StoreOptions.defaults().withEventDedupWindow(Duration.ofHours(1))
                .withEventRetention(Duration.ofHours(10)));
        s.expire(T0 + 30 * HOUR);
        assertThat(s.events(EventQuery.oldest(100))).isEmpty();
        clock.set(T0 + 30 * HOUR);
        assertThat(s.commit(s.newBatch().appendEvent(event("h", "h:0a", clock.millis(), EventType.EVENT_TYPE_AGENT))))
                .extracting(Event::getSequence).containsExactly(25L);
        s.expire(T0 + 30 * HOUR);
        assertThat(s.events(EventQuery.oldest(100))).hasSize(1);
    }

    @Test
    void concurrentWritersAndReaders_loseNothing() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                String hostId = "host-" + w;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 200; i++) {
                        store.commit(store.newBatch()
                                .putHost(host(hostId))
                                .addMemoryPoint(hostId, BOOT, 1, 1, point(T0 + i * 10_000L, i))
                                .appendEvent(event(hostId, hostId + ":" + i, T0 + i, EventType.EVENT_TYPE_AGENT)));
                    }
                    return null;
                }));
            }
            futures.add(pool.submit(() -> {
                for (int i = 0; i < 200; i++) {
                    store.events(EventQuery.newest(50));
                    store.memorySeries("host-0", BOOT, 1, 1, 0, Long.MAX_VALUE);
                }
                return null;
            }));
            for (Future<?> f : futures) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        List<Event> all = store.events(EventQuery.oldest(1000));
        assertThat(all).extracting(Event::getSequence).containsExactlyElementsOf(
                java.util.stream.LongStream.rangeClosed(1, 600).boxed().toList());
        assertThat(store.memorySeries("host-2", BOOT, 1, 1, 0, Long.MAX_VALUE)).hasSize(200);
        assertThat(registry.get("fleetkeeper.controller.store.commit").timer().count()).isEqualTo(600);
    }

    @Test
    void batches_areCommittedOnce_andOnlyToTheirStore() {
        StoreBatch batch = store.newBatch().putHost(host("h"));
        store.commit(batch);

        assertThatThrownBy(() -> store.commit(batch)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already committed");
        assertThatThrownBy(() -> batch.putHost(host("x"))).isInstanceOf(IllegalStateException.class);
        StoreBatch twice = store.newBatch();
        assertThatThrownBy(() -> store.commit(List.of(twice, twice))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void invalidArguments_sayWhatWasExpected() {
        assertThatThrownBy(() -> store.newBatch().addMemoryPoint("h", "not-a-uuid", 1, 1, point(T0, 1)))
                .hasMessageContaining("expected: a UUID");
        assertThatThrownBy(() -> store.newBatch().appendEvent(event("h", "x", T0, EventType.EVENT_TYPE_AGENT)
                .toBuilder().setSequence(5).build())).hasMessageContaining("the store assigns sequences");
        assertThatThrownBy(() -> StoreOptions.defaults().withMemoryRetention(Duration.ofMinutes(5)))
                .hasMessageContaining("memoryRetention: PT5M (expected: between 1 h");
        assertThatThrownBy(() -> StoreOptions.defaults().withEventDedupWindow(Duration.ofDays(30)))
                .hasMessageContaining("expected: >= 0 and <= eventRetention");
        assertThatThrownBy(() -> EventQuery.newest(0)).hasMessageContaining("limit: 0 (expected: 1 to");
    }

    @Test
    void close_isIdempotent_andLaterCallsFailClearly() {
        store.close();
        store.close();

        assertThatThrownBy(() -> store.hosts()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is closed");
        assertThatThrownBy(() -> store.commit(store.newBatch())).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void unsyncedStore_keepsCommitsAcrossCleanClose() {
        FleetStore s = reopenWith(StoreOptions.defaults().withSyncWrites(false));
        s.commit(s.newBatch().putHost(host("h")));
        s = reopenWith(StoreOptions.defaults());

        assertThat(s.host("h")).contains(host("h"));
    }
}
