package dev.fleetkeeper.agent.service.builtin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetkeeper.agent.service.ManagerState;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class BuiltinTransitionsTest {

    @Test
    void aStoppingInstance_canOnlyBecomeStopped_orRunningAgainWhenTheStopFailed() {
        assertThat(Transitions.check(ManagerState.STOPPING, ManagerState.STOPPED)).isEqualTo(ManagerState.STOPPED);
        assertThat(Transitions.check(ManagerState.STOPPING, ManagerState.RUNNING)).isEqualTo(ManagerState.RUNNING);
        assertThatThrownBy(() -> Transitions.check(ManagerState.STOPPING, ManagerState.STARTING))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("STOPPING -> STARTING");
    }

    @Test
    void aFatalInstance_leavesFatalOnlyByAnExplicitStartOrStop_neverStraightToRunning() {
        assertThat(Transitions.check(ManagerState.FATAL, ManagerState.STARTING)).isEqualTo(ManagerState.STARTING);
        assertThat(Transitions.check(ManagerState.FATAL, ManagerState.STOPPED)).isEqualTo(ManagerState.STOPPED);
        assertThatThrownBy(() -> Transitions.check(ManagerState.FATAL, ManagerState.RUNNING))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> Transitions.check(ManagerState.STOPPED, ManagerState.UNKNOWN))
                .isInstanceOf(IllegalStateException.class);
    }
}
