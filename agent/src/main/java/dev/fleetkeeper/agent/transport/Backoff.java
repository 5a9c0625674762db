package dev.fleetkeeper.agent.transport;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with "equal jitter": the n-th delay is half of min(max, initial * 2^n)
 * plus a random share of the other half, so that a fleet of agents that lost the same
 * controller does not reconnect in lock-step. Pure: the randomness is injected.
 */
public final class Backoff {

    private final long initialMillis;
    private final long maxMillis;
    private final DoubleSupplier random;

    /** {@code random} returns values in [0, 1). */
    public Backoff(Duration initial, Duration max, DoubleSupplier random) {
        if (initial.isNegative() || initial.isZero()) {
            throw new IllegalArgumentException("initial: " + initial + " (expected: > 0)");
        }
        if (max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("max: " + max + " (expected: >= initial " + initial + ")");
        }
        this.initialMillis = initial.toMillis();
        this.maxMillis = max.toMillis();
        this.random = random;
    }

    /** Delay before attempt {@code attempt} (0 for the first retry). */
    public Duration delay(int attempt) {
        if (attempt < 0) {
            throw new IllegalArgumentException("attempt: " + attempt + " (expected: >= 0)");
        }
        int shift = Math.min(attempt, 30);
        // Compare before shifting: initialMillis << shift overflows for initial delays of months.
        long ceiling = initialMillis > (maxMillis >> shift) ? maxMillis : initialMillis << shift;
        long half = ceiling / 2;
        return Duration.ofMillis(half + (long) (random.getAsDouble() * (ceiling - half)));
    }
}
