package dev.fleetkeeper.agent.manage;

import dev.fleetkeeper.agent.doctor.Finding;
import dev.fleetkeeper.agent.doctor.Remedies;
import java.util.List;
import java.util.Objects;

/**
 * How a {@link ServiceCommand} went.
 *
 * @param status  SUCCEEDED, FAILED (tried, did not work) or REJECTED (not attempted: unknown service...)
 * @param message what happened, for a person
 * @param doctor  the doctor's report, for a Doctor command
 * @param lines   output lines, for a Tail command
 * @param recycled the old and new pid, for a Recycle command
 * @param released what an ApplyRelease command did (also when it failed after it began); null otherwise
 */
public record CommandResult(Status status, String message, DoctorResult doctor, List<String> lines,
                            Recycled recycled, Released released) {

    public CommandResult {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(message, "message");
        lines = lines == null ? null : List.copyOf(lines);
    }

    /** A result without a recycle or release outcome. */
    public CommandResult(Status status, String message, DoctorResult doctor, List<String> lines) {
        this(status, message, doctor, lines, null, null);
    }

    /** A result without a release outcome. */
    public CommandResult(Status status, String message, DoctorResult doctor, List<String> lines, Recycled recycled) {
        this(status, message, doctor, lines, recycled, null);
    }

    /** An instance's pids around a recycle; 0 for none. */
    public record Recycled(int oldPid, int newPid) {
    }

    /**
     * An instance around an ApplyRelease: its pids (0 for none) and versions ("" when unset),
     * whether the new process was up before the old one was stopped, and where {@code current}
     * pointed before the action switched it ("" when it did not, or there was no link).
     */
    public record Released(int oldPid, int newPid, String oldVersion, String newVersion, boolean startFirst,
                           String previousCurrent) {
        public Released {
            Objects.requireNonNull(oldVersion, "oldVersion");
            Objects.requireNonNull(newVersion, "newVersion");
            Objects.requireNonNull(previousCurrent, "previousCurrent");
        }

        /** Around an action that did not switch {@code current}. */
        public Released(int oldPid, int newPid, String oldVersion, String newVersion, boolean startFirst) {
            this(oldPid, newPid, oldVersion, newVersion, startFirst, "");
        }
    }

    public enum Status { SUCCEEDED, FAILED, REJECTED }

    public static CommandResult rejected(String message) {
        return new CommandResult(Status.REJECTED, message, null, null);
    }

    public static CommandResult failed(String message) {
        return new CommandResult(Status.FAILED, message, null, null);
    }

    /**
     * What a doctor run found, applied and left.
     *
     * @param services  the services examined
     * @param findings  findings before any remedy
     * @param applied   remedies applied (only with fix)
     * @param remaining findings after the remedies (only with fix; otherwise equal to findings)
     */
    public record DoctorResult(List<String> services, List<Finding> findings, List<Remedies.Outcome> applied,
                               List<Finding> remaining) {
        public DoctorResult {
            services = List.copyOf(services);
            findings = List.copyOf(findings);
            applied = List.copyOf(applied);
            remaining = List.copyOf(remaining);
        }
    }
}
