package dev.fleetkeeper.agent.service;

import java.util.Map;
import java.util.Objects;

/**
 * Something that happened to a service instance, reported by a driver or by pre-flight, and
 * forwarded to the controller as an event. Immutable.
 *
 * @param timeMillis when, epoch ms
 * @param service    the service name
 * @param instance   the instance index, -1 for the whole service
 * @param kind       what happened
 * @param message    one line for a person
 * @param attributes evidence: pid, exit_code, signal, port, path, before/after...
 */
public record ServiceEvent(long timeMillis, String service, int instance, Kind kind, String message,
                           Map<String, String> attributes) {

    public ServiceEvent {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(message, "message");
        attributes = Map.copyOf(attributes);
    }

    /** What happened. */
    public enum Kind {
        /** An instance was started (attributes: pid). */
        STARTED,
        /** A running instance was found after an agent restart and taken over (pid). */
        ADOPTED,
        /** An instance exited on its own (pid, exit_code or signal, uptime_ms). */
        EXITED,
        /** An instance was stopped on request (pid, how: signal or kill). */
        STOPPED,
        /** A start failed (error). */
        START_FAILED,
        /** Pre-flight refused a start (findings). */
        START_REFUSED,
        /** An automatic restart is scheduled (delay_ms). */
        RESTART_SCHEDULED,
        /** Pre-flight or `doctor --fix` applied a remedy (code, before, after). */
        REMEDY_APPLIED,
        /** Restarts reached the crash-loop threshold (restarts, window). */
        CRASH_LOOP,
        /** The doctor found something new on the service (code, severity, summary). */
        FINDING,
        /**
         * An instance was recycled and is up again: by its memory policy (trigger, rss_before,
         * limit, forecast_ms, pid_before, pid, down_ms) or on request from a fleet-wide recycle
         * (old_pid, new_pid, reason, job_id).
         */
        RECYCLED,
        /** A recycle did not bring the instance back up (trigger, error). */
        RECYCLE_FAILED,
        /**
         * An instance was moved to a release and is up on it (rollout_id, old_version,
         * new_version, old_pid, new_pid, mode, switched_current).
         */
        RELEASE_APPLIED,
        /**
         * Moving an instance to a release failed; the instance is back on the release it ran
         * (rollout_id, old_version, new_version, old_pid, pid, mode, error).
         */
        RELEASE_FAILED
    }

    /** Where events go; called from any thread, must not block. */
    @FunctionalInterface
    public interface Sink {
        Sink NONE = e -> { };

        void accept(ServiceEvent event);
    }
}
