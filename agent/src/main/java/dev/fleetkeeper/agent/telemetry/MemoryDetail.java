package dev.fleetkeeper.agent.telemetry;

/**
 * Memory figures from {@code /proc/PID/smaps_rollup}, in bytes, with the time they were read.
 * Immutable.
 */
public record MemoryDetail(long pssBytes, long privateBytes, long anonymousBytes, long swapBytes,
                           long sampledAtMillis) {
}
