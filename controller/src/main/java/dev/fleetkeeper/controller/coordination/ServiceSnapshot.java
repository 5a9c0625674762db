package dev.fleetkeeper.controller.coordination;

import dev.fleetkeeper.controller.fleet.FleetEngine;
import dev.fleetkeeper.controller.store.HostRecord;
import dev.fleetkeeper.controller.fleet.HostServices;
import dev.fleetkeeper.controller.fleet.HostStatus;
import dev.fleetkeeper.proto.v1.InstanceView;
import dev.fleetkeeper.proto.v1.ManagerState;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the recycle and rollout coordinators read of the fleet before each decision: every host
 * the engine knows, with its latest report of one service, turned into the coordinator's own
 * view of a host. Stateless; call it on the coordinator's thread (it waits for the engine).
 */
public final class ServiceSnapshot {

    private ServiceSnapshot() {
    }

    /** A coordinator's view of one host and its report of the service ({@code status} null: not reported). */
    @FunctionalInterface
    public interface HostView<T> {
        T of(HostRecord host, ServiceStatus status);
    }

    /** Every host, by host id in the engine's order, as {@code view} sees it with its report of {@code service}. */
    public static <T> Map<String, T> byHost(FleetEngine engine, String service, HostView<T> view) {
        List<HostStatus> hosts = CoordinatorThread.join(engine.hosts(Map.of()));
        Map<String, ServiceStatus> statuses = new HashMap<>();
        for (HostServices s : CoordinatorThread.join(engine.services("", service))) {
            for (ServiceStatus st : s.report().getServicesList()) {
                if (st.getName().equals(service)) {
                    statuses.put(s.hostId(), st);
                }
            }
        }
        Map<String, T> out = new LinkedHashMap<>();
        for (HostStatus h : hosts) {
            out.put(h.record().hostId(), view.of(h.record(), statuses.get(h.record().hostId())));
        }
        return out;
    }

    /** RUNNING, consistent with /proc, with a pid, and holding every port it is declared to. */
    public static boolean available(InstanceView v) {
        return v.getManagerState() == ManagerState.MANAGER_STATE_RUNNING && v.getConsistent() && v.getManagerPid() > 0
                && v.getBoundPortsList().containsAll(v.getExpectedPortsList());
    }

    /** Whether {@code labels} carry every label of {@code selector}. */
    public static boolean matches(Map<String, String> labels, Map<String, String> selector) {
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }
}
