package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.proto.v1.ServiceReport;

/**
 * One host's managed services as its agent last reported them. The report is the wire message
 * (data the controller relays and stores, like a host's latest state). Immutable.
 *
 * @param online whether the host's agent is connected now; if not, the report is its last
 * @param report the latest report, empty when the host has sent none
 */
public record HostServices(String hostId, String hostname, boolean online, long lastSeenMillis,
                           ServiceReport report) {
}
