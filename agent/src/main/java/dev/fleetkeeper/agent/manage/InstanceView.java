package dev.fleetkeeper.agent.manage;

import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.telemetry.ProcessSample;
import java.util.List;
import java.util.Objects;

/**
 * One instance as its manager reports it ({@code status}) next to what {@code /proc} shows
 * for the manager's pid ({@code process}, null when there is none). Immutable.
 *
 * @param status         the manager's view
 * @param process        the process /proc shows for the manager's pid, null if none
 * @param expectedPorts  ports the instance is declared to listen on
 * @param boundPorts     those that the instance's process or a descendant holds
 * @param consistent     false when the manager and /proc disagree
 */
public record InstanceView(InstanceStatus status, ProcessSample process, List<Integer> expectedPorts,
                           List<Integer> boundPorts, boolean consistent) {
    public InstanceView {
        Objects.requireNonNull(status, "status");
        expectedPorts = List.copyOf(expectedPorts);
        boundPorts = List.copyOf(boundPorts);
    }
}
