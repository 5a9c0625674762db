package dev.fleetkeeper.controller.recycle;

import dev.fleetkeeper.controller.coordination.IllegalTransitionException;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Where one instance's recycle is. Transitions are checked against a table; an illegal one
 * throws {@link IllegalTransitionException}. Immutable.
 *
 * <pre>
 *   PENDING --> SENT --> SETTLING --> DONE
 *      |          |          |
 *      +----------+----------+-----> FAILED
 * </pre>
 *
 * SENT: the action is stored and sent, its answer not yet in (a controller restart re-sends it
 * with the same id). SETTLING: the agent recycled the instance, or answered DUPLICATE because it
 * had already; the step waits until a report shows the instance available with a new pid.
 */
public enum StepState {
    /** Not started. */
    PENDING,
    /** Action stored and sent; waiting for the agent's answer. */
    SENT,
    /** Recycled; waiting until the instance is available again. */
    SETTLING,
    /** Recycled and available again. */
    DONE,
    /** Not recycled, or not available again in time. */
    FAILED;

    private static final Map<StepState, Set<StepState>> ALLOWED = Map.of(
            PENDING, EnumSet.of(SENT, FAILED),
            SENT, EnumSet.of(SETTLING, FAILED),
            SETTLING, EnumSet.of(DONE, FAILED),
            DONE, EnumSet.noneOf(StepState.class),
            FAILED, EnumSet.noneOf(StepState.class));

    /** Whether the step has ended. */
    public boolean isTerminal() {
        return ALLOWED.get(this).isEmpty();
    }

    /** Whether the instance is being recycled now: it counts against max-parallel and its host's floor. */
    public boolean isInFlight() {
        return this == SENT || this == SETTLING;
    }

    /** {@code next}, if the table allows it from here; else throws. */
    public StepState to(StepState next) {
        if (!ALLOWED.get(this).contains(next)) {
            throw new IllegalTransitionException("recycle step", name(), next.name());
        }
        return next;
    }
}
