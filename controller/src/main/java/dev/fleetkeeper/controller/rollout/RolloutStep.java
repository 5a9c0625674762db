package dev.fleetkeeper.controller.rollout;

import java.util.List;
import java.util.Objects;

/**
 * One instance of a rollout. Immutable; changes make a new step (state changes are checked
 * against {@link RolloutStepState}'s table).
 *
 * @param hostId             the host's id
 * @param hostname           the host's name when the rollout started
 * @param instance           the instance index
 * @param canary             whether it is one of the canaries
 * @param batch              batch number after the canary (1, 2, ...); 0 for canaries
 * @param state              where it is
 * @param previous           what it ran before (its declared spec, or a release in full): what a
 *                           rollback restores
 * @param actionId           the ApplyRelease action id ("" until sent, and when the instance already
 *                           ran the release); a resend reuses it
 * @param rollbackActionId   the rollback's action id ("" unless rolled back)
 * @param oldPid             the instance's pid before (0: none)
 * @param newPid             its pid on the new release, as first seen verifying (0: not yet); a
 *                           different pid later means it restarted
 * @param sentAtMillis       when it began (sent, or began verifying), or when the rollout last resumed
 *                           with it in flight; the healthy deadline counts from here
 * @param finishedAtMillis   when it ended (0: not yet)
 * @param healthySinceMillis since when every gate has passed (0: not now)
 * @param gates              the latest gate results
 * @param message            why it failed, or what it waits for
 * @param applied            the agent answered that it applied the release (or had already). An
 *                           agent that fails or refuses one leaves the instance on its previous
 *                           release, so only applied instances (and those whose answer is still
 *                           awaited) are rolled back
 * @param previousCurrent    where its agent said {@code current} pointed before this step switched it
 *                           ("" when it did not switch it, or the agent does not say)
 */
public record RolloutStep(String hostId, String hostname, int instance, boolean canary, int batch,
                          RolloutStepState state, PreviousRelease previous, String actionId, String rollbackActionId,
                          int oldPid, int newPid, long sentAtMillis, long finishedAtMillis, long healthySinceMillis,
                          List<GateResult> gates, String message, boolean applied, String previousCurrent) {

    /** A step whose agent has not said where {@code current} pointed before. */
    public RolloutStep(String hostId, String hostname, int instance, boolean canary, int batch,
                       RolloutStepState state, PreviousRelease previous, String actionId, String rollbackActionId,
                       int oldPid, int newPid, long sentAtMillis, long finishedAtMillis, long healthySinceMillis,
                       List<GateResult> gates, String message, boolean applied) {
        this(hostId, hostname, instance, canary, batch, state, previous, actionId, rollbackActionId, oldPid, newPid,
                sentAtMillis, finishedAtMillis, healthySinceMillis, gates, message, applied, "");
    }

    public RolloutStep {
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(hostname, "hostname");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(previous, "previous");
        Objects.requireNonNull(actionId, "actionId");
        Objects.requireNonNull(rollbackActionId, "rollbackActionId");
        gates = List.copyOf(gates);
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(previousCurrent, "previousCurrent");
        if (instance < 0) {
            throw new IllegalArgumentException("instance: " + instance + " (expected: >= 0)");
        }
    }

    /** A step not yet started. */
    static RolloutStep pending(String hostId, String hostname, int instance, boolean canary, int batch,
                               PreviousRelease previous) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, RolloutStepState.PENDING, previous, "", "",
                0, 0, 0, 0, 0, List.of(), "", false);
    }

    /** This step, recording where {@code current} pointed before it switched it. */
    RolloutStep withPreviousCurrent(String target) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state, previous, actionId, rollbackActionId,
                oldPid, newPid, sentAtMillis, finishedAtMillis, healthySinceMillis, gates, message, applied, target);
    }

    /** "web-1 worker#2", for messages. */
    public String describe(String service) {
        return hostname + " " + service + "#" + instance;
    }

    /**
     * Whether this rollout may have changed the instance: the agent applied the release, or its
     * answer is still awaited. Only those roll back.
     */
    public boolean changed() {
        return applied || state == RolloutStepState.SENT;
    }

    RolloutStep sent(String id, int pid, long now) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state.to(RolloutStepState.SENT), previous, id,
                rollbackActionId, pid, 0, now, 0, 0, List.of(), "waiting for the agent's answer", applied, previousCurrent);
    }

    /** Already on the release: verified without sending anything. */
    RolloutStep verifyingUnchanged(int pid, long now) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state.to(RolloutStepState.VERIFYING),
                previous, "", rollbackActionId, pid, 0, now, 0, 0, List.of(),
                "already runs the release; checking its gates", false, previousCurrent);
    }

    RolloutStep verifying(int oldPidSeen, String why) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state.to(RolloutStepState.VERIFYING),
                previous, actionId, rollbackActionId, oldPidSeen > 0 ? oldPidSeen : oldPid, 0, sentAtMillis, 0, 0,
                gates, why, true, previousCurrent);
    }

    /** The same state with the latest gate results, the pid seen and the healthy-since time. */
    RolloutStep checked(int pidSeen, long healthySince, List<GateResult> results, String why) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state, previous, actionId, rollbackActionId,
                oldPid, pidSeen, sentAtMillis, finishedAtMillis, healthySince, results, why, applied, previousCurrent);
    }

    RolloutStep healthy(long now) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state.to(RolloutStepState.HEALTHY), previous,
                actionId, rollbackActionId, oldPid, newPid, sentAtMillis, now, healthySinceMillis, gates, "", applied, previousCurrent);
    }

    RolloutStep failed(String why, long now) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state.to(RolloutStepState.FAILED), previous,
                actionId, rollbackActionId, oldPid, newPid, sentAtMillis, now, 0, gates, why, applied, previousCurrent);
    }

    RolloutStep skipped(String why, long now) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state.to(RolloutStepState.SKIPPED), previous,
                actionId, rollbackActionId, oldPid, newPid, sentAtMillis, now, 0, gates, why, applied, previousCurrent);
    }

    RolloutStep rollingBack(String id) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state.to(RolloutStepState.ROLLING_BACK),
                previous, actionId, id, oldPid, newPid, sentAtMillis, 0, 0, gates,
                "sent back to " + previous.describe() + "; waiting for the agent's answer", applied, previousCurrent);
    }

    RolloutStep rolledBack(long now) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state.to(RolloutStepState.ROLLED_BACK),
                previous, actionId, rollbackActionId, oldPid, newPid, sentAtMillis, now, 0, gates,
                "back on " + previous.describe(), applied, previousCurrent);
    }

    /** The same step with its healthy deadline counting from {@code now} (a resume). */
    RolloutStep deadlineRestarted(long now) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state, previous, actionId, rollbackActionId,
                oldPid, newPid, now, finishedAtMillis, healthySinceMillis, gates, message, applied, previousCurrent);
    }

    RolloutStep withMessage(String why) {
        return new RolloutStep(hostId, hostname, instance, canary, batch, state, previous, actionId, rollbackActionId,
                oldPid, newPid, sentAtMillis, finishedAtMillis, healthySinceMillis, gates, why, applied, previousCurrent);
    }
}
