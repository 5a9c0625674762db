package dev.fleetkeeper.agent.doctor;

import dev.fleetkeeper.agent.telemetry.ProcessId;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * A repair the agent may carry out by itself because it is provably safe: each names exactly
 * what it touches, and {@link Remedies} verifies that again right before acting (the file still
 * says the same, the process is still the same identity and still carries the service's
 * marker). Nothing else is ever changed or signalled.
 */
public sealed interface RemedyAction {

    /**
     * Delete a declared pidfile that names a dead or foreign process. Applied only if the file
     * still contains exactly {@code content}.
     */
    record RemovePidfile(Path pidfile, String content) implements RemedyAction {
        public RemovePidfile {
            Objects.requireNonNull(pidfile, "pidfile");
            Objects.requireNonNull(content, "content");
        }
    }

    /**
     * Stop a process proven to belong to {@code service} (its environment carries the service's
     * marker) that is not a current instance: {@code signal}, then SIGKILL after {@code timeout}.
     * Applied only if the pid still has the same start time and the same marker.
     */
    record StopProcess(ProcessId process, String service, String signal, Duration timeout, String why)
            implements RemedyAction {
        public StopProcess {
            Objects.requireNonNull(process, "process");
            Objects.requireNonNull(service, "service");
            Objects.requireNonNull(signal, "signal");
            Objects.requireNonNull(timeout, "timeout");
            Objects.requireNonNull(why, "why");
        }
    }

    /**
     * Give a declared path back to its owner ({@code uid}:{@code gid}) and, when {@code mode}
     * is not -1, its mode. The path itself only, never its contents or parents.
     */
    record RestorePath(Path path, String owner, int uid, int gid, int mode) implements RemedyAction {
        public RestorePath {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(owner, "owner");
        }
    }
}
