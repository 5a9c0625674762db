package dev.fleetkeeper.controller.store;

import java.util.Map;
import java.util.Objects;

/**
 * What the controller knows about one host: registration, labels, liveness. Immutable.
 *
 * @param hostId stable id the agent keeps across restarts and reboots; the key
 * @param hostname host name as last reported
 * @param labels operator-assigned labels from the agent config
 * @param agentVersion version of the agent last connected
 * @param kernel kernel release (uname -r) last reported
 * @param bootId boot id last reported, as text (may be empty before the first Hello)
 * @param registeredAtMillis first registration, ms since the Unix epoch
 * @param lastSeenMillis last message from the host, ms since the Unix epoch
 * @param connectedAtMillis when the current (or last) stream connected, ms since the Unix epoch
 * @param online whether an agent stream from the host is live
 */
public record HostRecord(
        String hostId,
        String hostname,
        Map<String, String> labels,
        String agentVersion,
        String kernel,
        String bootId,
        long registeredAtMillis,
        long lastSeenMillis,
        long connectedAtMillis,
        boolean online) {

    public HostRecord {
        Preconditions.checkHostId(hostId);
        Objects.requireNonNull(hostname, "hostname");
        labels = Map.copyOf(labels);
        Objects.requireNonNull(agentVersion, "agentVersion");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(bootId, "bootId");
        Preconditions.checkNotNegative("registeredAtMillis", registeredAtMillis);
        Preconditions.checkNotNegative("lastSeenMillis", lastSeenMillis);
        Preconditions.checkNotNegative("connectedAtMillis", connectedAtMillis);
    }
}
