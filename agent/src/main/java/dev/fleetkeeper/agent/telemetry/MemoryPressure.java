package dev.fleetkeeper.agent.telemetry;

/** Memory pressure stall information from {@code /proc/pressure/memory}. Immutable. */
public record MemoryPressure(float someAvg10, float someAvg60, float someAvg300,
                             float fullAvg10, float fullAvg60, float fullAvg300,
                             long someTotalMicros, long fullTotalMicros) {
}
