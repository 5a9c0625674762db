package dev.fleetkeeper.agent.telemetry;

import java.util.List;

/**
 * A listening TCP socket or bound UDP socket with every process holding a descriptor on it
 * (sorted by identity). Immutable.
 */
public record SocketSample(SocketProtocol protocol, String address, int port, long inode, int uid,
                           List<ProcessId> owners) {

    public SocketSample {
        owners = List.copyOf(owners);
    }
}
