package dev.fleetkeeper.controller.rollout;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A rollout of one release of a service: its plan, its state and one step per instance.
 * Immutable; every change makes a new rollout, which the coordinator stores before acting on it.
 *
 * @param rolloutId          "ro-" + 12 hex digits of the creation time + "-" + a random suffix
 * @param service            the service
 * @param selector           hosts carrying all of these labels
 * @param release            the release being rolled out
 * @param plan               how, defaults filled in
 * @param reason             why, for events
 * @param state              where it is
 * @param pausedFrom         CANARY or ROLLING while PAUSED; null otherwise
 * @param message            one line for a person
 * @param createdAtMillis    when accepted
 * @param finishedAtMillis   when it ended (0 while active)
 * @param progressedAtMillis when an instance last became healthy, or the rollout started or
 *                           resumed: the progress deadline counts from here
 * @param failures           failed instances so far
 * @param steps              canaries first, then by batch, host name and index
 */
public record Rollout(String rolloutId, String service, Map<String, String> selector, Release release,
                      RolloutPlan plan, String reason, RolloutState state, RolloutState pausedFrom, String message,
                      long createdAtMillis, long finishedAtMillis, long progressedAtMillis, int failures,
                      List<RolloutStep> steps) {

    public Rollout {
        Objects.requireNonNull(rolloutId, "rolloutId");
        Objects.requireNonNull(service, "service");
        selector = Map.copyOf(selector);
        Objects.requireNonNull(release, "release");
        Objects.requireNonNull(plan, "plan");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(message, "message");
        steps = List.copyOf(steps);
        if ((state == RolloutState.PAUSED) != (pausedFrom != null)) {
            throw new IllegalArgumentException("pausedFrom: " + pausedFrom + " in state " + state
                    + " (expected: CANARY or ROLLING exactly while PAUSED)");
        }
    }

    /** The same rollout in {@code next} state (checked against the table) with {@code why}. */
    Rollout to(RolloutState next, String why, long now) {
        RolloutState checked = state.to(next);
        return new Rollout(rolloutId, service, selector, release, plan, reason, checked,
                checked == RolloutState.PAUSED ? state : null, why, createdAtMillis,
                checked.isActive() || checked == RolloutState.ROLLING_BACK ? 0 : now, progressedAtMillis, failures,
                steps);
    }

    /** The same rollout with other steps, failure count and message. */
    Rollout withSteps(List<RolloutStep> next, int failuresNow, String why) {
        return new Rollout(rolloutId, service, selector, release, plan, reason, state, pausedFrom, why,
                createdAtMillis, finishedAtMillis, progressedAtMillis, failuresNow, next);
    }

    /** The same rollout, progressed at {@code now}. */
    Rollout progressed(long now) {
        return new Rollout(rolloutId, service, selector, release, plan, reason, state, pausedFrom, message,
                createdAtMillis, finishedAtMillis, now, failures, steps);
    }

    /** Steps in {@code s}. */
    public long count(RolloutStepState s) {
        return steps.stream().filter(x -> x.state() == s).count();
    }
}
