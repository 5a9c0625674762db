package dev.fleetkeeper.agent.memory;

import java.time.Duration;
import java.util.Objects;

/**
 * What the {@link LeakDetector} concludes about one instance's memory series.
 *
 * @param leaking      true when the series grows steadily (not a sawtooth, not a step that stays flat)
 * @param slopeBytesPerSecond the robust growth rate (Theil–Sen), bytes per second; may be negative
 * @param timeToLimit  forecast time until the series reaches the limit, null when it does not grow
 *                     or there is no limit
 * @param confidence   how well the trend explains the series, 0 to 1
 * @param reason       one line for a person ("grows 2.1 MiB/min over 30 min, minima rising")
 */
public record LeakVerdict(boolean leaking, double slopeBytesPerSecond, Duration timeToLimit, double confidence,
                          String reason) {
    public LeakVerdict {
        Objects.requireNonNull(reason, "reason");
    }
}
