package dev.fleetkeeper.cli.e2e;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.HostSummary;
import dev.fleetkeeper.proto.v1.ListEventsResponse;
import dev.fleetkeeper.proto.v1.ListHostsResponse;
import java.util.List;
import java.util.Optional;

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
}
