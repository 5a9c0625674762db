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

    // Written out rather than left to the record's generated methods: this is the key of every
    // per-scan map, and the agent runs C1 only, which does not inline those method handles.
    @Override
    public boolean equals(Object o) {
        return o instanceof ProcessId other && pid == other.pid && startTicks == other.startTicks;
    }

    @Override
    public int hashCode() {
        return 31 * pid + Long.hashCode(startTicks);
    }

    @Override
    public String toString() {
        return pid + "@" + startTicks;
    }
}
