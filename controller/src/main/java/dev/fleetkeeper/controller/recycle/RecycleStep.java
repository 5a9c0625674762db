package dev.fleetkeeper.controller.recycle;

import java.util.Objects;

/**
 * One instance of a recycle job. Immutable; changes make a new step.
 *
 * @param hostId          the host's id
 * @param hostname        the host's name when the job started
 * @param instance        the instance index
 * @param minAvailable    the host's floor: fewest instances of the service kept available
 * @param state           where the step is
 * @param actionId        the action sent to the agent ("" until sent); re-sent with the same id
 * @param oldPid          the instance's pid before the recycle (0: none)
 * @param newPid          its pid after (0: not yet known)
 * @param sentAtMillis    when first sent (0: not yet)
 * @param finishedAtMillis when it ended (0: not yet)
 * @param message         why it failed, or what it waits for
 * @param heldSinceMillis since when its host holds it back (offline, or below its floor with
 *                        nothing of this job in flight there); 0 when not held
 */
public record RecycleStep(String hostId, String hostname, int instance, int minAvailable, StepState state,
                          String actionId, int oldPid, int newPid, long sentAtMillis, long finishedAtMillis,
                          String message, long heldSinceMillis) {

    public RecycleStep {
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(hostname, "hostname");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(actionId, "actionId");
        Objects.requireNonNull(message, "message");
        if (instance < 0) {
            throw new IllegalArgumentException("instance: " + instance + " (expected: >= 0)");
        }
    }

    /** A step not yet started. */
    static RecycleStep pending(String hostId, String hostname, int instance, int minAvailable) {
        return new RecycleStep(hostId, hostname, instance, minAvailable, StepState.PENDING, "", 0, 0, 0, 0, "", 0);
    }

    /** "web-1 worker#2", for messages. */
    public String describe(String service) {
        return hostname + " " + service + "#" + instance;
    }

    RecycleStep sent(String id, int pid, long now) {
        return new RecycleStep(hostId, hostname, instance, minAvailable, state.to(StepState.SENT), id, pid, 0, now, 0,
                "", 0);
    }

    RecycleStep settling(int oldPidSeen, int newPidSeen, String why) {
        return new RecycleStep(hostId, hostname, instance, minAvailable, state.to(StepState.SETTLING), actionId,
                oldPidSeen > 0 ? oldPidSeen : oldPid, newPidSeen, sentAtMillis, 0, why, 0);
    }

    RecycleStep done(int pid, long now) {
        return new RecycleStep(hostId, hostname, instance, minAvailable, state.to(StepState.DONE), actionId, oldPid,
                pid, sentAtMillis, now, "", 0);
    }

    RecycleStep failed(String why, long now) {
        return new RecycleStep(hostId, hostname, instance, minAvailable, state.to(StepState.FAILED), actionId, oldPid,
                newPid, sentAtMillis, now, why, 0);
    }

    RecycleStep held(String why, long since) {
        return new RecycleStep(hostId, hostname, instance, minAvailable, state, actionId, oldPid, newPid, sentAtMillis,
                finishedAtMillis, why, since);
    }
}
