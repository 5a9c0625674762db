package dev.fleetkeeper.controller.fleet;

import java.time.Duration;

/**
 * The fleet engine's tunables, taken from the controller config. Immutable.
 *
 * @param checkpointInterval how often a connected host's latest full state is stored; between
 *     checkpoints the agent's stream is the source of truth, and an agent that reconnects sends
 *     a full snapshot anyway
 * @param memoryResolution at most one stored memory point per process per this interval
 */
public record FleetSettings(Duration offlineGrace, Duration scanInterval, Duration detailInterval,
                            Duration heartbeatInterval, Duration checkpointInterval,
                            Duration memoryResolution) {
}
