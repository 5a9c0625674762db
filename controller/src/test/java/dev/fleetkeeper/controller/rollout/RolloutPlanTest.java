package dev.fleetkeeper.controller.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The rollout plan: defaults, validation messages, batch sizes. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
final class RolloutPlanTest {

    private static RolloutPlan batch(String batch) {
        return new RolloutPlan(0, batch, 0, 0, 0, 0, false, false, false, "", 0, "");
    }

    @Test
    void zeroValues_takeTheDocumentedDefaults() {
        RolloutPlan p = RolloutPlan.defaults();
        assertThat(p.canary()).isEqualTo(1);
        assertThat(p.batch()).isEqualTo("1");
        assertThat(p.minHealthyMillis()).isEqualTo(10_000);
        assertThat(p.healthyDeadlineMillis()).isEqualTo(300_000);
        assertThat(p.progressDeadlineMillis()).isEqualTo(600_000);
        assertThat(p.maxFailures()).isZero();
        assertThat(p.autoPromote()).isFalse();
        assertThat(p.autoRollback()).isFalse();
        assertThat(p.pauseOnDisconnect()).isFalse();
        assertThat(p.probe()).isEmpty();
    }

    @Test
    void batch_isANumberOrAPercentageOfTheInstancesRoundedUp() {
        assertThat(batch("2").batchSize(10)).isEqualTo(2);
        assertThat(batch("25%").batchSize(10)).isEqualTo(3);
        assertThat(batch("100%").batchSize(7)).isEqualTo(7);
        assertThat(batch("1%").batchSize(3)).isEqualTo(1);
        assertThat(batch(" 50 % ".strip()).batchSize(4)).isEqualTo(2);
    }

    @Test
    void badBatch_isRefusedSayingWhatIsExpected() {
        for (String bad : new String[] {"0", "-1", "150%", "0%", "x", "2.5"}) {
            assertThatThrownBy(() -> batch(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("batch: '" + bad + "'")
                    .hasMessageContaining("expected: a number of instances >= 1");
        }
    }

    @Test
    void canaryLargerThanTheInstances_isRefused() {
        RolloutPlan p = new RolloutPlan(3, "", 0, 0, 0, 0, false, false, false, "", 0, "");
        p.checkFor(3);
        assertThatThrownBy(() -> p.checkFor(2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("canary: 3 but the rollout has only 2 instance(s) (expected: 1 to 2)");
    }

    @Test
    void negativeValues_areRefusedNamingTheField() {
        assertThatThrownBy(() -> new RolloutPlan(-1, "", 0, 0, 0, 0, false, false, false, "", 0, ""))
                .hasMessageStartingWith("canary: -1");
        assertThatThrownBy(() -> new RolloutPlan(0, "", -5, 0, 0, 0, false, false, false, "", 0, ""))
                .hasMessageStartingWith("min_healthy_ms: -5");
        assertThatThrownBy(() -> new RolloutPlan(0, "", 0, 0, 0, -1, false, false, false, "", 0, ""))
                .hasMessageStartingWith("max_failures: -1");
        assertThatThrownBy(() -> new RolloutPlan(0, "", 0, 0, 0, 0, false, false, false, "", -0.1, ""))
                .hasMessageStartingWith("memory_tolerance: -0.1");
    }

    @Test
    void healthyDeadlineNotAboveMinHealthy_isRefused() {
        assertThatThrownBy(() -> new RolloutPlan(0, "", 60_000, 60_000, 0, 0, false, false, false, "", 0, ""))
                .hasMessageContaining("healthy_deadline_ms: 60000 (expected: more than min_healthy_ms 60000");
        assertThatThrownBy(() -> new RolloutPlan(0, "", 0, 0, 60_000, 0, false, false, false, "", 0, ""))
                .hasMessageContaining("progress_deadline_ms: 60000 (expected: at least healthy_deadline_ms 300000)");
    }

    @Test
    void probe_takesTcpOrAnHttpPath_andNothingElse() {
        assertThat(new RolloutPlan(0, "", 0, 0, 0, 0, false, false, false, " tcp ", 0, "").probe()).isEqualTo("tcp");
        assertThat(new RolloutPlan(0, "", 0, 0, 0, 0, false, false, false, "http:/health", 0, "").probe())
                .isEqualTo("http:/health");
        assertThatThrownBy(() -> new RolloutPlan(0, "", 0, 0, 0, 0, false, false, false, "http:/a b", 0, ""))
                .hasMessageStartingWith("probe: 'http:/a b' (expected:");
    }

    private static RolloutPlan minAvailable(String spec) {
        return new RolloutPlan(0, "", 0, 0, 0, 0, false, false, false, "", 0, spec);
    }

    @Test
    void minAvailable_isANumberOrAPercentage_orEmptyForEachHostsDeclaredFloor() {
        assertThat(RolloutPlan.defaults().minAvailable()).isEmpty();
        assertThat(minAvailable(" 2 ").minAvailable()).isEqualTo("2");
        assertThat(minAvailable("50%").minAvailable()).isEqualTo("50%");
        assertThat(minAvailable("0").floorOn(3, 2).describe()).isEqualTo("floor 0 (min_available 0 of the rollout)");
        assertThat(minAvailable("50%").floorOn(3, 1).describe()).isEqualTo("floor 2 (min_available 50% of the rollout)");
        assertThat(minAvailable("").floorOn(3, 1).describe()).isEqualTo("floor 1 (declared on host)");
        assertThat(minAvailable("").floorOn(3, 0).describe()).isEqualTo("floor 2 (default: all but one)");
        assertThat(minAvailable("").floorOn(1, 0).instances()).as("a single instance may go").isZero();
    }

    @Test
    void badMinAvailable_isRefusedSayingWhatIsExpected() {
        for (String bad : new String[] {"-1", "150%", "x", "2.5", "%"}) {
            assertThatThrownBy(() -> minAvailable(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("min_available: '" + bad + "'")
                    .hasMessageContaining("expected: a number of instances such as 2, or a percentage")
                    .hasMessageContaining("keeps each host's declared floor");
        }
    }
}
