package dev.fleetkeeper.cli.output;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class UnitsTest {
    @Test
    void bytes_useBinaryUnits_oneDecimalBelow100() {
        assertThat(Units.bytes(0)).isEqualTo("0B");
        assertThat(Units.bytes(1023)).isEqualTo("1023B");
        assertThat(Units.bytes(1024)).isEqualTo("1.0K");
        assertThat(Units.bytes(12_897_485)).isEqualTo("12.3M");
        assertThat(Units.bytes(432_013_312)).isEqualTo("412M");
        assertThat(Units.bytes(3L << 30)).isEqualTo("3.0G");
        assertThat(Units.bytes(Long.MAX_VALUE)).isEqualTo("8.0E");
    }

    @Test
    void bytes_justBelowAUnit_roundUpIntoIt() {
        assertThat(Units.bytes((1L << 20) - 1)).isEqualTo("1.0M");
    }

    @Test
    void negativeBytes_areRejected() {
        assertThatThrownBy(() -> Units.bytes(-1)).hasMessage("bytes: -1 (expected: >= 0)");
    }

    @Test
    void percentAndLoad_haveFixedDecimals_whateverTheLocale() {
        assertThat(Units.percent(37.5)).isEqualTo("37.5");
        assertThat(Units.percent(0)).isEqualTo("0.0");
        assertThat(Units.load(0.4200001)).isEqualTo("0.42");
    }
}
