package dev.fleetkeeper.agent.memory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * When an instance's memory has settled after a start, and at what level: its startup
 * baseline. Pure; time is passed in.
 *
 * <p>Settled means: the instance has run at least {@code settle}, and over the last
 * {@code settle} of its series the resident memory stayed within {@code flatTolerance} of its
 * median (a garbage collector's small sawtooth is fine; warm-up growth is not). The baseline is
 * that median. An instance that never flattens (it leaks from the start) gets a baseline after
 * {@code 3 × settle} anyway, the median of the last window, so that a leaking release is still
 * compared with the one before it.
 */
public final class Baselines {

    /**
     * @param settle        how long a window of flat memory must be (and the least time after a start)
     * @param flatTolerance how far from the window's median every sample may be, as a fraction (0.05 = 5 %)
     */
    public record Settings(Duration settle, double flatTolerance) {
        public static final Settings DEFAULTS = new Settings(Duration.ofMinutes(2), 0.05);

        public Settings {
            Objects.requireNonNull(settle, "settle");
            if (settle.isNegative() || settle.isZero()) {
                throw new IllegalArgumentException("settle: " + settle + " (expected: > 0)");
            }
            if (!(flatTolerance > 0 && flatTolerance < 1)) {
                throw new IllegalArgumentException("flatTolerance: " + flatTolerance + " (expected: between 0 and 1)");
            }
        }
    }

    private Baselines() {
    }

    /**
     * The settled RSS of an instance started at {@code startedAtMillis}, from its series (oldest
     * first), or empty while it has not settled.
     */
    public static OptionalLong settled(List<MemorySample> series, long startedAtMillis, long nowMillis, Settings s) {
        long settle = s.settle().toMillis();
        if (nowMillis - startedAtMillis < settle || series.isEmpty()) {
            return OptionalLong.empty();
        }
        long from = nowMillis - settle;
        List<Long> window = new ArrayList<>();
        for (MemorySample m : series) {
            if (m.timeMillis() >= from && m.timeMillis() >= startedAtMillis && m.timeMillis() <= nowMillis) {
                window.add(m.rssBytes());
            }
        }
        // The window must really span most of the settle time, with a few samples in it.
        long firstInWindow = series.stream().mapToLong(MemorySample::timeMillis).filter(t -> t >= from).min().orElse(nowMillis);
        if (window.size() < 3 || firstInWindow - from > settle / 5) {
            return OptionalLong.empty();
        }
        long median = median(window);
        boolean flat = window.stream().allMatch(v -> Math.abs(v - median) <= s.flatTolerance() * median);
        if (flat || nowMillis - startedAtMillis >= 3 * settle) {
            return OptionalLong.of(median);
        }
        return OptionalLong.empty();
    }

    static long median(List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        sorted.sort(null);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
