package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.controller.store.HostRecord;
import dev.fleetkeeper.controller.store.MemoryPoint;
import dev.fleetkeeper.proto.v1.Delta;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.HostStats;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.ProcessState;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.Snapshot;
import dev.fleetkeeper.proto.v1.Socket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

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
    /** Latest sample per identity, as received: changed processes arrive without cmdline and exe. */
    final Map<ProcKey, Process> processes = new HashMap<>();
    /** The sample that carried each identity's cmdline and exe (sent once per identity). */
    final Map<ProcKey, Process> identities = new HashMap<>();
    final Map<Long, Socket> sockets = new HashMap<>();
    final Map<ProcKey, Long> lastPointMillis = new HashMap<>();
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
        Map<ProcKey, Process> incoming = new HashMap<>(snapshot.getProcessesCount() * 2);
        for (Process p : snapshot.getProcessesList()) {
            incoming.put(ProcKey.of(p.getKey()), p);
        }
        Map<Long, Socket> incomingSockets = new HashMap<>();
        for (Socket s : snapshot.getSocketsList()) {
            incomingSockets.put(s.getInode(), s);
        }
        long t = snapshot.getTakenAtUnixMs();
        if (compare && stateLoaded) {
            for (Map.Entry<ProcKey, Process> old : processes.entrySet()) {
                if (!incoming.containsKey(old.getKey())) {
                    events.add(ev.processExited(hostId(), t, old.getValue(), true));
                }
            }
            for (Map.Entry<ProcKey, Process> now : incoming.entrySet()) {
                Process before = processes.get(now.getKey());
                if (before == null) {
                    events.add(ev.processStarted(hostId(), t, now.getValue()));
                }
                if (isZombie(now.getValue()) && (before == null || !isZombie(before))) {
                    events.add(ev.zombieAppeared(hostId(), t, now.getValue(), parentIn(incoming, now.getValue())));
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
            for (Process p : incoming.values()) {
                if (isZombie(p)) {
                    events.add(ev.zombieAppeared(hostId(), t, p, parentIn(incoming, p)));
                }
            }
        }
        processes.clear();
        processes.putAll(incoming);
        identities.clear();
        for (Map.Entry<ProcKey, Process> e : incoming.entrySet()) {
            if (hasIdentity(e.getValue())) {
                identities.put(e.getKey(), e.getValue());
            }
        }
        sockets.clear();
        sockets.putAll(incomingSockets);
        lastPointMillis.keySet().retainAll(incoming.keySet());
        stats = snapshot.getHost();
        takenAtMillis = t;
        stateLoaded = true;
        dirty = true;
        List<Point> points = new ArrayList<>();
        for (Map.Entry<ProcKey, Process> e : incoming.entrySet()) {
            addPointIfDue(points, e.getKey(), e.getValue(), t, resolutionMillis);
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
            ProcKey k = ProcKey.of(key);
            Process gone = processes.remove(k);
            Process identity = identities.remove(k);
            lastPointMillis.remove(k);
            if (gone != null) {
                events.add(ev.processExited(hostId(), t, identity == null ? gone : merge(gone, identity), false));
            }
        }
        for (Process p : delta.getProcessesUpsertedList()) {
            ProcKey k = ProcKey.of(p.getKey());
            Process before = processes.put(k, p);
            if (hasIdentity(p)) {
                identities.put(k, p);
            }
            if (before == null) {
                events.add(ev.processStarted(hostId(), t, p));
            }
            if (isZombie(p) && (before == null || !isZombie(before))) {
                events.add(ev.zombieAppeared(hostId(), t, full(k), parentIn(processes, p)));
            }
            addPointIfDue(points, k, p, t, resolutionMillis);
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
        for (ProcKey k : processes.keySet()) {
            b.addProcesses(full(k));
        }
        return b.addAllSockets(sockets.values()).build();
    }

    /** The latest sample of {@code k} with its cmdline and exe; null when unknown. */
    Process full(ProcKey k) {
        Process p = processes.get(k);
        if (p == null || hasIdentity(p)) {
            return p;
        }
        Process identity = identities.get(k);
        return identity == null ? p : merge(p, identity);
    }

    private static boolean hasIdentity(Process p) {
        return p.getCmdlineCount() > 0 || !p.getExe().isEmpty();
    }

    private static Process merge(Process dynamic, Process identity) {
        if (dynamic == identity) {
            return dynamic;
        }
        return dynamic.toBuilder().addAllCmdline(identity.getCmdlineList()).setExe(identity.getExe()).build();
    }

    int zombieCount() {
        int n = 0;
        for (Process p : processes.values()) {
            if (isZombie(p)) {
                n++;
            }
        }
        return n;
    }

    private void addPointIfDue(List<Point> out, ProcKey k, Process p, long t, long resolutionMillis) {
        Long last = lastPointMillis.get(k);
        if (last != null && t - last < resolutionMillis) {
            return;
        }
        lastPointMillis.put(k, t);
        long pss = p.hasMemory() ? p.getMemory().getPssBytes() : 0;
        long priv = p.hasMemory() ? p.getMemory().getPrivateBytes() : 0;
        long anon = p.hasMemory() ? p.getMemory().getAnonymousBytes() : 0;
        out.add(new Point(k, new MemoryPoint(t, p.getRssBytes(), pss, priv, anon)));
    }

    static boolean isZombie(Process p) {
        return p.getState() == ProcessState.PROCESS_STATE_ZOMBIE;
    }

    static Process parentIn(Map<ProcKey, Process> processes, Process child) {
        for (Process candidate : processes.values()) {
            if (candidate.getKey().getPid() == child.getPpid()) {
                return candidate;
            }
        }
        return null;
    }

    static String owners(Socket s, Map<ProcKey, Process> processes) {
        return s.getOwnersList().stream()
                .map(k -> {
                    Process p = processes.get(ProcKey.of(k));
                    return p == null ? "pid " + k.getPid() : HostEvents.describe(p);
                })
                .collect(Collectors.joining(", "));
    }
}
