package dev.fleetkeeper.agent.telemetry;

/**
 * Facts about the host that do not change while it is up: host name, kernel release, boot id,
 * boot time, clock ticks per second and CPU count. Immutable.
 */
public record HostInfo(String hostname, String kernel, String bootId, long bootTimeMillis,
                       int clockTicksPerSecond, int cpuCount) {
}
