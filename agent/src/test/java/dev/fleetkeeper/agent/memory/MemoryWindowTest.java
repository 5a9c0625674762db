package dev.fleetkeeper.agent.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.telemetry.ProcessId;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class MemoryWindowTest {

    private static final ProcessId A = new ProcessId(100, 5000);
    private static final ProcessId A_REUSED = new ProcessId(100, 9000);

    @Test
    void keepsOnlyTheWindow_andResetsOnANewProcess_evenWithTheSamePid() {
        MemoryWindow w = new MemoryWindow();
        for (int t = 0; t < 100; t++) {
            w.record(A, 1, new MemorySample(t * 1000L, t, -1), Duration.ofSeconds(30), 0);
        }

        assertThat(w.samples()).hasSize(31);
        assertThat(w.samples().get(0).timeMillis()).isEqualTo(69_000);

        assertThat(w.record(A_REUSED, 2, new MemorySample(100_000, 7, -1), Duration.ofSeconds(30), 0)).isTrue();
        assertThat(w.samples()).extracting(MemorySample::rssBytes).containsExactly(7L);
        assertThat(w.startedAtMillis()).isEqualTo(2);
    }

    @Test
    void isBounded_whenSamplesComeFasterThanTheWindowNeeds() {
        MemoryWindow w = new MemoryWindow();
        for (int t = 0; t < 100_000; t++) {
            w.record(A, 1, new MemorySample(t * 10L, t, -1), Duration.ofHours(1), 0);
        }

        assertThat(w.size()).isLessThanOrEqualTo(MemoryWindow.MAX_SAMPLES);
        assertThat(w.latest().rssBytes()).isEqualTo(99_999);
    }

    @Test
    void countsConsecutiveSamplesOverTheLimit_andStartsAgainBelowIt() {
        MemoryWindow w = new MemoryWindow();
        long[] rss = {50, 120, 130, 90, 110, 120, 130};
        for (int t = 0; t < rss.length; t++) {
            w.record(A, 1, new MemorySample(t * 1000L, rss[t], -1), Duration.ofMinutes(1), 100);
        }

        assertThat(w.overLimitSamples()).isEqualTo(3);
        w.record(A, 1, new MemorySample(10_000, 80, -1), Duration.ofMinutes(1), 100);
        assertThat(w.overLimitSamples()).isZero();
    }
}
