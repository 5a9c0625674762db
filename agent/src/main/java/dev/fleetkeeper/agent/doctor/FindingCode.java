package dev.fleetkeeper.agent.doctor;

/**
 * The stable code of each kind of finding. Codes are part of the product's interface (CLI
 * output, JSON, alerts, the README's table): never rename one; add new ones at the end.
 */
public enum FindingCode {
    /** An expected port is held by a process that is not the instance (older instance, orphan, foreign). */
    PORT_HELD,
    /** The pidfile names a dead PID, or a live PID that is another process. */
    STALE_PIDFILE,
    /** A defunct process in the service's tree, with the parent that does not reap it. */
    ZOMBIE,
    /** An instance still starting (or up without its ports) after the start timeout. */
    STUCK_STARTING,
    /** An instance restarted too often within the crash-loop window. */
    CRASH_LOOP,
    /** A declared path the service user cannot write. */
    PATH_NOT_WRITABLE,
    /** The manager's configuration for the service differs from the declared spec. */
    MANAGER_CONFIG_DRIFT,
    /** The manager could not be asked at all (socket gone, pm2 missing). */
    MANAGER_UNREACHABLE,
    /** The manager says running, but /proc has no such process. */
    PROCESS_GONE,
    /** The manager says running, but its pid is a zombie. */
    PROCESS_DEFUNCT,
    /** The manager says stopped, but a process of the service still runs. */
    UNEXPECTED_PROCESS,
    /** The pidfile names a different live process than the manager does. */
    PIDFILE_MISMATCH,
    /** The service's user does not exist on this host. */
    USER_UNKNOWN,
    /** The service's declaration is invalid (unknown driver, bad value): it is not managed. */
    SPEC_INVALID,
    /** This version settles at more memory after a start than the previous version, beyond the tolerance. */
    MEMORY_BASELINE_REGRESSED
}
