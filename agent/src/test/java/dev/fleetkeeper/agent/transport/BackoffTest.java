package dev.fleetkeeper.agent.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class BackoffTest {

    /** The largest value a [0, 1) source can return. */
    private static final double ALMOST_ONE = Math.nextDown(1.0);

    @Test
    void ceilingDoublesPerAttempt_untilTheMax() {
        Backoff lowest = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2), () -> 0.0);

        List<Long> halves = new ArrayList<>();
        for (int attempt = 0; attempt < 8; attempt++) {
            halves.add(lowest.delay(attempt).toMillis());
        }

        // With no jitter the delay is half the ceiling: 100, 200, 400, ... capped at 2000.
        assertThat(halves).containsExactly(50L, 100L, 200L, 400L, 800L, 1000L, 1000L, 1000L);
    }

    @Test
    void fullJitter_reachesJustBelowTheCeiling_neverAbove() {
        Backoff highest = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2), () -> ALMOST_ONE);

        assertThat(highest.delay(0)).isEqualTo(Duration.ofMillis(99));
        assertThat(highest.delay(3)).isEqualTo(Duration.ofMillis(799));
        assertThat(highest.delay(10)).isEqualTo(Duration.ofMillis(1999));
    }

    @Test
    void jitter_staysWithinHalfCeilingAndCeiling() {
        Random random = new Random(42);
        Backoff backoff = new Backoff(Duration.ofMillis(300), Duration.ofSeconds(45), random::nextDouble);

        for (int attempt = 0; attempt < 40; attempt++) {
            long ceiling = Math.min(45_000, 300L << Math.min(attempt, 30));
            for (int i = 0; i < 200; i++) {
                assertThat(backoff.delay(attempt).toMillis())
                        .as("attempt %d", attempt)
                        .isBetween(ceiling / 2, ceiling);
            }
        }
    }

    @Test
    void jitter_spreadsDelaysOverTheWholeUpperHalf() {
        Random random = new Random(7);
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), random::nextDouble);

        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (int i = 0; i < 2000; i++) {
            long d = backoff.delay(0).toMillis();
            min = Math.min(min, d);
            max = Math.max(max, d);
        }

        assertThat(min).isLessThan(550);
        assertThat(max).isGreaterThan(950);
    }

    @Test
    void attempt1000_staysAtTheMax_withoutOverflow() {
        Backoff lowest = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), () -> 0.0);
        Backoff highest = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), () -> ALMOST_ONE);

        for (int attempt : new int[] {30, 31, 61, 62, 63, 64, 1000, Integer.MAX_VALUE}) {
            assertThat(lowest.delay(attempt)).as("attempt %d", attempt).isEqualTo(Duration.ofSeconds(15));
            assertThat(highest.delay(attempt)).as("attempt %d", attempt).isEqualTo(Duration.ofMillis(29_999));
        }
    }

    @Test
    void largeInitialDelay_doesNotOverflowTheCeiling() {
        // 200 days << 30 exceeds Long.MAX_VALUE milliseconds.
        Backoff backoff = new Backoff(Duration.ofDays(200), Duration.ofDays(400), () -> 0.0);

        for (int attempt : new int[] {1, 29, 30, 40, 1000}) {
            assertThat(backoff.delay(attempt)).as("attempt %d", attempt).isEqualTo(Duration.ofDays(200));
        }
    }

    @Test
    void invalidArguments_sayWhatWasExpected() {
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), () -> 0.0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: > 0");
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), () -> 0.0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: >= initial");
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(2), () -> 0.0);
        assertThatThrownBy(() -> backoff.delay(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: >= 0");
    }
}
