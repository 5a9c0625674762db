package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.controller.rollout.Release;
import java.util.Objects;

/**
 * Something the controller asks one host's agent to do about its managed services. The
 * transport turns it into the wire {@code Action}; the engine names it in messages. Immutable.
 */
public sealed interface AgentAction {

    /** What it does, as an operator would type it ("doctor api --fix"), for messages and events. */
    String describe();

    /** The verb alone ("run doctor"), for "the agent must be connected to ...". */
    String verb();

    /**
     * Diagnose services and, with {@code fix}, apply the safe remedies.
     *
     * @param service one service, or "" for every service
     */
    record RunDoctor(String service, boolean fix) implements AgentAction {
        public RunDoctor {
            Objects.requireNonNull(service, "service");
        }

        @Override
        public String describe() {
            return "doctor" + (service.isEmpty() ? "" : " " + service) + (fix ? " --fix" : "");
        }

        @Override
        public String verb() {
            return fix ? "run doctor --fix" : "run doctor";
        }
    }

    /**
     * Restart a service's instances through its manager, pre-flight first.
     *
     * @param instance one instance index, or -1 for every instance, one after another
     */
    record RestartService(String service, int instance) implements AgentAction {
        public RestartService {
            requireService(service);
            if (instance < -1) {
                throw new IllegalArgumentException("instance: " + instance + " (expected: >= 0, or -1 for all)");
            }
        }

        @Override
        public String describe() {
            return "restart " + service + (instance < 0 ? " (all instances)" : "#" + instance);
        }

        @Override
        public String verb() {
            return "restart a service";
        }
    }

    /**
     * Recycle one instance (graceful restart, reported as RECYCLED) as a step of a recycle job.
     *
     * @param reason why, for the agent's event
     * @param jobId  the job, for the agent's event
     */
    record RecycleInstance(String service, int instance, String reason, String jobId) implements AgentAction {
        public RecycleInstance {
            requireService(service);
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(jobId, "jobId");
            if (instance < 0) {
                throw new IllegalArgumentException("instance: " + instance + " (expected: >= 0)");
            }
        }

        @Override
        public String describe() {
            return "recycle " + service + "#" + instance + " (job " + jobId + ")";
        }

        @Override
        public String verb() {
            return "recycle an instance";
        }
    }

    /**
     * Move one instance to a release, or back to its declared spec, as a step of a rollout or of
     * its rollback. The agent applies an action id at most once.
     *
     * @param release    the release (a rollback sends the previous one); with {@code toDeclared}, the
     *                   declared version label and whether to switch {@code current} back to it
     * @param toDeclared back to the instance's declared spec: the agent forgets its release
     * @param rolloutId  the rollout, for the agent's event
     * @param currentTarget with the release's switch of {@code current}: exactly where to point it
     *                   (a rollback restoring where it pointed before the rollout); "" for
     *                   {@code releases/<version>}
     */
    record ApplyRelease(String service, int instance, Release release, boolean toDeclared, String rolloutId,
                        String currentTarget) implements AgentAction {
        public ApplyRelease {
            requireService(service);
            Objects.requireNonNull(release, "release");
            Objects.requireNonNull(rolloutId, "rolloutId");
            Objects.requireNonNull(currentTarget, "currentTarget");
            if (instance < 0) {
                throw new IllegalArgumentException("instance: " + instance + " (expected: >= 0)");
            }
        }

        /** A move whose {@code current} switch, if any, goes to {@code releases/<version>}. */
        public ApplyRelease(String service, int instance, Release release, boolean toDeclared, String rolloutId) {
            this(service, instance, release, toDeclared, rolloutId, "");
        }

        @Override
        public String describe() {
            return (toDeclared ? "move " + service + "#" + instance + " back to its declared spec"
                    : "apply release " + release.version() + " to " + service + "#" + instance) + " (rollout "
                    + rolloutId + ")";
        }

        @Override
        public String verb() {
            return "apply a release";
        }
    }

    /** Read the last {@code lines} lines of an instance's output. */
    record TailLogs(String service, int instance, int lines) implements AgentAction {
        /** Most lines an agent returns at once. */
        public static final int MAX_LINES = 10_000;

        public TailLogs {
            requireService(service);
            if (instance < 0) {
                throw new IllegalArgumentException("instance: " + instance + " (expected: >= 0)");
            }
            if (lines < 1 || lines > MAX_LINES) {
                throw new IllegalArgumentException("lines: " + lines + " (expected: 1 to " + MAX_LINES + ")");
            }
        }

        @Override
        public String describe() {
            return "logs " + service + "#" + instance + " -n " + lines;
        }

        @Override
        public String verb() {
            return "read logs";
        }
    }

    private static void requireService(String service) {
        Objects.requireNonNull(service, "service");
        if (service.isEmpty()) {
            throw new IllegalArgumentException("service: missing (expected: a service name; see 'fleetkeeper services')");
        }
    }
}
