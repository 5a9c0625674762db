package dev.fleetkeeper.agent.manage;

import java.util.Objects;

/** Something an operator asks of the host's services (through the controller). */
public sealed interface ServiceCommand {

    /** Diagnose one service ("" for all); with {@code fix}, apply the safe remedies. */
    record Doctor(String service, boolean fix) implements ServiceCommand {
        public Doctor {
            Objects.requireNonNull(service, "service");
        }
    }

    /** Restart one instance, or every instance ({@code instance} -1) one after another. */
    record Restart(String service, int instance) implements ServiceCommand {
        public Restart {
            Objects.requireNonNull(service, "service");
        }
    }

    /**
     * Recycle one instance: the same graceful restart as {@link Restart}, reported as a
     * {@link dev.fleetkeeper.agent.service.ServiceEvent.Kind#RECYCLED} event with the old and
     * new pid, for a fleet-wide recycle job of the controller.
     *
     * @param reason why, for the event
     * @param jobId  the controller's job, for the event
     */
    record Recycle(String service, int instance, String reason, String jobId) implements ServiceCommand {
        public Recycle {
            Objects.requireNonNull(service, "service");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(jobId, "jobId");
        }
    }

    /**
     * Move one instance to a release: record it durably, switch the service's {@code current}
     * symlink if asked, and replace the instance's process (start-first where possible). One step
     * of a rollout, or of its rollback.
     *
     * @param release       the release
     * @param switchCurrent whether to point the declared deploy root's {@code current} at the release
     * @param rolloutId     the controller's rollout, for the event ("" if none)
     */
    record ApplyRelease(String service, int instance, dev.fleetkeeper.agent.release.Release release,
                        boolean switchCurrent, String rolloutId) implements ServiceCommand {
        public ApplyRelease {
            Objects.requireNonNull(service, "service");
            Objects.requireNonNull(release, "release");
            Objects.requireNonNull(rolloutId, "rolloutId");
        }
    }

    /** The last {@code lines} lines of an instance's output. */
    record Tail(String service, int instance, int lines) implements ServiceCommand {
        public Tail {
            Objects.requireNonNull(service, "service");
        }
    }
}
