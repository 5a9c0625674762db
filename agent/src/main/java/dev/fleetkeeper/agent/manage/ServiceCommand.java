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

    /** The last {@code lines} lines of an instance's output. */
    record Tail(String service, int instance, int lines) implements ServiceCommand {
        public Tail {
            Objects.requireNonNull(service, "service");
        }
    }
}
