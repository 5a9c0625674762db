package dev.fleetkeeper.agent.telemetry;

import java.util.List;

/**
 * One process as read from {@code /proc} in one scan. Immutable.
 *
 * <p>{@code cmdline} and {@code exe} belong to the identity and are read once per identity;
 * {@code memory} is null when {@code smaps_rollup} was not readable or not yet read.
 */
public record ProcessSample(
        ProcessId id,
        int ppid,
        int pgid,
        int sid,
        int uid,
        int euid,
        String user,
        ProcState state,
        long startTimeMillis,
        String comm,
        List<String> cmdline,
        String exe,
        int threads,
        long rssBytes,
        long vsizeBytes,
        MemoryDetail memory,
        long cpuUserMillis,
        long cpuSystemMillis,
        float cpuPercent,
        String cgroup) {

    public ProcessSample {
        cmdline = List.copyOf(cmdline);
    }

    public int pid() {
        return id.pid();
    }

    public boolean isZombie() {
        return state == ProcState.ZOMBIE;
    }

    /**
     * Whether anything the controller shows changed between {@code this} (older) and
     * {@code newer} for the same identity. Drives what goes into a delta.
     */
    public boolean differsFrom(ProcessSample newer) {
        return ppid != newer.ppid || pgid != newer.pgid || sid != newer.sid
                || uid != newer.uid || euid != newer.euid || state != newer.state
                || threads != newer.threads || rssBytes != newer.rssBytes
                || vsizeBytes != newer.vsizeBytes
                || cpuUserMillis != newer.cpuUserMillis || cpuSystemMillis != newer.cpuSystemMillis
                || Float.compare(cpuPercent, newer.cpuPercent) != 0
                || !comm.equals(newer.comm) || !cgroup.equals(newer.cgroup)
                || !java.util.Objects.equals(memory, newer.memory);
    }
}
