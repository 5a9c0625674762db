package dev.fleetkeeper.cli.e2e;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.HostSummary;
import dev.fleetkeeper.proto.v1.ListEventsResponse;
import dev.fleetkeeper.proto.v1.ListHostsResponse;
import dev.fleetkeeper.proto.v1.InstanceView;
import dev.fleetkeeper.proto.v1.ListServicesResponse;
import dev.fleetkeeper.proto.v1.ManagerState;
import dev.fleetkeeper.proto.v1.Rollout;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads a controller's state through the real CLI ({@code --json}), as an operator would. Stateless. */
final class FleetQueries {

    private FleetQueries() {
    }

    /** Every host, or an empty list when the controller does not answer. */
    static List<HostSummary> hosts(String target) throws InvalidProtocolBufferException {
        CliRun.Result r = CliRun.run(target, "hosts", "--json");
        if (r.exitCode() != 0) {
            return List.of();
        }
        ListHostsResponse.Builder b = ListHostsResponse.newBuilder();
        JsonFormat.parser().merge(r.out(), b);
        return b.getHostsList();
    }

    static Optional<HostSummary> host(String target, String hostId) throws InvalidProtocolBufferException {
        return hosts(target).stream().filter(h -> h.getHostId().equals(hostId)).findFirst();
    }

    static boolean online(String target, String hostId) throws InvalidProtocolBufferException {
        return host(target, hostId).map(HostSummary::getOnline).orElse(false);
    }

    /** Every stored event (up to 10000), oldest first; fails when the controller does not answer. */
    static List<Event> events(String target) throws InvalidProtocolBufferException {
        CliRun.Result r = CliRun.run(target, "events", "--json", "-n", "10000");
        if (r.exitCode() != 0) {
            throw new IllegalStateException("fleetkeeper events failed: " + r.err());
        }
        ListEventsResponse.Builder b = ListEventsResponse.newBuilder();
        JsonFormat.parser().merge(r.out(), b);
        return b.getEventsList();
    }

    static List<Event> events(String target, EventType type, String hostId) throws InvalidProtocolBufferException {
        return events(target).stream().filter(e -> e.getType() == type && e.getHostId().equals(hostId)).toList();
    }

    /** The event of {@code type} about process {@code pid} on {@code hostId}, if stored. */
    static Optional<Event> processEvent(String target, EventType type, String hostId, long pid)
            throws InvalidProtocolBufferException {
        return events(target, type, hostId).stream().filter(e -> e.getProcess().getPid() == pid).findFirst();
    }

    /** {@code service} as each host reports it, by host id; empty when the controller does not answer. */
    static Map<String, ServiceStatus> serviceStatuses(String target, String service)
            throws InvalidProtocolBufferException {
        CliRun.Result r = CliRun.run(target, "services", "--json");
        Map<String, ServiceStatus> out = new HashMap<>();
        if (r.exitCode() != 0) {
            return out;
        }
        ListServicesResponse.Builder b = ListServicesResponse.newBuilder();
        JsonFormat.parser().ignoringUnknownFields().merge(r.out(), b);
        b.getHostsList().forEach(h -> h.getReport().getServicesList().stream()
                .filter(s -> s.getName().equals(service))
                .forEach(s -> out.put(h.getHostId(), s)));
        return out;
    }

    /** {@code service}'s running instances (manager RUNNING with a pid) by host id and index. */
    static Map<String, Map<Integer, InstanceView>> runningInstances(String target, String service)
            throws InvalidProtocolBufferException {
        Map<String, Map<Integer, InstanceView>> out = new HashMap<>();
        serviceStatuses(target, service).forEach((host, s) -> s.getInstancesList().stream()
                .filter(i -> i.getManagerState() == ManagerState.MANAGER_STATE_RUNNING && i.getManagerPid() > 0)
                .forEach(i -> out.computeIfAbsent(host, k -> new HashMap<>()).put(i.getIndex(), i)));
        return out;
    }

    /** Every host's running instances' pids (manager RUNNING with a pid), by host id and index, over all services. */
    static Map<String, Map<Integer, Integer>> runningPids(String target) throws InvalidProtocolBufferException {
        CliRun.Result r = CliRun.run(target, "services", "--json");
        ListServicesResponse.Builder b = ListServicesResponse.newBuilder();
        JsonFormat.parser().merge(r.out(), b);
        Map<String, Map<Integer, Integer>> out = new HashMap<>();
        b.getHostsList().forEach(h -> h.getReport().getServicesList().forEach(s -> {
            Map<Integer, Integer> pids = out.computeIfAbsent(h.getHostId(), k -> new HashMap<>());
            s.getInstancesList().stream()
                    .filter(i -> i.getManagerState() == ManagerState.MANAGER_STATE_RUNNING && i.getManagerPid() > 0)
                    .forEach(i -> pids.put(i.getIndex(), i.getManagerPid()));
        }));
        return out;
    }

    /** Rollout {@code id} from {@code rollout status --json} (which exits 1 for a failed one, printing it all the same). */
    static Rollout rollout(String target, String id) throws InvalidProtocolBufferException {
        CliRun.Result r = CliRun.run(target, "rollout", "status", id, "--json");
        if (r.out().isBlank()) {
            throw new IllegalStateException("rollout status " + id + " failed (" + r.exitCode() + "): " + r.err());
        }
        Rollout.Builder b = Rollout.newBuilder();
        JsonFormat.parser().ignoringUnknownFields().merge(r.out(), b);
        return b.build();
    }

    /** The rollout id in what {@code rollout start} printed; fails the test when there is none. */
    static String rolloutId(String startOutput) {
        Matcher m = Pattern.compile("rollout (ro-[0-9a-f]+-[0-9a-f]+):").matcher(startOutput);
        if (!m.find()) {
            throw new AssertionError("no rollout id in: " + startOutput);
        }
        return m.group(1);
    }
}
