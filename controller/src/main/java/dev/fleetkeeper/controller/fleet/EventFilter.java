package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import java.util.Set;

/**
 * Which events a reader wants: one host or all, a start time, some types or all, and only
 * those after a sequence. Immutable.
 */
public record EventFilter(String hostId, long sinceMillis, Set<EventType> types, long afterSequence) {

    public EventFilter {
        types = Set.copyOf(types);
    }

    public boolean matches(Event e) {
        return (hostId == null || hostId.equals(e.getHostId()))
                && e.getTimeUnixMs() >= sinceMillis
                && (types.isEmpty() || types.contains(e.getType()))
                && e.getSequence() > afterSequence;
    }
}
