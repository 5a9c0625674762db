package dev.fleetkeeper.agent.service;

/**
 * An instance's state as its process manager reports it, mapped onto one vocabulary for every
 * driver (supervisord's names, which the others map onto).
 */
public enum ManagerState {
    /** Being started; not yet considered up (supervisord STARTING, PM2 launching). */
    STARTING,
    /** Up, with a pid. */
    RUNNING,
    /** Exited too quickly and waiting to be started again. */
    BACKOFF,
    /** Being stopped. */
    STOPPING,
    /** Stopped on purpose (or never started). */
    STOPPED,
    /** Exited on its own; the manager may or may not start it again. */
    EXITED,
    /** Given up on: could not be started (supervisord FATAL, PM2 errored). */
    FATAL,
    /** The manager does not know this instance (not configured there), or its answer made no sense. */
    UNKNOWN;

    /** True where the manager claims a live process: RUNNING, STARTING, STOPPING. */
    public boolean claimsProcess() {
        return this == RUNNING || this == STARTING || this == STOPPING;
    }
}
