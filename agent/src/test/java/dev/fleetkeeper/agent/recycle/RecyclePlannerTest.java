package dev.fleetkeeper.agent.recycle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.memory.LeakVerdict;
import dev.fleetkeeper.agent.recycle.RecyclePlanner.Instance;
import dev.fleetkeeper.agent.recycle.RecyclePlanner.Plan;
import dev.fleetkeeper.agent.recycle.RecyclePlanner.Recycle;
import dev.fleetkeeper.agent.recycle.RecyclePlanner.Trigger;
import dev.fleetkeeper.agent.service.ServiceSpec.Capacity;
import dev.fleetkeeper.agent.service.ServiceSpec.MemorySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class RecyclePlannerTest {

    private static final long MIB = 1L << 20;
    private static final long LIMIT = 200 * MIB;
    private static final long NOW = 1_700_000_000_000L;

    private static MemorySpec policy(int maxRecycling, Capacity minAvailable) {
        return new MemorySpec(LIMIT, Duration.ofMinutes(1), Duration.ofSeconds(10), 3, Duration.ofMinutes(5),
                Duration.ZERO, maxRecycling, minAvailable, MemorySpec.DEFAULT_BASELINE_SETTLE, MemorySpec.DEFAULT_BASELINE_TOLERANCE);
    }

    private static LeakVerdict leaking(Duration ttl) {
        return new LeakVerdict(true, 1024 * 1024, ttl, 0.9, "grows 1.0 MiB/s");
    }

    private static Instance healthy(int i) {
        return new Instance(i, true, false, false, NOW - 600_000 + i, 100 * MIB, LIMIT, 0,
                new LeakVerdict(false, 0, null, 0.1, "flat"));
    }

    private static Instance forecast(int i, Duration ttl) {
        return new Instance(i, true, false, false, NOW - 600_000 + i, 150 * MIB, LIMIT, 0, leaking(ttl));
    }

    private static Instance overLimit(int i, int samples) {
        return new Instance(i, true, false, false, NOW - 600_000 + i, 210 * MIB, LIMIT, samples, leaking(Duration.ZERO));
    }

    private static Instance recycling(int i) {
        return new Instance(i, false, false, true, 0, -1, 0, 0, null);
    }

    private static List<Integer> chosen(Plan p) {
        return p.recycle().stream().map(Recycle::instance).toList();
    }

    @Test
    void allLeaking_maxRecyclingOne_recyclesOneAtATime() {
        List<Instance> pool = List.of(forecast(0, Duration.ofMinutes(3)), forecast(1, Duration.ofMinutes(2)),
                forecast(2, Duration.ofMinutes(4)), forecast(3, Duration.ofMinutes(1)));

        Plan p = RecyclePlanner.decide(policy(1, null), 4, pool, NOW);

        assertThat(chosen(p)).containsExactly(3);
        assertThat(p.recycle().get(0).trigger()).isEqualTo(Trigger.FORECAST);
        assertThat(p.recycle().get(0).timeToLimit()).isEqualTo(Duration.ofMinutes(1));
        assertThat(p.held()).extracting(RecyclePlanner.Held::instance).containsExactly(1, 0, 2);
    }

    @Test
    void oneInFlight_maxRecyclingOne_startsNothingMore() {
        List<Instance> pool = List.of(recycling(0), forecast(1, Duration.ofMinutes(1)), healthy(2), healthy(3));

        Plan p = RecyclePlanner.decide(policy(1, Capacity.parse("1")), 4, pool, NOW);

        assertThat(p.recycle()).isEmpty();
        assertThat(p.inFlight()).isEqualTo(1);
        assertThat(p.held()).singleElement().satisfies(h -> assertThat(h.why()).contains("maxRecycling 1"));
    }

    @Test
    void maxRecyclingTwo_startsTwo_whenTheFloorAllows() {
        List<Instance> pool = List.of(forecast(0, Duration.ofMinutes(1)), forecast(1, Duration.ofMinutes(2)),
                forecast(2, Duration.ofMinutes(3)), healthy(3));

        Plan p = RecyclePlanner.decide(policy(2, Capacity.parse("2")), 4, pool, NOW);

        assertThat(chosen(p)).containsExactly(0, 1);
    }

    @Test
    void floorAsNumber_isNeverCrossed() {
        List<Instance> pool = List.of(forecast(0, Duration.ofMinutes(1)), forecast(1, Duration.ofMinutes(2)),
                forecast(2, Duration.ofMinutes(3)), forecast(3, Duration.ofMinutes(4)));

        Plan p = RecyclePlanner.decide(policy(4, Capacity.parse("3")), 4, pool, NOW);

        assertThat(chosen(p)).containsExactly(0);
        assertThat(p.floor()).isEqualTo(3);
        assertThat(p.held()).hasSize(3).allSatisfy(h -> assertThat(h.why()).contains("minAvailable 3"));
    }

    @Test
    void floorAsPercentage_roundsUp() {
        List<Instance> pool = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            pool.add(forecast(i, Duration.ofMinutes(1 + i)));
        }

        // 50% of 5 is 2.5: the floor is 3, so 2 may go at once.
        Plan p = RecyclePlanner.decide(policy(5, Capacity.parse("50%")), 5, pool, NOW);

        assertThat(p.floor()).isEqualTo(3);
        assertThat(chosen(p)).containsExactly(0, 1);
    }

    @Test
    void floorReached_byAnInstanceAlreadyDown_holdsEverything() {
        Instance down = new Instance(1, false, false, false, 0, -1, 0, 0, null);
        List<Instance> pool = List.of(forecast(0, Duration.ofMinutes(1)), down, healthy(2));

        Plan p = RecyclePlanner.decide(policy(1, Capacity.parse("2")), 3, pool, NOW);

        assertThat(p.available()).isEqualTo(2);
        assertThat(p.recycle()).isEmpty();
    }

    @Test
    void crashLoopingInstance_doesNotCountAsAvailable_norGetsRecycled() {
        Instance looping = new Instance(1, true, true, false, NOW - 1000, 300 * MIB, LIMIT, 9, leaking(Duration.ZERO));
        List<Instance> pool = List.of(forecast(0, Duration.ofMinutes(1)), looping, healthy(2));

        Plan p = RecyclePlanner.decide(policy(1, Capacity.parse("2")), 3, pool, NOW);

        assertThat(p.available()).as("the crash-looping one is up between crashes, but not capacity").isEqualTo(2);
        assertThat(p.recycle()).isEmpty();
        assertThat(p.held()).extracting(RecyclePlanner.Held::instance).containsExactly(0);

        Plan roomy = RecyclePlanner.decide(policy(1, Capacity.parse("1")), 3, pool, NOW);
        assertThat(chosen(roomy)).containsExactly(0);
    }

    @Test
    void urgency_overLimitFirst_thenShortestForecast_thenOldest() {
        MemorySpec withAge = new MemorySpec(LIMIT, Duration.ofMinutes(1), Duration.ZERO, 3, Duration.ofMinutes(5),
                Duration.ofMinutes(5), 4, Capacity.parse("0"), MemorySpec.DEFAULT_BASELINE_SETTLE, MemorySpec.DEFAULT_BASELINE_TOLERANCE);
        Instance oldest = new Instance(4, true, false, false, NOW - 3_600_000, 100 * MIB, LIMIT, 0, null);
        Instance older = new Instance(5, true, false, false, NOW - 1_800_000, 100 * MIB, LIMIT, 0, null);
        List<Instance> pool = List.of(older, forecast(1, Duration.ofMinutes(4)), oldest, overLimit(3, 3),
                forecast(0, Duration.ofMinutes(2)));

        Plan p = RecyclePlanner.decide(withAge, 6, pool, NOW);

        assertThat(p.recycle()).extracting(Recycle::instance, Recycle::trigger).containsExactly(
                org.assertj.core.groups.Tuple.tuple(3, Trigger.OVER_LIMIT),
                org.assertj.core.groups.Tuple.tuple(0, Trigger.FORECAST),
                org.assertj.core.groups.Tuple.tuple(1, Trigger.FORECAST),
                org.assertj.core.groups.Tuple.tuple(4, Trigger.MAX_AGE));
        assertThat(p.held()).extracting(RecyclePlanner.Held::instance).containsExactly(5);
    }

    @Test
    void overLimit_needsNConsecutiveSamples() {
        Plan twice = RecyclePlanner.decide(policy(1, null), 2,
                List.of(new Instance(0, true, false, false, NOW - 60_000, 210 * MIB, LIMIT, 2, null), healthy(1)), NOW);
        Plan thrice = RecyclePlanner.decide(policy(1, null), 2,
                List.of(new Instance(0, true, false, false, NOW - 60_000, 210 * MIB, LIMIT, 3, null), healthy(1)), NOW);

        assertThat(twice.recycle()).isEmpty();
        assertThat(thrice.recycle()).singleElement().satisfies(r -> {
            assertThat(r.trigger()).isEqualTo(Trigger.OVER_LIMIT);
            assertThat(r.rssBytes()).isEqualTo(210 * MIB);
            assertThat(r.reason()).contains("over the limit 200.0 MiB for 3 samples");
        });
    }

    @Test
    void sawtoothVerdict_neverTriggers_evenWithAShortForecast() {
        LeakVerdict sawtooth = new LeakVerdict(false, 512 * 1024, Duration.ofSeconds(30), 0.2,
                "sawtooth: minima flat");
        List<Instance> pool = List.of(new Instance(0, true, false, false, NOW - 60_000, 190 * MIB, LIMIT, 0, sawtooth),
                healthy(1));

        Plan p = RecyclePlanner.decide(policy(2, Capacity.parse("0")), 2, pool, NOW);

        assertThat(p.recycle()).isEmpty();
        assertThat(p.held()).isEmpty();
    }

    @Test
    void forecastBeyondT_orNoVerdict_doesNotTrigger() {
        List<Instance> pool = List.of(forecast(0, Duration.ofMinutes(6)),
                new Instance(1, true, false, false, NOW - 1000, 150 * MIB, LIMIT, 0, null));

        assertThat(RecyclePlanner.decide(policy(2, Capacity.parse("0")), 2, pool, NOW).recycle()).isEmpty();
    }

    @Test
    void maxRecyclingZero_detectsButNeverRecycles() {
        MemorySpec detectOnly = new MemorySpec(LIMIT, Duration.ofMinutes(1), Duration.ZERO, 3, Duration.ofMinutes(5),
                Duration.ZERO, 0, null, MemorySpec.DEFAULT_BASELINE_SETTLE, MemorySpec.DEFAULT_BASELINE_TOLERANCE);

        Plan p = RecyclePlanner.decide(detectOnly, 2, List.of(overLimit(0, 5), healthy(1)), NOW);

        assertThat(p.recycle()).isEmpty();
        assertThat(p.held()).singleElement().satisfies(h -> assertThat(h.why()).contains("detect and report only"));
    }

    @Test
    void singleInstance_withTheDefaultFloor_canBeRecycled() {
        Plan p = RecyclePlanner.decide(policy(1, null), 1, List.of(forecast(0, Duration.ofMinutes(1))), NOW);

        assertThat(p.floor()).isZero();
        assertThat(chosen(p)).containsExactly(0);
    }
}
