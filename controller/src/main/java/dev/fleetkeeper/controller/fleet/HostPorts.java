package dev.fleetkeeper.controller.fleet;

import java.util.List;

/** A host's listening and bound sockets, ordered by port. Immutable. */
public record HostPorts(HostStatus host, List<PortRow> rows) {

    public HostPorts {
        rows = List.copyOf(rows);
    }
}
