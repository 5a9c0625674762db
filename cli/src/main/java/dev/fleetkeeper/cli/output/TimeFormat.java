package dev.fleetkeeper.cli.output;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Objects;

/**
 * Times for people, against an injected clock and zone: relative ({@code 3s ago}) for what
 * matters as age, absolute local time for logs. Immutable and thread-safe.
 */
public final class TimeFormat {
    private static final DateTimeFormatter ABSOLUTE = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    private static final DateTimeFormatter MINUTES = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm");
    private static final Duration RECENT = Duration.ofDays(1);

    private final InstantSource clock;
    private final ZoneId zone;

    public TimeFormat(InstantSource clock, ZoneId zone) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.zone = Objects.requireNonNull(zone, "zone");
    }

    /** The clock's current time. */
    public Instant now() {
        return clock.instant();
    }

    /** {@code 3s ago}, {@code 2h5m ago}; {@code just now} under a second or for a clock ahead of ours; {@code never} for epoch 0. */
    public String ago(long unixMs) {
        if (unixMs <= 0) {
            return "never";
        }
        Duration age = Duration.between(Instant.ofEpochMilli(unixMs), clock.instant());
        if (age.compareTo(Duration.ofSeconds(1)) < 0) {
            return "just now";
        }
        return Durations.format(age) + " ago";
    }

    /** Local date and time to the second: {@code 2026-11-05 14:03:07}; {@code -} for epoch 0. */
    public String absolute(long unixMs) {
        return unixMs <= 0 ? "-" : ABSOLUTE.format(Instant.ofEpochMilli(unixMs).atZone(zone));
    }

    /**
     * When a process started: relative within the last day ({@code 5m ago}), else local date and
     * time to the minute ({@code 2026-11-01 09:12}).
     */
    public String started(long unixMs) {
        if (unixMs <= 0) {
            return "-";
        }
        Duration age = Duration.between(Instant.ofEpochMilli(unixMs), clock.instant());
        return age.compareTo(RECENT) < 0 ? ago(unixMs) : MINUTES.format(Instant.ofEpochMilli(unixMs).atZone(zone));
    }
}
