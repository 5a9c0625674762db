package dev.fleetkeeper.agent.telemetry;

/**
 * What one scan skipped and cost: processes that vanished mid-read, malformed input skipped,
 * wall time and CPU time. Immutable.
 */
public record ScanStats(int vanished, int malformed, long durationMicros, long cpuMicros) {
}
