package dev.fleetkeeper.agent.telemetry;

import dev.fleetkeeper.agent.telemetry.ProcessTable.Tracked;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Maps listening and bound socket inodes to the processes that hold them, by an incremental
 * walk of {@code /proc/PID/fd}. Not thread-safe; owned by one {@link ProcScanner}, and run on
 * each scan right after its {@link ProcessTable}, whose identities it reads.
 *
 * <h2>The incremental fd walk</h2>
 * Mapping a socket inode to its holders means reading every {@code /proc/PID/fd/*} link (about
 * 4 µs each; 5,000 fds for 1,000 processes is 20 ms), so the steady state avoids it. Only
 * listening TCP and unconnected bound UDP inodes are of interest. This class remembers, per
 * inode, each owner identity and one fd number on which it was found, and on each scan:
 * <ol>
 *   <li>drops owners whose identity is gone, and <b>re-verifies</b> every other known owner
 *       with one {@code readlink} of the remembered fd; if that fd no longer points at the
 *       inode (closed, or dup'ed elsewhere), that one process is walked again;</li>
 *   <li>walks the fds of every <b>new identity</b>: inheritance by {@code fork} (the classic
 *       "a child of the old release still holds :3000") always creates a new identity;</li>
 *   <li>for an inode <b>new in the tables</b> whose only owners found so far are new
 *       identities, also walks each such owner's nearest previously known ancestor, because
 *       a long-running process that opened a listener and then forked a worker holds it
 *       too;</li>
 *   <li>does a <b>full walk</b> when any listed inode still has no known owner, and at least
 *       every {@code fullWalkInterval} (default 5 min) as a backstop; inodes that a full walk
 *       cannot attribute (held only by processes in another PID namespace, or whose fds this
 *       agent may not read) are remembered as unresolved and do not trigger another full
 *       walk until the backstop.</li>
 * </ol>
 * Residual imprecision, all bounded by the backstop interval: an existing process that
 * receives an already-known socket by {@code SCM_RIGHTS} from a process that is not its
 * ancestor (socket activation hands fds to <i>new</i> processes, which step 2 covers), and an
 * owner that gained a second holder this way is shown with only the first. A process
 * appearing and vanishing between two scans is never seen, as with {@code ss}.
 *
 * <p>Permission-denied on another user's fds is skipped quietly: a non-root agent sees only its
 * own user's sockets' owners.
 */
final class SocketOwners {

    /** One process holding an inode, and one fd number on which it was found. */
    private record Owner(ProcessId id, int fd) {
    }

    private final String root;
    private final ProcReader reader;
    private final ProcessTable processes;
    private final long fullWalkIntervalMillis;

    /** Owners of each listening/bound inode, as far as the last scans established. */
    private final Map<Long, List<Owner>> ownersByInode = new HashMap<>();
    /** Inodes that a full walk could not attribute. */
    private final Set<Long> unresolved = new HashSet<>();
    private long lastFullWalkMillis = Long.MIN_VALUE;
    private long fullWalks;
    private long fdLinksRead;

    SocketOwners(String root, ProcReader reader, ProcessTable processes, long fullWalkIntervalMillis) {
        this.root = root;
        this.reader = reader;
        this.processes = processes;
        this.fullWalkIntervalMillis = fullWalkIntervalMillis;
    }

    /**
     * Brings the owners of the {@code live} inodes up to date after {@link ProcessTable#scan};
     * {@code previouslyListed} are the inodes the last scan listed, which tells which are new.
     */
    void update(Set<Long> live, Set<Long> previouslyListed, long now) {
        long scanNumber = processes.scanNumber();
        ownersByInode.keySet().retainAll(live);
        unresolved.retainAll(live);

        boolean timerDue = lastFullWalkMillis == Long.MIN_VALUE
                || now - lastFullWalkMillis >= fullWalkIntervalMillis;
        boolean fullWalk = timerDue;
        if (timerDue) {
            // Cold start or backstop: rebuild from nothing, no verification needed.
            ownersByInode.clear();
        } else {
            verifyKnownOwners();
            Set<Long> fresh = new HashSet<>(live);
            fresh.removeAll(previouslyListed);
            for (Tracked t : processes.all()) {
                if (t.walkFds) {
                    walkFds(t, live);
                }
            }
            walkAncestorsOfNewOwners(fresh, live);
            for (Long inode : live) {
                if (!ownersByInode.containsKey(inode) && !unresolved.contains(inode)) {
                    fullWalk = true; // an inode nobody is known to hold: search everyone
                    break;
                }
            }
        }
        if (fullWalk) {
            for (Tracked t : processes.all()) {
                if (t.walkedInScan != scanNumber) {
                    walkFds(t, live);
                }
            }
            lastFullWalkMillis = now;
            fullWalks++;
        }
        // After a full walk this is what nobody could be found for; otherwise it can only
        // shrink, since any other ownerless inode would have forced a full walk.
        unresolved.clear();
        for (Long inode : live) {
            if (!ownersByInode.containsKey(inode)) {
                unresolved.add(inode);
            }
        }
    }

    /** The known owners of {@code inode}, sorted; a new list the caller may keep. */
    List<ProcessId> ownerIds(long inode) {
        List<Owner> owners = ownersByInode.getOrDefault(inode, List.of());
        List<ProcessId> ids = new ArrayList<>(owners.size());
        for (Owner o : owners) {
            ids.add(o.id());
        }
        Collections.sort(ids);
        return ids;
    }

    /** Full fd walks done so far (cold start, backstop, unknown inodes). */
    long fullWalks() {
        return fullWalks;
    }

    /** fd links read by walks so far (not counting verification). */
    long fdLinksRead() {
        return fdLinksRead;
    }

    private void verifyKnownOwners() {
        for (Iterator<Map.Entry<Long, List<Owner>>> it = ownersByInode.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, List<Owner>> e = it.next();
            long inode = e.getKey();
            e.getValue().removeIf(o -> {
                Tracked t = processes.byPid(o.id().pid());
                if (t == null || !t.id.equals(o.id())) {
                    return true; // the identity is gone
                }
                if (fdPointsTo(o.id().pid(), o.fd(), inode)) {
                    return false;
                }
                t.walkFds = true; // closed or moved: find what it holds now
                return true;
            });
            if (e.getValue().isEmpty()) {
                it.remove();
            }
        }
    }

    /**
     * For inodes new in the tables whose owners are all new identities, walks each owner's
     * nearest ancestor that is not new: a long-running parent that opened a listener and
     * forked within one scan interval holds it too.
     */
    private void walkAncestorsOfNewOwners(Set<Long> fresh, Set<Long> live) {
        long scanNumber = processes.scanNumber();
        for (Long inode : fresh) {
            List<Owner> owners = ownersByInode.get(inode);
            if (owners == null) {
                continue;
            }
            for (Owner o : List.copyOf(owners)) {
                Tracked t = processes.byPid(o.id().pid());
                int hops = 0;
                while (t != null && t.isNew && t.sample != null && hops++ < 64) {
                    t = processes.byPid(t.sample.ppid());
                }
                if (t != null && !t.isNew && t.walkedInScan != scanNumber) {
                    walkFds(t, live);
                }
            }
        }
    }

    private boolean fdPointsTo(int pid, int fd, long inode) {
        try {
            String target = Files.readSymbolicLink(reader.toPath(
                    reader.path().append(root).append('/').append(pid).append("/fd/").append(fd)))
                    .toString();
            return socketInode(target) == inode;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Records every live inode that {@code t} holds; first forgets what it held before. */
    private void walkFds(Tracked t, Set<Long> live) {
        t.walkFds = false;
        long scanNumber = processes.scanNumber();
        if (t.seenInScan != scanNumber || t.walkedInScan == scanNumber) {
            return;
        }
        t.walkedInScan = scanNumber;
        if (t.ownsSockets) {
            // Forget what it held before; only owners pay for this loop.
            for (Iterator<List<Owner>> it = ownersByInode.values().iterator(); it.hasNext(); ) {
                List<Owner> owners = it.next();
                owners.removeIf(o -> o.id().equals(t.id));
                if (owners.isEmpty()) {
                    it.remove();
                }
            }
            t.ownsSockets = false;
        }
        int pid = t.id.pid();
        String dir = reader.path().append(root).append('/').append(pid).append("/fd").toString();
        String[] fds = new File(dir).list();
        if (fds == null) {
            return; // gone, or not ours to read: a non-root agent cannot see others' fds
        }
        StringBuilder p = new StringBuilder(dir.length() + 8).append(dir).append('/');
        int base = p.length();
        for (String fdName : fds) {
            int fd = ProcessTable.parsePid(fdName);
            if (fd < 0) {
                continue;
            }
            p.setLength(base);
            p.append(fdName);
            fdLinksRead++;
            long inode;
            try {
                inode = socketInode(Files.readSymbolicLink(reader.toPath(p)).toString());
            } catch (IOException | UnsupportedOperationException e) {
                continue;
            }
            if (inode >= 0 && live.contains(inode)) {
                List<Owner> owners = ownersByInode.computeIfAbsent(inode, k -> new ArrayList<>(2));
                boolean already = false;
                for (Owner o : owners) {
                    already |= o.id().equals(t.id);
                }
                if (!already) {
                    owners.add(new Owner(t.id, fd));
                    t.ownsSockets = true;
                }
            }
        }
    }

    /** The inode of a {@code socket:[N]} link target, or -1. */
    static long socketInode(String target) {
        if (!target.startsWith("socket:[") || !target.endsWith("]")) {
            return -1;
        }
        long v = 0;
        for (int i = 8; i < target.length() - 1; i++) {
            char c = target.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
