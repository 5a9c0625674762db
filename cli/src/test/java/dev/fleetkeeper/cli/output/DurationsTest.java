package dev.fleetkeeper.cli.output;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class DurationsTest {
    @Test
    void parse_acceptsTheConfigFileUnits_andCombinations() {
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("10m")).isEqualTo(Duration.ofMinutes(10));
        assertThat(Durations.parse("48h")).isEqualTo(Duration.ofHours(48));
        assertThat(Durations.parse("14d")).isEqualTo(Duration.ofDays(14));
        assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
    }

    @Test
    void parse_rejectsANumberWithoutUnit_andOtherText_sayingWhatWasExpected() {
        for (String bad : new String[] {"10", "", "m", "10 m", "1.5h", "-5s", "10x"}) {
            assertThatThrownBy(() -> Durations.parse(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("is not a duration (expected: a number and a unit");
        }
    }

    @Test
    void format_usesTheTwoCoarsestUnits() {
        assertThat(Durations.format(Duration.ZERO)).isEqualTo("0s");
        assertThat(Durations.format(Duration.ofMillis(300))).isEqualTo("300ms");
        assertThat(Durations.format(Duration.ofSeconds(59))).isEqualTo("59s");
        assertThat(Durations.format(Duration.ofSeconds(61))).isEqualTo("1m");
        assertThat(Durations.format(Duration.ofMinutes(125))).isEqualTo("2h5m");
        assertThat(Durations.format(Duration.ofHours(76))).isEqualTo("3d4h");
    }
}
