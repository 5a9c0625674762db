package dev.fleetkeeper.agent.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.fleetkeeper.agent.memory.SyntheticSeries.Series;
import dev.fleetkeeper.agent.memory.SyntheticSeries.Shape;
import dev.fleetkeeper.agent.memory.SyntheticSeries.Spec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LeakDetectorTest {

    private static final long MIB = 1024 * 1024;
    private static final long T0 = 1_750_000_000_000L;
    private static final LeakDetector DETECTOR = new LeakDetector(LeakDetector.Settings.DEFAULTS);

    private static LeakVerdict assess(Spec spec, long seed) {
        return SyntheticSeries.generate(spec, seed, T0).assess(DETECTOR);
    }

    @Test
    void leakDetector_flagsSteadyGrowth() {
        LeakVerdict v = assess(Spec.typical(Shape.STEADY_GROWTH), 1);

        assertThat(v.leaking()).as(v.reason()).isTrue();
        assertThat(v.slopeBytesPerSecond() * 60).isCloseTo(MIB, within(0.05 * MIB));
        assertThat(v.confidence()).isGreaterThan(0.95);
        assertThat(v.reason()).startsWith("grows 1.0 MiB/min over 30 min");
    }

    @Test
    void leakDetector_flagsNoisyGrowth() {
        // 2 MiB of noise against 1 MiB/min: the rise per 3-min bucket is about the noise.
        LeakVerdict v = assess(Spec.typical(Shape.NOISY_GROWTH), 2);

        assertThat(v.leaking()).as(v.reason()).isTrue();
        assertThat(v.slopeBytesPerSecond() * 60).isCloseTo(MIB, within(0.15 * MIB));
    }

    @Test
    void leakDetector_ignoresSawtoothWithoutGrowth() {
        LeakVerdict v = assess(Spec.typical(Shape.SAWTOOTH_FLAT).withSlope(5 * MIB / 60.0), 3);

        assertThat(v.leaking()).as(v.reason()).isFalse();
        assertThat(v.timeToLimit()).isNull();
    }

    @Test
    void leakDetector_flagsSawtoothWithGrowth() {
        // 24 MiB collected every minute; the floor rises 1 MiB/min underneath.
        LeakVerdict v = assess(Spec.typical(Shape.SAWTOOTH_GROWTH), 4);

        assertThat(v.leaking()).as(v.reason()).isTrue();
        assertThat(v.slopeBytesPerSecond() * 60).isCloseTo(MIB, within(0.25 * MIB));
    }

    @ParameterizedTest(name = "step at {0} of the window")
    @ValueSource(doubles = {0.15, 0.3, 0.45, 0.5, 0.55, 0.7, 0.85})
    void leakDetector_ignoresStepThenFlat_whereverTheStepFalls(double at) {
        LeakVerdict v = assess(Spec.typical(Shape.STEP_THEN_FLAT).withChangeAt(at), 5);

        assertThat(v.leaking()).as(v.reason()).isFalse();
        assertThat(v.timeToLimit()).isNull();
    }

    @ParameterizedTest(name = "growth stops at {0} of the window")
    @ValueSource(doubles = {0.3, 0.45, 0.55})
    void leakDetector_ignoresSlowGrowthThatStops(double at) {
        LeakVerdict v = assess(Spec.typical(Shape.GROWTH_THEN_FLAT).withSlope(0.5 * MIB / 60).withChangeAt(at), 6);

        // Stopped early, it is too little growth over the window; stopped later, the later half is flat.
        assertThat(v.leaking()).as(v.reason()).isFalse();
        assertThat(v.reason()).matches("(no growth|growth stopped): .*");
    }

    @Test
    void leakDetector_ignoresFlat() {
        LeakVerdict v = assess(Spec.typical(Shape.FLAT), 7);

        assertThat(v.leaking()).isFalse();
        assertThat(v.reason()).startsWith("no growth");
    }

    @ParameterizedTest
    @EnumSource(Shape.class)
    void leakDetector_flagsExactlyTheLeaks_overTwentySeedsOfEachShape(Shape shape) {
        for (long seed = 100; seed < 120; seed++) {
            LeakVerdict v = assess(Spec.typical(shape), seed);
            assertThat(v.leaking()).as("%s seed %d: %s", shape, seed, v.reason()).isEqualTo(shape.leak());
        }
    }

    @Test
    void warmUpSpike_isIgnored_soTheLeakAfterItIsFlagged() {
        // Started at the first sample: 10 minutes of start-up at 600 MiB, then a steady leak from 210 MiB.
        Duration warmUp = Duration.ofMinutes(10);
        Series leak = SyntheticSeries.generate(Spec.typical(Shape.STEADY_GROWTH), 8, T0);
        List<MemorySample> withSpike = new ArrayList<>();
        for (MemorySample s : leak.samples()) {
            boolean warmingUp = s.timeMillis() - T0 < warmUp.toMillis();
            withSpike.add(warmingUp ? new MemorySample(s.timeMillis(), 600 * MIB, -1) : s);
        }

        LeakVerdict v = new LeakDetector(LeakDetector.Settings.DEFAULTS.withWarmUp(warmUp))
                .assess(withSpike, 0, T0, leak.nowMillis());
        LeakVerdict noWarmUp = new LeakDetector(LeakDetector.Settings.DEFAULTS.withWarmUp(Duration.ZERO))
                .assess(withSpike, 0, T0, leak.nowMillis());

        assertThat(v.leaking()).as(v.reason()).isTrue();
        assertThat(v.reason()).contains("over 20 min");
        // The same series with the spike looked at: the floor falls first, so no leak. The test is not vacuous.
        assertThat(noWarmUp.leaking()).as(noWarmUp.reason()).isFalse();
    }

    @Test
    void samplesOlderThanTheWindow_areIgnored() {
        // An hour: 30 minutes flat at 600 MiB (a previous, larger phase), then the typical leak from 200 MiB.
        Series leak = SyntheticSeries.generate(Spec.typical(Shape.STEADY_GROWTH), 9, T0);
        List<MemorySample> hour = new ArrayList<>();
        for (long t = T0 - Duration.ofMinutes(30).toMillis(); t < T0 - 1000; t += 5000) {
            hour.add(new MemorySample(t, 600 * MIB, -1));
        }
        hour.addAll(leak.samples());

        LeakVerdict v = DETECTOR.assess(hour, 0, leak.startedAtMillis(), leak.nowMillis());
        LeakVerdict wide = new LeakDetector(new LeakDetector.Settings(Duration.ofMinutes(60), Duration.ofMinutes(2),
                30, Duration.ofMinutes(10), 10, 512, 2.0, 0.8, 0.4, 1024))
                .assess(hour, 0, leak.startedAtMillis(), leak.nowMillis());

        assertThat(v.leaking()).as(v.reason()).isTrue();
        assertThat(wide.leaking()).as(wide.reason()).isFalse();
    }

    @Test
    void tooFewSamples_isNotLeaking_withTheReason() {
        Series leak = SyntheticSeries.generate(Spec.typical(Shape.STEADY_GROWTH), 10, T0);
        List<MemorySample> last20 = leak.samples().subList(leak.samples().size() - 20, leak.samples().size());

        LeakVerdict v = DETECTOR.assess(last20, 1024 * MIB, leak.startedAtMillis(), leak.nowMillis());

        assertThat(v.leaking()).isFalse();
        assertThat(v.timeToLimit()).isNull();
        assertThat(v.confidence()).isZero();
        assertThat(v.reason()).isEqualTo("too few samples: 20 in the last 30 min after warm-up (expected: >= 30)");
    }

    @Test
    void tooShortASpan_isNotLeaking_withTheReason() {
        // 5 minutes at 1 s: plenty of samples, too little time to tell a leak from a warm-up.
        Spec fast = new Spec(Shape.STEADY_GROWTH, 200 * MIB, MIB / 60.0, 0, Duration.ofSeconds(60), 0, 0, 0.5,
                Duration.ofSeconds(1), Duration.ofMinutes(5), 0);
        LeakVerdict v = SyntheticSeries.generate(fast, 11, T0).assess(DETECTOR);

        assertThat(v.leaking()).isFalse();
        assertThat(v.reason()).isEqualTo("too short: the 301 samples in the last 30 min after warm-up span 5 min"
                + " (expected: >= 10 min)");
    }

    @Test
    void forecast_aOneMibPerMinuteLeak100MibBelowItsLimit_reachesItInAbout100Minutes() {
        Spec spec = Spec.typical(Shape.STEADY_GROWTH);
        // The leak's noise-free level at the last sample is base + 30 MiB.
        long limit = spec.baseBytes() + 30 * MIB + 100 * MIB;
        LeakVerdict v = assess(spec.withLimit(limit), 12);

        assertThat(v.leaking()).isTrue();
        assertThat(v.timeToLimit().toSeconds() / 60.0).isCloseTo(100, within(5.0));
        assertThat(v.reason()).contains("reaches its limit 330 MiB in ~1 h ");
    }

    @Test
    void forecast_startsFromThePeaks_soASawtoothReachesItsLimitSooner() {
        Spec spec = Spec.typical(Shape.SAWTOOTH_GROWTH);
        long limit = spec.baseBytes() + 30 * MIB + 100 * MIB;
        LeakVerdict v = assess(spec.withLimit(limit), 13);

        // The sawtooth adds 0 to 24 MiB on top of the trend: the fitted middle is 12 MiB up, the
        // peaks 24 MiB up, so the peaks are 76 MiB from the limit: ~76 min, not ~88 (the middle).
        assertThat(v.leaking()).isTrue();
        assertThat(v.timeToLimit().toSeconds() / 60.0).isCloseTo(76, within(6.0));
    }

    @Test
    void forecast_isNullWithoutALimit_andZeroAtTheLimit() {
        Spec spec = Spec.typical(Shape.STEADY_GROWTH);

        assertThat(assess(spec.withLimit(0), 14).timeToLimit()).isNull();
        assertThat(assess(spec.withLimit(-1), 14).reason()).endsWith("; no limit");
        LeakVerdict over = assess(spec.withLimit(spec.baseBytes() + 20 * MIB), 14);
        assertThat(over.timeToLimit()).isZero();
        assertThat(over.reason()).contains("at its limit");
    }

    @Test
    void verdict_doesNotDependOnSampleOrder() {
        Series s = SyntheticSeries.generate(Spec.typical(Shape.NOISY_GROWTH), 15, T0);
        List<MemorySample> shuffled = new ArrayList<>(s.samples());
        Collections.shuffle(shuffled, new Random(15));

        assertThat(DETECTOR.assess(shuffled, s.spec().limitBytes(), s.startedAtMillis(), s.nowMillis()))
                .isEqualTo(s.assess(DETECTOR));
    }

    @Test
    void manySamples_aBoundedPairSample_stillFindsTheSlope_deterministically() {
        // 1,801 samples at 1 s: 1.6 million pairs, of which 1,024 are looked at.
        Spec dense = new Spec(Shape.NOISY_GROWTH, 200 * MIB, MIB / 60.0, 2 * MIB, Duration.ofSeconds(60), 0, 0,
                0.5, Duration.ofSeconds(1), Duration.ofMinutes(30), 0);
        Series s = SyntheticSeries.generate(dense, 16, T0);

        LeakVerdict v = s.assess(DETECTOR);

        assertThat(v.leaking()).as(v.reason()).isTrue();
        assertThat(v.slopeBytesPerSecond() * 60).isCloseTo(MIB, within(0.1 * MIB));
        assertThat(s.assess(DETECTOR)).isEqualTo(v);
    }

    @Test
    void samplesAfterNow_areIgnored() {
        Series s = SyntheticSeries.generate(Spec.typical(Shape.STEADY_GROWTH), 17, T0);
        List<MemorySample> withFuture = new ArrayList<>(s.samples());
        withFuture.add(new MemorySample(s.nowMillis() + 60_000, 1, -1));

        assertThat(DETECTOR.assess(withFuture, s.spec().limitBytes(), s.startedAtMillis(), s.nowMillis()))
                .isEqualTo(s.assess(DETECTOR));
    }

    @Test
    void settings_rejectNonsense_sayingWhatWasExpected() {
        LeakDetector.Settings d = LeakDetector.Settings.DEFAULTS;
        assertThatThrownBy(() -> new LeakDetector.Settings(Duration.ZERO, d.warmUp(), 30, d.minSpan(), 10, 512, 2,
                0.8, 0.4, 1024)).hasMessage("window: PT0S (expected: >= 1 ms)");
        assertThatThrownBy(() -> new LeakDetector.Settings(d.window(), d.warmUp(), 30, d.minSpan(), 7, 512, 2,
                0.8, 0.4, 1024)).hasMessage("buckets: 7 (expected: an even number >= 4)");
        assertThatThrownBy(() -> new LeakDetector.Settings(d.window(), d.warmUp(), 30, Duration.ofHours(1), 10,
                512, 2, 0.8, 0.4, 1024)).hasMessage("minSpan: PT1H (expected: > 0 and <= window PT30M)");
        assertThatThrownBy(() -> new LeakDetector.Settings(d.window(), d.warmUp(), 30, d.minSpan(), 10, 512, 2,
                1.5, 0.4, 1024)).hasMessage("minConfidence: 1.5 (expected: 0 to 1)");
        assertThatThrownBy(() -> d.withWarmUp(Duration.ofSeconds(-1)))
                .hasMessage("warmUp: PT-1S (expected: >= 0)");
        assertThatThrownBy(() -> d.withMaxPairs(4)).hasMessage("maxPairs: 4 (expected: >= 16)");
    }
}
