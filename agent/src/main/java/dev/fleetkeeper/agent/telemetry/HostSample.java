package dev.fleetkeeper.agent.telemetry;

/**
 * Host-wide figures from one scan. {@code memoryPressure} is null where the kernel has no PSI.
 * Immutable.
 */
public record HostSample(
        long sampledAtMillis,
        long memTotalBytes,
        long memAvailableBytes,
        long swapTotalBytes,
        long swapFreeBytes,
        double load1,
        double load5,
        double load15,
        MemoryPressure memoryPressure,
        long oomKills,
        long uptimeMillis,
        int processCount,
        int cpuCount,
        ScanStats scan) {
}
