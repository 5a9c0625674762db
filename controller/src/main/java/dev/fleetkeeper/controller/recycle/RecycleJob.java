package dev.fleetkeeper.controller.recycle;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A fleet-wide recycle of one service: its settings, its state and one step per instance.
 * Immutable; every change makes a new job, which the coordinator stores before acting on it.
 *
 * @param jobId            "rc-" + 12 hex digits of the creation time + "-" + a random suffix
 * @param service          the service
 * @param selector         hosts carrying all of these labels
 * @param maxParallel      most instances being recycled at once across the fleet
 * @param minAvailable     the per-host floor as asked ("" for the default)
 * @param stepTimeoutMillis per-step deadline
 * @param reason           why, for events
 * @param state            where the job is
 * @param message          one line for a person
 * @param createdAtMillis  when accepted
 * @param finishedAtMillis when it ended, 0 while not ended
 * @param steps            by host name, then instance
 */
public record RecycleJob(String jobId, String service, Map<String, String> selector, int maxParallel,
                         String minAvailable, long stepTimeoutMillis, String reason, JobState state, String message,
                         long createdAtMillis, long finishedAtMillis, List<RecycleStep> steps) {

    public RecycleJob {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(service, "service");
        selector = Map.copyOf(selector);
        Objects.requireNonNull(minAvailable, "minAvailable");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(message, "message");
        steps = List.copyOf(steps);
        if (maxParallel < 1) {
            throw new IllegalArgumentException("maxParallel: " + maxParallel + " (expected: >= 1)");
        }
        if (stepTimeoutMillis < 1) {
            throw new IllegalArgumentException("stepTimeoutMillis: " + stepTimeoutMillis + " (expected: >= 1)");
        }
    }

    /** The same job in {@code next} state (checked against the table) with {@code why}. */
    RecycleJob to(JobState next, String why, long finishedAt) {
        return new RecycleJob(jobId, service, selector, maxParallel, minAvailable, stepTimeoutMillis, reason,
                state.to(next), why, createdAtMillis, finishedAt, steps);
    }

    /** The same job with other steps and message. */
    RecycleJob withSteps(List<RecycleStep> next, String why) {
        return new RecycleJob(jobId, service, selector, maxParallel, minAvailable, stepTimeoutMillis, reason, state,
                why, createdAtMillis, finishedAtMillis, next);
    }

    /** Steps in {@code s}. */
    public long count(StepState s) {
        return steps.stream().filter(x -> x.state() == s).count();
    }
}
