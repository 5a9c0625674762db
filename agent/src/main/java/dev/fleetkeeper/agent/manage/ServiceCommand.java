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
     * Move one instance to a release, or back to its declared spec: record it durably, switch the
     * service's {@code current} symlink if asked, and replace the instance's process (start-first
     * where possible). One step of a rollout, or of its rollback.
     *
     * @param release       the release; null: back to the declared spec ({@link #toDeclared})
     * @param switchCurrent whether to point the declared deploy root's {@code current} at the release,
     *                      or, back to the declared spec, at {@code releases/<declared version>}
     * @param rolloutId     the controller's rollout, for the event ("" if none)
     * @param currentTarget with {@code switchCurrent}: where to point {@code current} instead
     *                      (as the link's target, relative to the deploy root), so that a rollback
     *                      puts it back exactly; "" for {@code releases/<version>}
     */
    record ApplyRelease(String service, int instance, dev.fleetkeeper.agent.release.Release release,
                        boolean switchCurrent, String rolloutId, String currentTarget) implements ServiceCommand {
        public ApplyRelease {
            Objects.requireNonNull(service, "service");
            Objects.requireNonNull(rolloutId, "rolloutId");
            Objects.requireNonNull(currentTarget, "currentTarget");
        }

        /** A move whose {@code current} switch, if any, goes to {@code releases/<version>}. */
        public ApplyRelease(String service, int instance, dev.fleetkeeper.agent.release.Release release,
                            boolean switchCurrent, String rolloutId) {
            this(service, instance, release, switchCurrent, rolloutId, "");
        }

        /** Back to the declared spec: the instance's release is forgotten and its process replaced. */
        public static ApplyRelease toDeclared(String service, int instance, boolean switchCurrent, String rolloutId) {
            return new ApplyRelease(service, instance, null, switchCurrent, rolloutId);
        }

        /** Whether this moves the instance back to its declared spec. */
        public boolean backToDeclared() {
            return release == null;
        }
    }

    /** The last {@code lines} lines of an instance's output. */
    record Tail(String service, int instance, int lines) implements ServiceCommand {
        public Tail {
            Objects.requireNonNull(service, "service");
        }
    }
}
