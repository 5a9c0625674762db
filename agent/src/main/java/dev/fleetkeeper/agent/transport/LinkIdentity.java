package dev.fleetkeeper.agent.transport;

import dev.fleetkeeper.agent.telemetry.HostInfo;
import java.util.List;
import java.util.Map;

/** What the agent says about itself in Hello. Immutable. */
public record LinkIdentity(String hostId, Map<String, String> labels, String agentVersion, HostInfo hostInfo,
                           List<String> recentActionIds) {

    public LinkIdentity {
        labels = Map.copyOf(labels);
        recentActionIds = List.copyOf(recentActionIds);
    }
}
