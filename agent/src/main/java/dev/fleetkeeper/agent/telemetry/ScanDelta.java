package dev.fleetkeeper.agent.telemetry;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What changed between two {@link HostScan}s: what the link sends instead of a snapshot.
 * Immutable; built by the link's thread from any two scans of the same boot.
 *
 * <p>{@code between} compares the two scans only, never the scans in between, so a delta from
 * "what the controller last received" to "the newest scan" folds skipped scans in by
 * construction: applying it to {@code base} gives exactly {@code current}
 * (see {@link #applyTo}). {@code mergedScans} says how many scans it stands for (1 unless the
 * caller says otherwise with {@link #withMergedScans}).
 *
 * @param added           samples to send in full: identities new since {@code base}, and
 *                        identities whose {@code cmdline} or {@code exe} changed (an
 *                        {@code execve}, or a process rewriting its title), since those facts
 *                        are otherwise only sent with a new identity
 * @param changed         samples of identities in both scans that {@link ProcessSample#differsFrom}
 *                        {@code base} (or whose user name changed)
 * @param removed         identities in {@code base} that are not in {@code current}
 * @param socketsUpserted sockets new since {@code base} or whose owners or fields changed
 * @param socketsRemoved  inodes in {@code base} that are not in {@code current}
 * @param host            the host sample of {@code current}
 */
public record ScanDelta(List<ProcessSample> added, List<ProcessSample> changed,
                        List<ProcessId> removed, List<SocketSample> socketsUpserted,
                        List<Long> socketsRemoved, HostSample host, int mergedScans) {

    public ScanDelta {
        added = List.copyOf(added);
        changed = List.copyOf(changed);
        removed = List.copyOf(removed);
        socketsUpserted = List.copyOf(socketsUpserted);
        socketsRemoved = List.copyOf(socketsRemoved);
        Objects.requireNonNull(host, "host");
        if (mergedScans < 1) {
            throw new IllegalArgumentException("mergedScans: " + mergedScans + " (expected: >= 1)");
        }
    }

    /** The changes that turn {@code base} into {@code current}; lists sorted by identity/inode. */
    public static ScanDelta between(HostScan base, HostScan current) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(current, "current");
        List<ProcessSample> added = new ArrayList<>();
        List<ProcessSample> changed = new ArrayList<>();
        List<ProcessId> removed = new ArrayList<>();
        for (ProcessSample now : current.processes().values()) {
            ProcessSample before = base.processes().get(now.id());
            if (before == null || !before.cmdline().equals(now.cmdline())
                    || !before.exe().equals(now.exe())) {
                added.add(now);
            } else if (before != now && (before.differsFrom(now) || !before.user().equals(now.user()))) {
                changed.add(now);
            }
        }
        for (ProcessId id : base.processes().keySet()) {
            if (!current.processes().containsKey(id)) {
                removed.add(id);
            }
        }
        List<SocketSample> upserted = new ArrayList<>();
        List<Long> socketsRemoved = new ArrayList<>();
        for (SocketSample now : current.sockets().values()) {
            SocketSample before = base.sockets().get(now.inode());
            if (before == null || (before != now && !before.equals(now))) {
                upserted.add(now);
            }
        }
        for (Long inode : base.sockets().keySet()) {
            if (!current.sockets().containsKey(inode)) {
                socketsRemoved.add(inode);
            }
        }
        added.sort((a, b) -> a.id().compareTo(b.id()));
        changed.sort((a, b) -> a.id().compareTo(b.id()));
        Collections.sort(removed);
        upserted.sort((a, b) -> Long.compare(a.inode(), b.inode()));
        Collections.sort(socketsRemoved);
        return new ScanDelta(added, changed, removed, upserted, socketsRemoved, current.host(), 1);
    }

    /** This delta standing for {@code n} scans. */
    public ScanDelta withMergedScans(int n) {
        return new ScanDelta(added, changed, removed, socketsUpserted, socketsRemoved, host, n);
    }

    /** Whether nothing but the host sample changed. */
    public boolean isEmpty() {
        return added.isEmpty() && changed.isEmpty() && removed.isEmpty()
                && socketsUpserted.isEmpty() && socketsRemoved.isEmpty();
    }

    /**
     * The scan this delta produces from {@code base}: what the receiving side reconstructs.
     * {@code applyTo(base)} of {@code between(base, current)} equals {@code current}.
     */
    public HostScan applyTo(HostScan base) {
        Map<ProcessId, ProcessSample> processes = new HashMap<>(base.processes());
        removed.forEach(processes::remove);
        added.forEach(p -> processes.put(p.id(), p));
        changed.forEach(p -> processes.put(p.id(), p));
        Map<Long, SocketSample> sockets = new HashMap<>(base.sockets());
        socketsRemoved.forEach(sockets::remove);
        socketsUpserted.forEach(s -> sockets.put(s.inode(), s));
        return new HostScan(host.sampledAtMillis(), host, processes, sockets);
    }
}
