package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.Severity;
import dev.fleetkeeper.proto.v1.Socket;
import dev.fleetkeeper.proto.v1.SocketProtocol;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Builds the controller's own events with one wording and unique ids. Thread-safe.
 */
final class HostEvents {

    private final String idPrefix;
    private final AtomicLong counter = new AtomicLong();

    /**
     * {@code instance} distinguishes this controller run. Ids must never repeat across runs (the
     * store drops an event whose id it has seen), so callers pass a random value, not a time.
     */
    HostEvents(long instance) {
        this.idPrefix = "ctl-" + Long.toUnsignedString(instance, 36) + "-";
    }

    Event.Builder base(String hostId, long timeMillis, EventType type, Severity severity, String message) {
        return Event.newBuilder()
                .setId(idPrefix + counter.incrementAndGet())
                .setHostId(hostId)
                .setTimeUnixMs(timeMillis)
                .setType(type)
                .setSeverity(severity)
                .setMessage(message);
    }

    Event processStarted(String hostId, long time, Process p) {
        return base(hostId, time, EventType.EVENT_TYPE_PROCESS_STARTED, Severity.SEVERITY_INFO,
                describe(p) + " started")
                .setProcess(p.getKey())
                .putAttributes("comm", p.getComm())
                .putAttributes("ppid", Integer.toString(p.getPpid()))
                .putAttributes("user", p.getUser())
                .build();
    }

    Event processExited(String hostId, long time, Process p, boolean whileAway) {
        return base(hostId, time, EventType.EVENT_TYPE_PROCESS_EXITED, Severity.SEVERITY_INFO,
                describe(p) + (whileAway ? " exited while the agent was not connected" : " exited"))
                .setProcess(p.getKey())
                .putAttributes("comm", p.getComm())
                .putAttributes("user", p.getUser())
                .build();
    }

    Event zombieAppeared(String hostId, long time, Process zombie, Process parent) {
        String parentText = parent == null ? "parent " + zombie.getPpid()
                : "parent " + describe(parent);
        return base(hostId, time, EventType.EVENT_TYPE_ZOMBIE_APPEARED, Severity.SEVERITY_WARNING,
                describe(zombie) + " is a zombie: it exited and its " + parentText + " has not reaped it")
                .setProcess(zombie.getKey())
                .putAttributes("comm", zombie.getComm())
                .putAttributes("ppid", Integer.toString(zombie.getPpid()))
                .putAttributes("parent_comm", parent == null ? "" : parent.getComm())
                .build();
    }

    Event listener(String hostId, long time, Socket s, boolean appeared, String owners) {
        String what = protocolName(s.getProtocol()) + " " + address(s) + (appeared ? " appeared" : " went away");
        return base(hostId, time, appeared ? EventType.EVENT_TYPE_LISTENER_APPEARED
                        : EventType.EVENT_TYPE_LISTENER_DISAPPEARED, Severity.SEVERITY_INFO,
                "listener " + what + (owners.isEmpty() ? "" : " (" + owners + ")"))
                .putAttributes("protocol", protocolName(s.getProtocol()))
                .putAttributes("address", s.getAddress())
                .putAttributes("port", Integer.toString(s.getPort()))
                .putAttributes("owners", owners)
                .build();
    }

    static String describe(Process p) {
        return p.getComm() + " (pid " + p.getKey().getPid() + ")";
    }

    static String address(Socket s) {
        return (s.getAddress().indexOf(':') >= 0 ? "[" + s.getAddress() + "]" : s.getAddress()) + ":" + s.getPort();
    }

    static String protocolName(SocketProtocol p) {
        switch (p) {
            case SOCKET_PROTOCOL_TCP: return "tcp";
            case SOCKET_PROTOCOL_TCP6: return "tcp6";
            case SOCKET_PROTOCOL_UDP: return "udp";
            case SOCKET_PROTOCOL_UDP6: return "udp6";
            default: return "?";
        }
    }
}
