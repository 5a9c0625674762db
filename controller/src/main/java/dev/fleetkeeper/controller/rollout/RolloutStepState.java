package dev.fleetkeeper.controller.rollout;

import dev.fleetkeeper.controller.coordination.IllegalTransitionException;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Where one instance of a rollout is. Transitions are checked against a table; an illegal one
 * throws {@link IllegalTransitionException}. Immutable.
 *
 * <pre>
 *   PENDING --> SENT --> VERIFYING --> HEALTHY
 *      |  \       |          |            |
 *      |   +------|--------> VERIFYING    |     (already on the release: nothing is sent)
 *      v          v          v            |
 *   SKIPPED     FAILED <-----+            |
 *                 |                       |
 *   SENT | VERIFYING | HEALTHY | FAILED --> ROLLING_BACK --> ROLLED_BACK | FAILED
 * </pre>
 *
 * SENT: the ApplyRelease action is stored and sent, its answer not yet in (a controller restart
 * re-sends it with the same id). VERIFYING: the agent applied it (or answered DUPLICATE); the
 * gates are being checked. A step rolls back only if this rollout changed it (it has an action
 * id), and at most once (its rollback action id is kept).
 */
public enum RolloutStepState {
    /** Not started. */
    PENDING,
    /** ApplyRelease stored and sent; waiting for the agent's answer. */
    SENT,
    /** Started on the new release; its gates are being checked for min_healthy. */
    VERIFYING,
    /** Runs the new release and passed every gate for min_healthy. */
    HEALTHY,
    /** Failed a gate or its deadline, or the agent refused it. */
    FAILED,
    /** The previous release is stored and sent back. */
    ROLLING_BACK,
    /** Back on its previous release. */
    ROLLED_BACK,
    /** Never touched: the rollout ended first. */
    SKIPPED;

    private static final Map<RolloutStepState, Set<RolloutStepState>> ALLOWED = Map.of(
            PENDING, EnumSet.of(SENT, VERIFYING, SKIPPED),
            SENT, EnumSet.of(VERIFYING, FAILED, ROLLING_BACK),
            VERIFYING, EnumSet.of(HEALTHY, FAILED, ROLLING_BACK),
            HEALTHY, EnumSet.of(ROLLING_BACK),
            FAILED, EnumSet.of(ROLLING_BACK),
            ROLLING_BACK, EnumSet.of(ROLLED_BACK, FAILED),
            ROLLED_BACK, EnumSet.noneOf(RolloutStepState.class),
            SKIPPED, EnumSet.noneOf(RolloutStepState.class));

    /** Whether the instance is being changed or verified now: it counts against its host's floor. */
    public boolean isInFlight() {
        return this == SENT || this == VERIFYING || this == ROLLING_BACK;
    }

    /** Whether the step no longer moves forward (a rollback may still take it back). */
    public boolean isSettled() {
        return this == HEALTHY || this == FAILED || this == ROLLED_BACK || this == SKIPPED;
    }

    /** Whether {@code next} is allowed from here. */
    public boolean canGo(RolloutStepState next) {
        return ALLOWED.get(this).contains(next);
    }

    /** {@code next}, if the table allows it from here; else throws. */
    public RolloutStepState to(RolloutStepState next) {
        if (!canGo(next)) {
            throw new IllegalTransitionException("rollout step", name(), next.name());
        }
        return next;
    }
}
