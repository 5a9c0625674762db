package dev.fleetkeeper.agent.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BaselinesTest {

    private static final long MIB = 1 << 20;
    private static final Baselines.Settings SETTINGS = new Baselines.Settings(Duration.ofSeconds(60), 0.05);

    @TempDir
    Path dir;

    /** One sample every 5 s from t=0 to {@code seconds}, RSS as {@code rss(t seconds)}. */
    private static List<MemorySample> series(long seconds, LongUnaryOperator rss) {
        List<MemorySample> out = new ArrayList<>();
        for (long t = 0; t <= seconds; t += 5) {
            out.add(new MemorySample(t * 1000, rss.applyAsLong(t), -1));
        }
        return out;
    }

    @Test
    void warmUpThenFlatSettlesAtTheFlatLevel() {
        // Grows from 50 to 120 MiB in the first 40 s (warm-up), then stays at 120 MiB.
        List<MemorySample> s = series(120, t -> t < 40 ? (50 + t * 70 / 40) * MIB : 120 * MIB);

        assertThat(Baselines.settled(s, 0, 60_000, SETTINGS)).as("still warming up in the last minute").isEmpty();
        assertThat(Baselines.settled(s, 0, 120_000, SETTINGS)).hasValue(120 * MIB);
    }

    @Test
    void aSmallSawtoothStillSettles() {
        List<MemorySample> s = series(120, t -> (100 + (t % 20 < 10 ? 0 : 3)) * MIB);

        OptionalLong b = Baselines.settled(s, 0, 120_000, SETTINGS);
        assertThat(b).isPresent();
        assertThat(b.getAsLong()).isBetween(100 * MIB, 103 * MIB);
    }

    @Test
    void growthFromTheStartGetsABaselineOnlyAfterThreeSettleTimes() {
        List<MemorySample> s = series(200, t -> (50 + t) * MIB);

        assertThat(Baselines.settled(s, 0, 120_000, SETTINGS)).isEmpty();
        assertThat(Baselines.settled(s, 0, 180_000, SETTINGS)).isPresent();
    }

    @Test
    void tooShortAfterTheStartOrTooFewSamplesIsNotSettled() {
        assertThat(Baselines.settled(series(30, t -> 100 * MIB), 0, 30_000, SETTINGS)).isEmpty();
        assertThat(Baselines.settled(List.of(new MemorySample(100_000, 100 * MIB, -1)), 0, 120_000, SETTINGS)).isEmpty();
    }

    @Test
    void theBookKeepsBaselinesByVersionAcrossReopen_andFlagsARegressionBeyondTolerance() throws Exception {
        BaselineBook book = BaselineBook.open(dir, "web");
        book.record("41", 150 * MIB, 1_000);
        book.record("41", 154 * MIB, 2_000);
        book.record("41", 152 * MIB, 3_000);
        book.record("42", 200 * MIB, 4_000);

        BaselineBook again = BaselineBook.open(dir, "web");

        assertThat(again.baselines()).extracting(BaselineBook.Baseline::version).containsExactly("42", "41");
        assertThat(again.baselines().get(1).rssBytes()).isEqualTo(152 * MIB);
        assertThat(again.baselines().get(1).samples()).isEqualTo(3);
        BaselineBook.Regression r = again.regression("42", 0.2).orElseThrow();
        assertThat(r.previous().version()).isEqualTo("41");
        assertThat(r.ratio()).isGreaterThan(1.3);
        assertThat(again.regression("42", 0.4)).as("within a 40 %% tolerance").isEmpty();
        assertThat(again.regression("41", 0.2)).as("41 is below 42").isEmpty();
    }

    @Test
    void anUnreadableBookIsSetAsideNotFatal() throws Exception {
        Files.writeString(dir.resolve("web"), "something else\n");

        BaselineBook book = BaselineBook.open(dir, "web");

        assertThat(book.baselines()).isEmpty();
        assertThat(dir.resolve("web.bad")).exists();
        book.record("1", MIB, 1);
        assertThat(BaselineBook.open(dir, "web").baselines()).hasSize(1);
    }
}
