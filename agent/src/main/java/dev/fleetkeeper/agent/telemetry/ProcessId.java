package dev.fleetkeeper.agent.telemetry;

/**
 * Identity of a process within one boot: its PID and its start time in clock ticks after boot.
 * PIDs are reused; the pair is not. Immutable and thread-safe.
 */
public record ProcessId(int pid, long startTicks) implements Comparable<ProcessId> {

    public ProcessId {
        if (pid <= 0) {
            throw new IllegalArgumentException("pid: " + pid + " (expected: > 0)");
        }
        if (startTicks < 0) {
            throw new IllegalArgumentException("startTicks: " + startTicks + " (expected: >= 0)");
        }
    }

    @Override
    public int compareTo(ProcessId other) {
        int byPid = Integer.compare(pid, other.pid);
        return byPid != 0 ? byPid : Long.compare(startTicks, other.startTicks);
    }

    @Override
    public String toString() {
        return pid + "@" + startTicks;
    }
}
