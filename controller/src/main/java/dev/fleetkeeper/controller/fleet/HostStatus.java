package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.controller.store.HostRecord;
import dev.fleetkeeper.proto.v1.HostStats;

/** A host's registration and a summary of its latest state. Immutable. */
public record HostStatus(HostRecord record, HostStats stats, long sampledAtMillis, int processCount,
                         int zombieCount, int listenerCount) {
}
