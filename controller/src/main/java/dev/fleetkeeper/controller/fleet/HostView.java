package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.controller.store.HostRecord;
import dev.fleetkeeper.controller.store.MemoryPoint;
import dev.fleetkeeper.proto.v1.Delta;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.HostStats;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.Snapshot;
import dev.fleetkeeper.proto.v1.Socket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The controller's live model of one host: its registration, its connection, and its latest
 * processes and sockets, kept current by applying the agent's snapshots and deltas. Applying
 * returns what to store (events, memory points) and does no I/O itself.
 *
 * <p>Not thread-safe: owned by the fleet engine's thread.
 */
final class HostView {

    /** What applying a message produced, to be stored. */
    record Applied(List<Event> events, List<Point> points) {
    }

    /** A memory point for one process. */
    record Point(ProcKey process, MemoryPoint point) {
    }

    HostRecord record;
    AgentSession session;
    long lastHeardMillis;
    boolean stateLoaded;
    long takenAtMillis;
    HostStats stats = HostStats.getDefaultInstance();
    /**
     * Latest sample per identity, updated in place (see {@link LiveProcess} for why), with the
     * cmdline and exe the identity was sent with: changed processes arrive without them.
     */
    final Map<ProcKey, LiveProcess> processes = new HashMap<>();
    final Map<Long, Socket> sockets = new HashMap<>();
    boolean dirty;
    long lastCheckpointMillis;
    /** Whether the next snapshot should be compared with the held state (false after a reboot). */
    boolean compareNextSnapshot;
    /** Whether the current stream has delivered its first snapshot. */
    boolean snapshotSeen;
    /** The latest service report (loaded at start, replaced by each new one); empty if none. */
    ServiceReport services = ServiceReport.getDefaultInstance();

    HostView(HostRecord record) {
        this.record = record;
    }

    String hostId() {
        return record.hostId();
    }

    boolean online() {
        return record.online();
    }

    /**
     * Replaces the state with a full snapshot. With {@code compare}, reports what differs from
     * the state held before as events (a reconnect after an outage); without, reports nothing
     * (a first registration or a reboot).
     */
    Applied replace(Snapshot snapshot, boolean compare, HostEvents ev, long resolutionMillis) {
        List<Event> events = new ArrayList<>();
        Map<ProcKey, LiveProcess> incoming = new HashMap<>(snapshot.getProcessesCount() * 2);
        for (Process p : snapshot.getProcessesList()) {
            ProcKey k = ProcKey.of(p.getKey());
            LiveProcess held = incoming.get(k);
            if (held == null) {
                incoming.put(k, new LiveProcess(k, p));
            } else {
                // The same identity twice: the later sample wins, as it did in a map of messages.
                held.update(p);
            }
        }
        Map<Long, Socket> incomingSockets = new HashMap<>();
        for (Socket s : snapshot.getSocketsList()) {
            incomingSockets.put(s.getInode(), s);
        }
        long t = snapshot.getTakenAtUnixMs();
        if (compare && stateLoaded) {
            for (Map.Entry<ProcKey, LiveProcess> old : processes.entrySet()) {
                if (!incoming.containsKey(old.getKey())) {
                    events.add(ev.processExited(hostId(), t, old.getValue().toProto(), true));
                }
            }
            for (Map.Entry<ProcKey, LiveProcess> now : incoming.entrySet()) {
                LiveProcess before = processes.get(now.getKey());
                if (before == null) {
                    events.add(ev.processStarted(hostId(), t, now.getValue().toProto()));
                }
                if (now.getValue().isZombie() && (before == null || !before.isZombie())) {
                    events.add(ev.zombieAppeared(hostId(), t, now.getValue().toProto(),
                            protoOf(parentIn(incoming, now.getValue()))));
                }
            }
            for (Socket old : sockets.values()) {
                if (!incomingSockets.containsKey(old.getInode())) {
                    events.add(ev.listener(hostId(), t, old, false, owners(old, processes)));
                }
            }
            for (Socket now : incomingSockets.values()) {
                if (!sockets.containsKey(now.getInode())) {
                    events.add(ev.listener(hostId(), t, now, true, owners(now, incoming)));
                }
            }
        } else {
            for (LiveProcess p : incoming.values()) {
                if (p.isZombie()) {
                    events.add(ev.zombieAppeared(hostId(), t, p.toProto(), protoOf(parentIn(incoming, p))));
                }
            }
        }
        for (Map.Entry<ProcKey, LiveProcess> e : incoming.entrySet()) {
            // A process the model held before keeps when its last memory point was stored.
            LiveProcess before = processes.get(e.getKey());
            if (before != null) {
                e.getValue().lastPointMillis = before.lastPointMillis;
            }
        }
        processes.clear();
        processes.putAll(incoming);
        sockets.clear();
        sockets.putAll(incomingSockets);
        stats = snapshot.getHost();
        takenAtMillis = t;
        stateLoaded = true;
        dirty = true;
        List<Point> points = new ArrayList<>();
        for (LiveProcess p : incoming.values()) {
            addPointIfDue(points, p, t, resolutionMillis);
        }
        return new Applied(events, points);
    }

    /** Applies a delta; reports process, listener and zombie changes as events. */
    Applied apply(Delta delta, HostEvents ev, long resolutionMillis) {
        List<Event> events = new ArrayList<>();
        List<Point> points = new ArrayList<>();
        long t = delta.getTakenAtUnixMs();
        // Sockets first: a listener usually goes away with its owner, and the event should
        // still name the owner rather than a bare pid.
        for (long inode : delta.getSocketsRemovedList()) {
            Socket gone = sockets.remove(inode);
            if (gone != null) {
                events.add(ev.listener(hostId(), t, gone, false, owners(gone, processes)));
            }
        }
        for (ProcessKey key : delta.getProcessesRemovedList()) {
            LiveProcess gone = processes.remove(ProcKey.of(key));
            if (gone != null) {
                events.add(ev.processExited(hostId(), t, gone.toProto(), false));
            }
        }
        for (Process p : delta.getProcessesUpsertedList()) {
            ProcKey k = ProcKey.of(p.getKey());
            LiveProcess held = processes.get(k);
            boolean wasZombie = held != null && held.isZombie();
            if (held == null) {
                held = new LiveProcess(k, p);
                processes.put(k, held);
                events.add(ev.processStarted(hostId(), t, p));
            } else {
                held.update(p);
            }
            if (held.isZombie() && !wasZombie) {
                events.add(ev.zombieAppeared(hostId(), t, held.toProto(), protoOf(parentIn(processes, held))));
            }
            addPointIfDue(points, held, t, resolutionMillis);
        }
        for (Socket s : delta.getSocketsUpsertedList()) {
            Socket before = sockets.put(s.getInode(), s);
            if (before == null) {
                events.add(ev.listener(hostId(), t, s, true, owners(s, processes)));
            }
        }
        stats = delta.getHost();
        takenAtMillis = t;
        dirty = true;
        return new Applied(events, points);
    }

    /** The state as one Snapshot, for the store's checkpoint. */
    Snapshot toSnapshot() {
        Snapshot.Builder b = Snapshot.newBuilder().setTakenAtUnixMs(takenAtMillis).setHost(stats);
        for (LiveProcess p : processes.values()) {
            b.addProcesses(p.toProto());
        }
        return b.addAllSockets(sockets.values()).build();
    }

    /** The latest sample of {@code k} with its cmdline and exe; null when unknown. */
    Process full(ProcKey k) {
        LiveProcess p = processes.get(k);
        return p == null ? null : p.toProto();
    }

    int zombieCount() {
        int n = 0;
        for (LiveProcess p : processes.values()) {
            if (p.isZombie()) {
                n++;
            }
        }
        return n;
    }

    private static void addPointIfDue(List<Point> out, LiveProcess p, long t, long resolutionMillis) {
        if (p.lastPointMillis != Long.MIN_VALUE && t - p.lastPointMillis < resolutionMillis) {
            return;
        }
        p.lastPointMillis = t;
        out.add(new Point(p.key, new MemoryPoint(t, p.rssBytes(), p.pssBytes(), p.privateBytes(),
                p.anonymousBytes())));
    }

    static LiveProcess parentIn(Map<ProcKey, LiveProcess> processes, LiveProcess child) {
        for (LiveProcess candidate : processes.values()) {
            if (candidate.pid() == child.ppid()) {
                return candidate;
            }
        }
        return null;
    }

    private static Process protoOf(LiveProcess p) {
        return p == null ? null : p.toProto();
    }

    static String owners(Socket s, Map<ProcKey, LiveProcess> processes) {
        StringBuilder out = new StringBuilder();
        for (ProcessKey k : s.getOwnersList()) {
            if (out.length() > 0) {
                out.append(", ");
            }
            LiveProcess p = processes.get(ProcKey.of(k));
            out.append(p == null ? "pid " + k.getPid() : p.comm() + " (pid " + k.getPid() + ")");
        }
        return out.toString();
    }
}
