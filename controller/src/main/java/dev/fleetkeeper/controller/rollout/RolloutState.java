package dev.fleetkeeper.controller.rollout;

import dev.fleetkeeper.controller.coordination.IllegalTransitionException;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Where a rollout is. Transitions are checked against a table; an illegal one throws
 * {@link IllegalTransitionException}. Immutable.
 *
 * <pre>
 *   PENDING --> CANARY --> AWAITING_PROMOTION --> ROLLING --> SUCCEEDED
 *                 |  ^            |                |  ^
 *                 v  |            |                v  |
 *                PAUSED ----------+------------ PAUSED        (resume goes back where it paused)
 *                 |                                |
 *   CANARY | ROLLING | PAUSED --> FAILED --> ROLLING_BACK --> ROLLED_BACK
 *   CANARY | AWAITING_PROMOTION | ROLLING | PAUSED --> ROLLING_BACK   (operator rollback)
 *   every state but SUCCEEDED, ROLLED_BACK, ABORTED, FAILED --> ABORTED
 * </pre>
 *
 * FAILED has ended (nothing more is started) but still allows an operator's rollback; SUCCEEDED,
 * ROLLED_BACK and ABORTED allow nothing.
 */
public enum RolloutState {
    /** Accepted and stored; no instance touched yet. */
    PENDING,
    /** Updating the canary instances. */
    CANARY,
    /** The canary is healthy; waiting for an operator's promote. */
    AWAITING_PROMOTION,
    /** Updating the rest, batch by batch. */
    ROLLING,
    /** Every instance runs the new release and passed its gates (failures within max_failures). */
    SUCCEEDED,
    /** Paused by an operator or by a disconnected host; in-flight instances finish their gates. */
    PAUSED,
    /** Too many failed instances, or a deadline passed. */
    FAILED,
    /** Moving the changed instances back to their previous release. */
    ROLLING_BACK,
    /** Every changed instance was sent back to its previous release. */
    ROLLED_BACK,
    /** Stopped by an operator; instances keep what they run. */
    ABORTED;

    private static final Map<RolloutState, Set<RolloutState>> ALLOWED = Map.of(
            PENDING, EnumSet.of(CANARY, ABORTED),
            CANARY, EnumSet.of(AWAITING_PROMOTION, ROLLING, PAUSED, FAILED, ROLLING_BACK, ABORTED),
            AWAITING_PROMOTION, EnumSet.of(ROLLING, ROLLING_BACK, ABORTED),
            ROLLING, EnumSet.of(SUCCEEDED, PAUSED, FAILED, ROLLING_BACK, ABORTED),
            PAUSED, EnumSet.of(CANARY, ROLLING, FAILED, ROLLING_BACK, ABORTED),
            FAILED, EnumSet.of(ROLLING_BACK),
            ROLLING_BACK, EnumSet.of(ROLLED_BACK, ABORTED),
            SUCCEEDED, EnumSet.noneOf(RolloutState.class),
            ROLLED_BACK, EnumSet.noneOf(RolloutState.class),
            ABORTED, EnumSet.noneOf(RolloutState.class));

    /** Whether no transition at all leaves this state. */
    public boolean isTerminal() {
        return ALLOWED.get(this).isEmpty();
    }

    /** Whether the rollout still changes instances by itself (not ended, FAILED counts as ended). */
    public boolean isActive() {
        return !isTerminal() && this != FAILED;
    }

    /** Whether {@code next} is allowed from here. */
    public boolean canGo(RolloutState next) {
        return ALLOWED.get(this).contains(next);
    }

    /** {@code next}, if the table allows it from here; else throws. */
    public RolloutState to(RolloutState next) {
        if (!canGo(next)) {
            throw new IllegalTransitionException("rollout", name(), next.name());
        }
        return next;
    }
}
