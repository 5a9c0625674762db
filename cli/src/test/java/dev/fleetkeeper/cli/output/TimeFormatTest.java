package dev.fleetkeeper.cli.output;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class TimeFormatTest {
    private static final Instant NOW = Instant.parse("2026-11-05T12:00:00Z");
    private final TimeFormat time = new TimeFormat(InstantSource.fixed(NOW), ZoneId.of("Europe/Berlin"));

    private static long ago(long seconds) {
        return NOW.minusSeconds(seconds).toEpochMilli();
    }

    @Test
    void ago_isRelativeToTheInjectedClock() {
        assertThat(time.ago(ago(3))).isEqualTo("3s ago");
        assertThat(time.ago(ago(7500))).isEqualTo("2h5m ago");
        assertThat(time.ago(NOW.toEpochMilli() - 200)).isEqualTo("just now");
        assertThat(time.ago(NOW.plusSeconds(5).toEpochMilli())).isEqualTo("just now");
        assertThat(time.ago(0)).isEqualTo("never");
    }

    @Test
    void absolute_isInTheInjectedZone() {
        assertThat(time.absolute(NOW.toEpochMilli())).isEqualTo("2026-11-05 13:00:00");
    }

    @Test
    void started_isRelativeWithinADay_thenAbsolute() {
        assertThat(time.started(ago(3600))).isEqualTo("1h ago");
        assertThat(time.started(ago(2 * 86400))).isEqualTo("2026-11-03 13:00");
    }
}
