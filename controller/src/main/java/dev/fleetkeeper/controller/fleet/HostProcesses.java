package dev.fleetkeeper.controller.fleet;

import java.util.List;

/** A host's processes in the requested order. Immutable. */
public record HostProcesses(HostStatus host, List<ProcessRow> rows) {

    public HostProcesses {
        rows = List.copyOf(rows);
    }
}
