package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.Socket;
import java.util.List;

/** A listening or bound socket with its owning processes resolved. Immutable. */
public record PortRow(Socket socket, List<Process> owners) {

    public PortRow {
        owners = List.copyOf(owners);
    }
}
