package dev.fleetkeeper.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.service.ServiceSpec.Capacity;
import dev.fleetkeeper.agent.service.ServiceSpec.MemorySpec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The {@code memory:} section of a service entry. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ServiceSpecReaderMemoryTest {

    private static final String SOURCE = ServiceEntries.SOURCE;

    private static ServiceDeclaration only(String... memoryLines) {
        return ServiceEntries.only("worker", List.of("driver: builtin", "instances: 4", "command: /usr/bin/php"), memoryLines);
    }

    @Test
    void noMemorySection_meansNoMemoryPolicy() {
        ServiceDeclaration d = only();

        assertThat(d.isValid()).isTrue();
        assertThat(d.spec().memory()).isNull();
    }

    @Test
    void emptyMemorySection_isNoPolicy_andAnEmptyMappingTakesEveryDefault() {
        assertThat(only("memory:").spec().memory()).isNull();

        MemorySpec m = only("memory: {}").spec().memory();

        assertThat(m).isEqualTo(MemorySpec.DEFAULTS);
        assertThat(m.limitBytes()).isZero();
        assertThat(m.window()).isEqualTo(Duration.ofMinutes(30));
        assertThat(m.warmUp()).isEqualTo(Duration.ofMinutes(2));
        assertThat(m.overLimitSamples()).isEqualTo(3);
        assertThat(m.forecastUnder()).isEqualTo(Duration.ofMinutes(10));
        assertThat(m.maxAge()).isZero();
        assertThat(m.maxRecycling()).isEqualTo(1);
        assertThat(m.minAvailable()).isNull();
        assertThat(m.minAvailable(4)).as("default floor: instances - maxRecycling").isEqualTo(3);
    }

    @Test
    void everyMemoryKey_isParsed() {
        ServiceDeclaration d = only(
                "memory:",
                "  limit: 512MiB",
                "  window: 15m",
                "  warmUp: 90s",
                "  overLimitFor: 5",
                "  forecastUnder: 20m",
                "  maxAge: 12h",
                "  maxRecycling: 2",
                "  minAvailable: 50%");

        assertThat(d.error()).isNull();
        assertThat(d.spec().memory()).isEqualTo(new MemorySpec(512L << 20, Duration.ofMinutes(15), Duration.ofSeconds(90),
                5, Duration.ofMinutes(20), Duration.ofHours(12), 2, new Capacity(50, true), MemorySpec.DEFAULT_BASELINE_SETTLE, MemorySpec.DEFAULT_BASELINE_TOLERANCE));
    }

    @Test
    void minAvailable_acceptsANumberOrAPercentage_roundedUp() {
        assertThat(only("memory: {minAvailable: 2}").spec().memory().minAvailable(4)).isEqualTo(2);
        assertThat(only("memory: {minAvailable: '60%'}").spec().memory().minAvailable(4)).isEqualTo(3);
        assertThat(only("memory: {minAvailable: 0%}").spec().memory().minAvailable(4)).isZero();
    }

    @Test
    void triggersCanBeTurnedOff() {
        MemorySpec m = only("memory: {forecastUnder: off, maxAge: 0}").spec().memory();

        assertThat(m.forecastUnder()).isZero();
        assertThat(m.maxAge()).isZero();
    }

    @Test
    void badSize_namesFileLineAndKey() {
        ServiceDeclaration d = only("memory:", "  limit: 512 pages");

        assertThat(d.isValid()).isFalse();
        assertThat(d.error()).startsWith(SOURCE + ":7:").contains("services[0].memory.limit").contains("10MiB");
    }

    @Test
    void badMinAvailable_namesFileLineAndKey_andTheExpectedForms() {
        ServiceDeclaration d = only("memory:", "  window: 5m", "  minAvailable: half");

        assertThat(d.isValid()).isFalse();
        assertThat(d.error()).startsWith(SOURCE + ":8:").contains("services[0].memory.minAvailable")
                .contains("50%");
    }

    @Test
    void unknownMemoryKey_namesItsFullPathAndLists_theKnownOnes() {
        ServiceDeclaration d = only("memory:", "  maxMemoryRestart: 1G");

        assertThat(d.error()).startsWith(SOURCE + ":7:").contains("unknown key 'services[0].memory.maxMemoryRestart'")
                .contains("overLimitFor");
    }

    @Test
    void floorThatLeavesNoRoomToRecycle_isRejected_withTheKeyLine() {
        ServiceDeclaration d = only("memory:", "  limit: 1GiB", "  minAvailable: 4");

        assertThat(d.isValid()).isFalse();
        assertThat(d.error()).startsWith(SOURCE + ":8:").contains("memory.minAvailable: 4 of 4")
                .contains("maxRecycling: 0");
        assertThat(only("memory: {minAvailable: 4, maxRecycling: 0}").isValid())
                .as("detect without recycling").isTrue();
    }

    @Test
    void moreRecyclingThanInstances_isRejected() {
        ServiceDeclaration d = only("memory:", "  maxRecycling: 5");

        assertThat(d.error()).startsWith(SOURCE + ":7:").contains("memory.maxRecycling: 5 (expected: at most instances, 4)");
    }

    @Test
    void zeroOverLimitSamples_isRejected() {
        assertThat(only("memory:", "  overLimitFor: 0").error()).startsWith(SOURCE + ":7:")
                .contains("memory.overLimitFor: 0 (expected: >= 1 samples)");
    }

    @Test
    void hostShare_isRssPlusAnEvenSplitOfMemAvailable() {
        MemorySpec share = MemorySpec.DEFAULTS;

        assertThat(share.effectiveLimit(100L << 20, 800L << 20, 4)).isEqualTo(300L << 20);
        assertThat(new MemorySpec(1L << 30, Duration.ofMinutes(1), Duration.ZERO, 1, Duration.ZERO, Duration.ZERO, 1,
                null, MemorySpec.DEFAULT_BASELINE_SETTLE, MemorySpec.DEFAULT_BASELINE_TOLERANCE).effectiveLimit(100L << 20, 800L << 20, 4)).isEqualTo(1L << 30);
    }
}
