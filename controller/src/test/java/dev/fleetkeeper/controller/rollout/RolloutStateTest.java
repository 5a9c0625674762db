package dev.fleetkeeper.controller.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetkeeper.controller.coordination.IllegalTransitionException;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The rollout and step state machines: exactly the transitions the diagrams show. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
final class RolloutStateTest {

    @Test
    void rolloutState_allowsExactlyTheDiagramsTransitions() {
        assertAllowed(RolloutState.PENDING, RolloutState.CANARY, RolloutState.ABORTED);
        assertAllowed(RolloutState.CANARY, RolloutState.AWAITING_PROMOTION, RolloutState.ROLLING,
                RolloutState.PAUSED, RolloutState.FAILED, RolloutState.ROLLING_BACK, RolloutState.ABORTED);
        assertAllowed(RolloutState.AWAITING_PROMOTION, RolloutState.ROLLING, RolloutState.ROLLING_BACK,
                RolloutState.ABORTED);
        assertAllowed(RolloutState.ROLLING, RolloutState.SUCCEEDED, RolloutState.PAUSED, RolloutState.FAILED,
                RolloutState.ROLLING_BACK, RolloutState.ABORTED);
        assertAllowed(RolloutState.PAUSED, RolloutState.CANARY, RolloutState.ROLLING, RolloutState.FAILED,
                RolloutState.ROLLING_BACK, RolloutState.ABORTED);
        assertAllowed(RolloutState.FAILED, RolloutState.ROLLING_BACK);
        assertAllowed(RolloutState.ROLLING_BACK, RolloutState.ROLLED_BACK, RolloutState.ABORTED);
        assertAllowed(RolloutState.SUCCEEDED);
        assertAllowed(RolloutState.ROLLED_BACK);
        assertAllowed(RolloutState.ABORTED);
    }

    @Test
    void rolloutState_terminalAndActive_areDerivedFromTheTable() {
        assertThat(EnumSet.allOf(RolloutState.class).stream().filter(RolloutState::isTerminal))
                .containsExactlyInAnyOrder(RolloutState.SUCCEEDED, RolloutState.ROLLED_BACK, RolloutState.ABORTED);
        assertThat(RolloutState.FAILED.isActive()).isFalse();
        assertThat(RolloutState.FAILED.isTerminal()).isFalse();
        assertThat(RolloutState.PAUSED.isActive()).isTrue();
    }

    @Test
    void rolloutState_illegalTransition_throwsNamingBothStates() {
        assertThatThrownBy(() -> RolloutState.SUCCEEDED.to(RolloutState.ROLLING_BACK))
                .isInstanceOf(IllegalTransitionException.class)
                .hasMessage("illegal rollout transition SUCCEEDED -> ROLLING_BACK");
        assertThatThrownBy(() -> RolloutState.PENDING.to(RolloutState.ROLLING))
                .isInstanceOf(IllegalTransitionException.class);
    }

    @Test
    void stepState_allowsExactlyTheDiagramsTransitions() {
        assertStepAllowed(RolloutStepState.PENDING, RolloutStepState.SENT, RolloutStepState.VERIFYING,
                RolloutStepState.SKIPPED);
        assertStepAllowed(RolloutStepState.SENT, RolloutStepState.VERIFYING, RolloutStepState.FAILED,
                RolloutStepState.ROLLING_BACK);
        assertStepAllowed(RolloutStepState.VERIFYING, RolloutStepState.HEALTHY, RolloutStepState.FAILED,
                RolloutStepState.ROLLING_BACK);
        assertStepAllowed(RolloutStepState.HEALTHY, RolloutStepState.ROLLING_BACK);
        assertStepAllowed(RolloutStepState.FAILED, RolloutStepState.ROLLING_BACK);
        assertStepAllowed(RolloutStepState.ROLLING_BACK, RolloutStepState.ROLLED_BACK, RolloutStepState.FAILED);
        assertStepAllowed(RolloutStepState.ROLLED_BACK);
        assertStepAllowed(RolloutStepState.SKIPPED);
        assertThatThrownBy(() -> RolloutStepState.HEALTHY.to(RolloutStepState.SENT))
                .isInstanceOf(IllegalTransitionException.class)
                .hasMessage("illegal rollout step transition HEALTHY -> SENT");
    }

    private static void assertAllowed(RolloutState from, RolloutState... to) {
        Set<RolloutState> allowed = to.length == 0 ? EnumSet.noneOf(RolloutState.class) : EnumSet.of(to[0], to);
        for (RolloutState next : RolloutState.values()) {
            assertThat(from.canGo(next)).as("%s -> %s", from, next).isEqualTo(allowed.contains(next));
            if (allowed.contains(next)) {
                assertThat(from.to(next)).isEqualTo(next);
            } else {
                assertThatThrownBy(() -> from.to(next)).isInstanceOf(IllegalTransitionException.class);
            }
        }
    }

    private static void assertStepAllowed(RolloutStepState from, RolloutStepState... to) {
        Set<RolloutStepState> allowed = to.length == 0 ? EnumSet.noneOf(RolloutStepState.class)
                : EnumSet.of(to[0], to);
        for (RolloutStepState next : RolloutStepState.values()) {
            assertThat(from.canGo(next)).as("%s -> %s", from, next).isEqualTo(allowed.contains(next));
        }
    }
}
