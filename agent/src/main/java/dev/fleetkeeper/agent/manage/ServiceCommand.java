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

    /** The last {@code lines} lines of an instance's output. */
    record Tail(String service, int instance, int lines) implements ServiceCommand {
        public Tail {
            Objects.requireNonNull(service, "service");
        }
    }
}
