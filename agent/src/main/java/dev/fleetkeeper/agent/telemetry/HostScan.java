package dev.fleetkeeper.agent.telemetry;

import java.util.Map;

/**
 * The complete result of one scan: host figures, every process by identity, every
 * listening/bound socket by inode. Immutable (the maps are unmodifiable copies).
 */
public record HostScan(long takenAtMillis, HostSample host, Map<ProcessId, ProcessSample> processes,
                       Map<Long, SocketSample> sockets) {

    public HostScan {
        processes = Map.copyOf(processes);
        sockets = Map.copyOf(sockets);
    }
}
