package dev.fleetkeeper.agent.transport;

import java.time.Duration;

/** Sampling cadence the controller asked for in Welcome. Immutable. */
public record Sampling(Duration scanInterval, Duration detailInterval, Duration heartbeatInterval) {
}
