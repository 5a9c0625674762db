package dev.fleetkeeper.agent.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetkeeper.agent.memory.SyntheticSeries.Series;
import dev.fleetkeeper.agent.memory.SyntheticSeries.Shape;
import dev.fleetkeeper.agent.memory.SyntheticSeries.Spec;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SyntheticSeriesTest {

    private static final long MIB = 1024 * 1024;
    private static final long T0 = 1_750_000_000_000L;

    @Test
    void sameSeed_sameSeries_otherSeed_otherNoise() {
        Spec spec = Spec.typical(Shape.NOISY_GROWTH);

        assertThat(SyntheticSeries.generate(spec, 1, T0)).isEqualTo(SyntheticSeries.generate(spec, 1, T0));
        assertThat(SyntheticSeries.generate(spec, 2, T0).samples())
                .isNotEqualTo(SyntheticSeries.generate(spec, 1, T0).samples());
    }

    @Test
    void thirtyMinutesAtFiveSeconds_is361Samples_endingNow_startedAnHourBefore() {
        Series s = SyntheticSeries.generate(Spec.typical(Shape.FLAT), 1, T0);

        assertThat(s.samples()).hasSize(361);
        assertThat(s.samples().get(0).timeMillis()).isEqualTo(T0);
        assertThat(s.nowMillis()).isEqualTo(T0 + 30 * 60_000);
        assertThat(s.startedAtMillis()).isEqualTo(T0 - 60 * 60_000);
    }

    @Test
    void steadyGrowth_risesAtItsSlope_growthThatStops_levelsOff_stepSettles() {
        Series growth = SyntheticSeries.generate(Spec.typical(Shape.STEADY_GROWTH).withNoise(0), 1, T0);
        Series stops = SyntheticSeries.generate(Spec.typical(Shape.GROWTH_THEN_FLAT).withNoise(0), 1, T0);
        Series step = SyntheticSeries.generate(Spec.typical(Shape.STEP_THEN_FLAT).withNoise(0), 1, T0);

        assertThat(rise(growth.samples())).isEqualTo(30 * MIB);
        // 1 MiB/min for 45% of 30 minutes.
        assertThat(rise(stops.samples())).isEqualTo(Math.round(13.5 * MIB));
        assertThat(rise(step.samples())).isBetween(39 * MIB, 40 * MIB);
    }

    @Test
    void sawtooth_staysWithinItsAmplitudeAboveTheTrend() {
        Series flat = SyntheticSeries.generate(Spec.typical(Shape.SAWTOOTH_FLAT).withNoise(0), 1, T0);

        assertThat(flat.samples()).allSatisfy(s ->
                assertThat(s.rssBytes()).isBetween(200 * MIB, 224 * MIB));
        assertThat(flat.samples().stream().mapToLong(MemorySample::rssBytes).distinct().count()).isGreaterThan(10);
    }

    @Test
    void labelledSet_holdsEveryShape_labelledAsTheDetectorShouldJudgeIt() {
        List<Series> set = SyntheticSeries.labelledSet(3, 42, T0);

        assertThat(set).hasSize(3 * Shape.values().length);
        assertThat(set).filteredOn(Series::leak).extracting(s -> s.spec().shape()).containsOnly(
                Shape.STEADY_GROWTH, Shape.NOISY_GROWTH, Shape.SAWTOOTH_GROWTH);
        assertThat(SyntheticSeries.labelledSet(3, 42, T0)).isEqualTo(set);
    }

    @Test
    void randomSpecs_stayInTheirDocumentedRanges() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 200; i++) {
            Spec s = Spec.random(Shape.SAWTOOTH_GROWTH, random);
            assertThat(s.baseBytes()).isBetween(60 * MIB, 400 * MIB);
            assertThat(s.slopeBytesPerSecond() * 60).isBetween(0.2 * MIB, 3.0 * MIB);
            assertThat(s.gcPeriod().toMillis()).isBetween(15_000L, 150_000L);
        }
    }

    @Test
    void spec_rejectsNonsense_sayingWhatWasExpected() {
        assertThatThrownBy(() -> Spec.typical(Shape.FLAT).withChangeAt(1.5))
                .hasMessage("changeAt: 1.5 (expected: 0 to 1)");
        assertThatThrownBy(() -> SyntheticSeries.labelledSet(0, 1, T0))
                .hasMessage("perShape: 0 (expected: >= 1)");
    }

    private static long rise(List<MemorySample> samples) {
        return samples.get(samples.size() - 1).rssBytes() - samples.get(0).rssBytes();
    }
}
