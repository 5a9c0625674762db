package dev.fleetkeeper.controller.recycle;

import dev.fleetkeeper.controller.coordination.ServiceSnapshot;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the controller knows now about one host and the recycled service on it, for the pure
 * recycle decisions. Immutable.
 *
 * @param hostId         the host's id
 * @param hostname       its name
 * @param labels         its labels
 * @param online         whether its agent is connected
 * @param lastSeenMillis when the controller last heard from it
 * @param declared       instances of the service the host declares; -1 when it does not report the service
 * @param instances      the instances as its latest report shows them
 */
public record HostObservation(String hostId, String hostname, Map<String, String> labels, boolean online,
                              long lastSeenMillis, int declared, List<Instance> instances) {

    public HostObservation {
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(hostname, "hostname");
        labels = Map.copyOf(labels);
        instances = List.copyOf(instances);
    }

    /**
     * One instance as reported.
     *
     * @param index     the instance index
     * @param pid       the manager's pid, 0 if none
     * @param available RUNNING, consistent with /proc, and holding every port it is declared to
     * @param state     the manager's state, for messages ("RUNNING", "BACKOFF")
     */
    public record Instance(int index, int pid, boolean available, String state) {
    }

    /** Whether the host reports the service. */
    public boolean reportsService() {
        return declared >= 0;
    }

    /** The instance with {@code index}, or null. */
    public Instance instance(int index) {
        for (Instance i : instances) {
            if (i.index() == index) {
                return i;
            }
        }
        return null;
    }

    /** Whether the host carries every label of {@code selector}. */
    public boolean matches(Map<String, String> selector) {
        return ServiceSnapshot.matches(labels, selector);
    }
}
