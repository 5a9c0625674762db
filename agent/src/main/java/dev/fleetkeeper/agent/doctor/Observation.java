package dev.fleetkeeper.agent.doctor;

import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ServiceSpec;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the agent knows of one service at one moment, besides the scan: the spec, what its
 * manager says, and the history the manager does not keep. Immutable input to {@link Doctor}.
 *
 * @param spec           the declared service
 * @param statuses       one per instance as the manager reports it; empty when {@code managerError} is set
 * @param managerError   why the manager could not be asked, null when it answered
 * @param configDrift    differences between the manager's config and the spec, one sentence each
 * @param recentRestarts per instance index, the restarts seen within the spec's crash-loop window
 * @param lastLines      per instance index, the last lines of output (for instances that are failing)
 */
public record Observation(ServiceSpec spec, List<InstanceStatus> statuses, String managerError,
                          List<String> configDrift, Map<Integer, Integer> recentRestarts,
                          Map<Integer, List<String>> lastLines) {

    public Observation {
        Objects.requireNonNull(spec, "spec");
        statuses = List.copyOf(statuses);
        configDrift = List.copyOf(configDrift);
        recentRestarts = Map.copyOf(recentRestarts);
        lastLines = Map.copyOf(lastLines);
    }
}
