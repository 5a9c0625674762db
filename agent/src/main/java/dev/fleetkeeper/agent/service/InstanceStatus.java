package dev.fleetkeeper.agent.service;

import java.util.Objects;

/**
 * One instance of a service as its process manager reports it. Immutable.
 *
 * @param instance         index in the pool, 0 to {@code instances - 1}
 * @param managerName      the manager's own name for it, for messages and commands
 *                         ({@code web:web_00} in supervisord, {@code web} with pm_id 3 in PM2)
 * @param state            the manager's state, mapped
 * @param pid              the pid the manager names, 0 if none
 * @param startedAtMillis  when the manager says it started it (epoch ms), 0 if unknown
 * @param exitCode         the last exit status, -1 if unknown or killed by a signal
 * @param exitSignal       the signal that ended the last run ("KILL"), "" if none or unknown
 * @param restarts         restarts the manager counted, -1 if it does not count them
 * @param detail           the manager's own words (supervisord's description or spawnerr), may be ""
 */
public record InstanceStatus(
        int instance,
        String managerName,
        ManagerState state,
        int pid,
        long startedAtMillis,
        int exitCode,
        String exitSignal,
        int restarts,
        String detail) {

    public InstanceStatus {
        Objects.requireNonNull(managerName, "managerName");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(exitSignal, "exitSignal");
        Objects.requireNonNull(detail, "detail");
        if (instance < 0) {
            throw new IllegalArgumentException("instance: " + instance + " (expected: >= 0)");
        }
    }

    /** An instance the manager does not know. */
    public static InstanceStatus unknown(int instance, String managerName, String detail) {
        return new InstanceStatus(instance, managerName, ManagerState.UNKNOWN, 0, 0, -1, "", -1, detail);
    }
}
