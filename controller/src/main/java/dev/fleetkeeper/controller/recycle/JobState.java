package dev.fleetkeeper.controller.recycle;

import dev.fleetkeeper.controller.coordination.IllegalTransitionException;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Where a fleet-wide recycle job is. Transitions are checked against a table; an illegal one
 * throws {@link IllegalTransitionException}. Immutable.
 *
 * <pre>
 *   PENDING --> RUNNING --> SUCCEEDED | FAILED
 *      |           |
 *      +-----------+------> ABORTED
 * </pre>
 */
public enum JobState {
    /** Accepted and stored; not yet started. */
    PENDING,
    /** Recycling instances. */
    RUNNING,
    /** Every step is DONE. */
    SUCCEEDED,
    /** Every step ended and at least one FAILED. */
    FAILED,
    /** Stopped by an operator. */
    ABORTED;

    private static final Map<JobState, Set<JobState>> ALLOWED = Map.of(
            PENDING, EnumSet.of(RUNNING, ABORTED),
            RUNNING, EnumSet.of(SUCCEEDED, FAILED, ABORTED),
            SUCCEEDED, EnumSet.noneOf(JobState.class),
            FAILED, EnumSet.noneOf(JobState.class),
            ABORTED, EnumSet.noneOf(JobState.class));

    /** Whether the job has ended (no transition leaves this state). */
    public boolean isTerminal() {
        return ALLOWED.get(this).isEmpty();
    }

    /** {@code next}, if the table allows it from here; else throws. */
    public JobState to(JobState next) {
        if (!ALLOWED.get(this).contains(next)) {
            throw new IllegalTransitionException("recycle job", name(), next.name());
        }
        return next;
    }
}
