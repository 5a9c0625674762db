package dev.fleetkeeper.controller.fleet;

import java.util.List;

/**
 * A host's processes in the requested order, at most the requested number of them;
 * {@code totalMatching} counts all that matched. Immutable.
 */
public record HostProcesses(HostStatus host, List<ProcessRow> rows, int totalMatching) {

    public HostProcesses {
        rows = List.copyOf(rows);
    }
}
