package dev.fleetkeeper.agent.telemetry;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Samples processes, listening sockets and host figures from a {@code /proc} tree into a
 * {@link HostScan}. One per agent, owned by the agent's single scan thread; <b>not
 * thread-safe</b>: every call must come from that one thread, because the scanner keeps the
 * previous scan's state (for CPU deltas, per-identity facts and socket owners) and reuses its
 * read buffers. Whoever creates it closes it ({@link #close()}, on the scan thread or once that
 * thread has stopped), which releases the {@code stat} files it holds open.
 *
 * <h2>What is read, and how often</h2>
 * <ul>
 *   <li>Every scan, for every {@code /proc/PID}: {@code stat} (state, parents, CPU, memory,
 *       start time). It is the one file that must be read each time: about 5 µs to open, read
 *       and close, of which the open (a path walk and a {@code /proc} dentry revalidation per
 *       process) and the close are half. So on a real {@code procfs} the scanner keeps each
 *       process's {@code stat} open and reads it again from offset 0, which makes the kernel
 *       render it anew (about 2.5 µs). That is sound because a {@code /proc/PID} file is
 *       bound to the process's {@code struct pid}, not to the number: once the process is
 *       reaped, every read of the held file fails with {@code ESRCH}, even if the PID has been
 *       reused, and the scanner then closes it and opens the name afresh, which yields the new
 *       process and so a new identity (the start time in the file decides the identity either
 *       way). Held files are closed when their identity goes, and by {@link #close()}; at most
 *       a quarter of the descriptors free when the scanner is made (and at most
 *       {@value #MAX_HELD_FILES}) are used; processes beyond that are opened by name on each
 *       scan. On any other file system (a fixture tree of plain files, where a held file would
 *       keep showing a replaced file's old content) nothing is held.</li>
 *   <li>Per identity ({@link ProcessId}: PID plus start time), when first seen, when its
 *       {@code comm} changes (an {@code execve} changes {@code comm}, but not the identity),
 *       and on the detail cadence: {@code status} (Uid line: real and effective uid),
 *       {@code cmdline}, {@code exe}, {@code cgroup}. Otherwise the previous sample's values are
 *       reused. {@code status} is the costliest text file the kernel renders (≈10 µs), and a uid
 *       change without {@code execve} (a daemon dropping privileges) is rare and usually happens
 *       right after start; a non-managed process that changes uid later shows the old uid for at
 *       most one detail interval, or for a quiet process (below) at most
 *       {@value #QUIET_DETAIL_INTERVALS} intervals. The cheaper-looking alternative, the owner of the
 *       {@code /proc/PID} directory, is wrong exactly then: a process that changes credentials
 *       becomes non-dumpable and its {@code /proc} entries are re-owned by root.</li>
 *   <li>On the detail cadence (default 30 s) and on every scan for identities that
 *       {@link #setDetailEveryScan} selects (managed services): {@code smaps_rollup}. The first
 *       repeat of each identity is staggered over the second half of the interval, so that 1,000
 *       processes cost about 1/N of the {@code smaps_rollup} work per scan instead of a spike
 *       every 30 s.</li>
 *   <li><b>Quiet processes</b>: from the third detail read of an identity on (the first and
 *       the staggered first repeat always happen, because a daemon drops privileges, rewrites
 *       its title and settles its memory right after start), an unmanaged identity whose
 *       {@code stat} shows no CPU tick, no page fault (minor or major) and no change of RSS or
 *       virtual size since its last detail read skips that read: its {@code smaps_rollup},
 *       {@code status}, {@code cmdline}, {@code exe} and {@code cgroup} are kept, and looked at
 *       again one interval later. Memory a process gains, loses, swaps in or maps goes through
 *       a fault or changes RSS or size, and swap-out lowers RSS, so its own memory cannot change
 *       unseen; what can is bounded by reading it anyway after {@value #QUIET_DETAIL_INTERVALS}
 *       intervals (5 min by default): PSS and the private/shared split moving because
 *       <i>other</i> processes map, fork or exit, a cgroup move made by another process, an
 *       executable replaced on disk ({@code exe} gains " (deleted)"), and a uid change or title
 *       rewrite by a process that ran for less than one clock tick without faulting. On a
 *       host of idle daemons this removes most of the detail work; {@link MemoryDetail} keeps
 *       the time its figures were read, so a consumer sees their age.</li>
 * </ul>
 *
 * <h2>Socket owners: the incremental fd walk</h2>
 * Mapping a socket inode to its holders means reading every {@code /proc/PID/fd/*} link (about
 * 4 µs each; 5,000 fds for 1,000 processes is 20 ms), so the steady state avoids it. Only
 * listening TCP and unconnected bound UDP inodes are of interest. The scanner remembers, per
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
 * <p>UDP sockets count as bound when their local port is not 0 and they are unconnected
 * (state 07), which is what {@code ss -lu} lists; connected UDP sockets (DNS lookups) churn
 * too fast to be worth an owner search and are not services.
 *
 * <h2>Costs and failure handling</h2>
 * Files are read into one reused buffer and parsed as bytes; directory listings use
 * {@link File#list()} (strings, no {@link Path} per entry). A process that vanishes mid-read
 * is skipped and counted in {@link ScanStats#vanished()}; malformed input is skipped and
 * counted in {@link ScanStats#malformed()}; permission-denied on fds or {@code smaps_rollup}
 * is skipped quietly. {@link #scan()} never throws.
 *
 * <p>Netlink {@code sock_diag} (what {@code ss} uses) would replace the {@code /proc/net}
 * reads, but Java 17 has no {@code AF_NETLINK} sockets and its foreign-function API is an
 * incubator module, so it is not reachable without a native build.
 */
public final class ProcScanner implements AutoCloseable {

    /** Default interval between {@code smaps_rollup} and identity-fact reads per process. */
    public static final Duration DEFAULT_DETAIL_INTERVAL = Duration.ofSeconds(30);
    /** Default interval between backstop full fd walks. */
    public static final Duration DEFAULT_FULL_WALK_INTERVAL = Duration.ofMinutes(5);

    /** Clock ticks per second when {@code /proc/self/auxv} does not say (USER_HZ on x86/arm). */
    static final int DEFAULT_CLOCK_TICKS = 100;
    static final int DEFAULT_PAGE_SIZE = 4096;

    private static final long AT_PAGESZ = 6;
    private static final long AT_CLKTCK = 17;
    private static final int TCP_LISTEN = 0x0A;
    private static final int UDP_UNCONNECTED = 0x07;
    /** A quiet identity's details are read at least every this many detail intervals. */
    static final int QUIET_DETAIL_INTERVALS = 10;
    /** Most {@code /proc/PID/stat} files held open, whatever the descriptor limit. */
    static final int MAX_HELD_FILES = 16_384;

    private final Path procRoot;
    private final String root;
    private final InstantSource clock;
    private final long detailIntervalMillis;
    private final long fullWalkIntervalMillis;
    private final long quietDetailMillis;
    private final ProcReader reader;
    private final UserNames users;
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private Predicate<ProcessId> detailEveryScan = id -> false;
    /** How many {@code stat} files may be held open; 0 where the root is not procfs. */
    private int maxHeldFiles;
    private int heldFiles;

    private HostInfo hostInfo;
    private int clockTicks = DEFAULT_CLOCK_TICKS;
    private long pageSize = DEFAULT_PAGE_SIZE;

    /** Identity state by PID; an entry is replaced when the PID is reused. */
    private final Map<Integer, Tracked> tracked = new HashMap<>();
    /** Owners of each listening/bound inode, as far as the last scans established. */
    private final Map<Long, List<Owner>> ownersByInode = new HashMap<>();
    /** Inodes that a full walk could not attribute. */
    private final Set<Long> unresolved = new HashSet<>();
    private Map<Long, SocketSample> lastSockets = Map.of();
    private long lastScanMillis = Long.MIN_VALUE;
    private long lastFullWalkMillis = Long.MIN_VALUE;
    private long scanNumber;
    private long fullWalks;
    private long fdLinksRead;

    // Per-scan counters and parse cursor; fields because the scanner is single-threaded.
    private int vanished;
    private int malformed;
    private int pos;
    private boolean parseFailed;

    /**
     * Creates a scanner over {@code procRoot} (normally {@code /proc}; a fixture tree in tests)
     * resolving user names from {@code passwdFile}.
     */
    public ProcScanner(Path procRoot, Path passwdFile, InstantSource clock, Duration detailInterval,
                       Duration fullWalkInterval) {
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
        this.clock = Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(passwdFile, "passwdFile");
        if (detailInterval.isNegative() || detailInterval.isZero()) {
            throw new IllegalArgumentException("detailInterval: " + detailInterval + " (expected: > 0)");
        }
        if (fullWalkInterval.isNegative() || fullWalkInterval.isZero()) {
            throw new IllegalArgumentException(
                    "fullWalkInterval: " + fullWalkInterval + " (expected: > 0)");
        }
        this.detailIntervalMillis = detailInterval.toMillis();
        this.fullWalkIntervalMillis = fullWalkInterval.toMillis();
        this.quietDetailMillis = detailIntervalMillis * QUIET_DETAIL_INTERVALS;
        String r = procRoot.toString();
        this.root = r.endsWith("/") ? r.substring(0, r.length() - 1) : r;
        this.reader = new ProcReader(procRoot.getFileSystem());
        this.users = new UserNames(passwdFile);
        this.maxHeldFiles = isProcfs(procRoot) ? heldFileBudget() : 0;
    }

    private static boolean isProcfs(Path root) {
        try {
            return Files.getFileStore(root).type().equals("proc");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * A quarter of the descriptors still free when the scanner is made: the agent's sockets and
     * files keep the rest, also where one JVM runs several agents (tests).
     */
    private static int heldFileBudget() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            long free = unix.getMaxFileDescriptorCount() - unix.getOpenFileDescriptorCount();
            return (int) Math.max(0, Math.min(MAX_HELD_FILES, free / 4));
        }
        return 0;
    }

    /**
     * A scanner over {@code procRoot} resolving names from {@code /etc/passwd}, with the
     * default backstop interval for full fd walks.
     */
    public ProcScanner(Path procRoot, InstantSource clock, Duration detailInterval) {
        this(procRoot, Path.of("/etc/passwd"), clock, detailInterval, DEFAULT_FULL_WALK_INTERVAL);
    }

    /** A scanner over this host's {@code /proc} and {@code /etc/passwd} with default intervals. */
    public static ProcScanner forThisHost(InstantSource clock) {
        return new ProcScanner(Path.of("/proc"), Path.of("/etc/passwd"), clock,
                DEFAULT_DETAIL_INTERVAL, DEFAULT_FULL_WALK_INTERVAL);
    }

    /**
     * Selects the identities (managed service instances) whose {@code smaps_rollup} and
     * identity facts are read on every scan instead of on the detail cadence. Called on the
     * scan thread; the predicate must be cheap.
     */
    public void setDetailEveryScan(Predicate<ProcessId> managed) {
        this.detailEveryScan = Objects.requireNonNull(managed, "managed");
    }

    /** Host facts, read once on first use. */
    public HostInfo hostInfo() {
        if (hostInfo == null) {
            hostInfo = readHostInfo();
        }
        return hostInfo;
    }

    /** Reads the whole tree once. Never throws; see the class documentation for costs. */
    public HostScan scan() {
        long cpuStart = threadCpuNanos();
        Instant start = clock.instant();
        long now = start.toEpochMilli();
        vanished = 0;
        malformed = 0;
        scanNumber++;
        HostInfo info = hostInfo();
        long elapsedMillis = lastScanMillis == Long.MIN_VALUE ? 0 : now - lastScanMillis;

        Map<ProcessId, ProcessSample> processes = scanProcesses(info, now, elapsedMillis);
        Map<Long, SocketSample> sockets = scanSockets(now);
        lastScanMillis = now;

        HostSample partial = readHost(now, processes.size(), info.cpuCount(), null);
        long cpuMicros = (threadCpuNanos() - cpuStart) / 1000;
        long durationMicros = Math.max(0, Duration.between(start, clock.instant()).toNanos() / 1000);
        ScanStats stats = new ScanStats(vanished, malformed, durationMicros, cpuMicros);
        HostSample host = withStats(partial, stats);
        return new HostScan(now, host, processes, sockets);
    }

    private long threadCpuNanos() {
        return threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : 0;
    }

    // ---------------------------------------------------------------------------- processes

    /** Per-identity state carried from scan to scan. */
    private static final class Tracked {
        final ProcessId id;
        ProcessSample sample;
        /** This identity's {@code /proc/PID/stat}, held open; null if not held. */
        RandomAccessFile stat;
        long nextDetailAt = Long.MIN_VALUE;
        /** Detail reads so far, and what {@code stat} showed at the last one (quiet check). */
        int detailReads;
        long lastDetailAt;
        long ticksAtDetail;
        long faultsAtDetail;
        long rssPagesAtDetail;
        long vsizeAtDetail;
        long seenInScan;
        boolean isNew = true;
        boolean walkFds = true;
        boolean ownsSockets;
        long walkedInScan;

        Tracked(ProcessId id) {
            this.id = id;
        }
    }

    private Map<ProcessId, ProcessSample> scanProcesses(HostInfo info, long now, long elapsedMillis) {
        String[] names = new File(root).list();
        Map<ProcessId, ProcessSample> out = new HashMap<>(names == null ? 16 : names.length * 2);
        if (names != null) {
            for (String name : names) {
                int pid = parsePid(name);
                if (pid <= 0) {
                    continue;
                }
                try {
                    ProcessSample s = scanProcess(pid, info, now, elapsedMillis);
                    if (s != null) {
                        out.put(s.id(), s);
                    }
                } catch (RuntimeException e) {
                    // A parse we did not foresee: skip this process, keep scanning.
                    malformed++;
                    Tracked t = tracked.remove(pid);
                    if (t != null) {
                        release(t);
                    }
                }
            }
        }
        for (Iterator<Tracked> it = tracked.values().iterator(); it.hasNext(); ) {
            Tracked t = it.next();
            if (t.seenInScan != scanNumber) {
                release(t);
                it.remove();
            }
        }
        return out;
    }

    /** Closes the {@code stat} file {@code t} holds, if any. */
    private void release(Tracked t) {
        if (t.stat != null) {
            ProcReader.closeQuietly(t.stat);
            t.stat = null;
            heldFiles--;
        }
    }

    /**
     * Reads {@code /proc/PID/stat} into the reader's buffer: through the file {@code t} holds if
     * it has one, else by name, keeping the file open in {@link #opened} if the budget allows.
     * Returns its length, or a value <= 0 if the process is gone.
     */
    private int readStat(int pid, Tracked t) {
        if (t != null && t.stat != null) {
            int n = reader.readAgain(t.stat);
            if (n > 0) {
                return n;
            }
            // Reaped (ESRCH): the number may already name another process, so open it afresh.
            release(t);
        }
        StringBuilder p = reader.path().append(root).append('/').append(pid).append("/stat");
        if (heldFiles < maxHeldFiles) {
            RandomAccessFile f = reader.open(p);
            if (f != null) {
                int n = reader.readFirst(f);
                if (n > 0) {
                    opened = f;
                    return n;
                }
                ProcReader.closeQuietly(f);
            }
            // Gone, an empty read (a task being reaped), a stat too big for one read, or no
            // descriptor to spare: read it by name as if nothing were held.
            p = reader.path().append(root).append('/').append(pid).append("/stat");
        }
        return reader.readSmall(p);
    }

    // Fields of /proc/PID/stat after "pid (comm) state", counted from 0 (proc(5) numbers + 4).
    private static final int STAT_PPID = 0;
    private static final int STAT_PGRP = 1;
    private static final int STAT_SESSION = 2;
    private static final int STAT_MINFLT = 6;
    private static final int STAT_MAJFLT = 8;
    private static final int STAT_UTIME = 10;
    private static final int STAT_STIME = 11;
    private static final int STAT_THREADS = 16;
    private static final int STAT_START = 18;
    private static final int STAT_VSIZE = 19;
    private static final int STAT_RSS = 20;
    private final long[] statFields = new long[STAT_RSS + 1];

    /** A {@code stat} file {@link #readStat} opened and that no {@link Tracked} holds yet. */
    private RandomAccessFile opened;

    private static int parsePid(String name) {
        int n = name.length();
        if (n == 0 || n > 9) {
            return -1;
        }
        int v = 0;
        for (int i = 0; i < n; i++) {
            char c = name.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    private ProcessSample scanProcess(int pid, HostInfo info, long now, long elapsedMillis) {
        try {
            return scanProcess(pid, tracked.get(pid), info, now, elapsedMillis);
        } finally {
            if (opened != null) {
                // Not adopted by an identity: malformed, gone, or a failure.
                ProcReader.closeQuietly(opened);
                opened = null;
            }
        }
    }

    private ProcessSample scanProcess(int pid, Tracked known, HostInfo info, long now,
                                      long elapsedMillis) {
        int n = readStat(pid, known);
        if (n <= 0) {
            // Gone (ENOENT, ESRCH) or an empty read of a task being reaped.
            vanished++;
            return null;
        }
        byte[] b = reader.buf();
        int open = ProcFormat.indexOf(b, 0, n, (byte) '(');
        int close = ProcFormat.lastIndexOf(b, 0, n, (byte) ')');
        if (open < 0 || close < open || close + 2 >= n) {
            malformed++;
            return null;
        }
        char stateLetter = (char) b[close + 2];
        int from = close + 3 < n && b[close + 3] == ' ' ? close + 4 : close + 3;
        long[] f = statFields;
        if (!ProcFormat.parseFields(b, from, n, f) || f[STAT_START] < 0) {
            malformed++;
            return null;
        }
        int ppid = (int) f[STAT_PPID];
        int pgrp = (int) f[STAT_PGRP];
        int session = (int) f[STAT_SESSION];
        long minflt = f[STAT_MINFLT];
        long majflt = f[STAT_MAJFLT];
        long utime = f[STAT_UTIME];
        long stime = f[STAT_STIME];
        int numThreads = (int) f[STAT_THREADS];
        long startTicks = f[STAT_START];
        long vsize = f[STAT_VSIZE];
        long rssPages = f[STAT_RSS];

        Tracked t = known;
        if (t == null || t.id.startTicks() != startTicks) {
            if (t != null) {
                release(t);
            }
            t = new Tracked(new ProcessId(pid, startTicks));
            tracked.put(pid, t);
        } else {
            t.isNew = false;
        }
        if (opened != null) {
            t.stat = opened;
            opened = null;
            heldFiles++;
        }
        ProcessSample prev = t.sample;
        String comm = prev != null && ProcFormat.asciiEquals(prev.comm(), b, open + 1, close)
                ? prev.comm()
                : new String(b, open + 1, close - open - 1, StandardCharsets.UTF_8);
        boolean execed = prev != null && !comm.equals(prev.comm());
        boolean managed = detailEveryScan.test(t.id);
        boolean detailDue = managed || now >= t.nextDetailAt;
        if (detailDue && !managed && !execed && t.detailReads >= 2
                && now - t.lastDetailAt < quietDetailMillis
                && t.ticksAtDetail == utime + stime && t.faultsAtDetail == minflt + majflt
                && t.rssPagesAtDetail == rssPages && t.vsizeAtDetail == vsize) {
            // Quiet since its last detail read: nothing of its own can have changed.
            detailDue = false;
            t.nextDetailAt = now + detailIntervalMillis;
        }

        int uid;
        int euid;
        List<String> cmdline;
        String exe;
        String cgroup;
        if (prev == null || execed || detailDue) {
            long ids = readUids(pid);
            if (ids == Long.MIN_VALUE) {
                vanished++;
                return null;
            }
            uid = (int) (ids >> 32);
            euid = (int) ids;
            cmdline = readCmdline(pid, prev == null ? null : prev.cmdline());
            if (cmdline == null) {
                vanished++;
                return null;
            }
            exe = readExe(pid, prev == null ? null : prev.exe());
            cgroup = readCgroup(pid, prev == null ? null : prev.cgroup());
            if (cgroup == null) {
                vanished++;
                return null;
            }
        } else {
            uid = prev.uid();
            euid = prev.euid();
            cmdline = prev.cmdline();
            exe = prev.exe();
            cgroup = prev.cgroup();
        }

        MemoryDetail memory = prev == null ? null : prev.memory();
        if (detailDue) {
            MemoryDetail fresh = readSmapsRollup(pid, now);
            if (fresh != null) {
                memory = memory != null && sameMemory(memory, fresh) ? memory : fresh;
            }
            // Stagger the first repeat over the second half of the interval; see class doc.
            long half = Math.max(1, detailIntervalMillis / 2);
            t.nextDetailAt = t.nextDetailAt == Long.MIN_VALUE
                    ? now + half + Math.floorMod(pid * 2654435761L, half)
                    : now + detailIntervalMillis;
            t.detailReads++;
            t.lastDetailAt = now;
            t.ticksAtDetail = utime + stime;
            t.faultsAtDetail = minflt + majflt;
            t.rssPagesAtDetail = rssPages;
            t.vsizeAtDetail = vsize;
        }

        int hz = info.clockTicksPerSecond();
        long cpuUserMillis = utime * 1000 / hz;
        long cpuSystemMillis = stime * 1000 / hz;
        float cpuPercent = 0f;
        if (prev != null && elapsedMillis > 0) {
            long deltaMillis = (cpuUserMillis + cpuSystemMillis)
                    - (prev.cpuUserMillis() + prev.cpuSystemMillis());
            cpuPercent = deltaMillis <= 0 ? 0f : (float) (deltaMillis * 100.0 / elapsedMillis);
        }
        ProcState state = ProcState.fromLetter(stateLetter);
        long rssBytes = rssPages * pageSize;
        t.seenInScan = scanNumber;

        if (prev != null && prev.ppid() == ppid && prev.pgid() == pgrp && prev.sid() == session
                && prev.uid() == uid && prev.euid() == euid && prev.state() == state
                && prev.comm() == comm && prev.cmdline() == cmdline && Objects.equals(prev.exe(), exe)
                && prev.cgroup() == cgroup && prev.threads() == numThreads
                && prev.rssBytes() == rssBytes && prev.vsizeBytes() == vsize && prev.memory() == memory
                && prev.cpuUserMillis() == cpuUserMillis && prev.cpuSystemMillis() == cpuSystemMillis
                && Float.compare(prev.cpuPercent(), cpuPercent) == 0) {
            // Nothing changed (most sleeping processes): keep the old object, allocate nothing.
            return prev;
        }
        String user = prev != null && prev.uid() == uid ? prev.user() : users.nameOf(uid);
        long startMillis = info.bootTimeMillis() + startTicks * 1000 / hz;
        ProcessSample s = new ProcessSample(t.id, ppid, pgrp, session, uid, euid, user, state,
                startMillis, comm, cmdline, exe, numThreads, rssBytes, vsize, memory,
                cpuUserMillis, cpuSystemMillis, cpuPercent, cgroup);
        t.sample = s;
        return s;
    }

    private static boolean sameMemory(MemoryDetail a, MemoryDetail b) {
        return a.pssBytes() == b.pssBytes() && a.privateBytes() == b.privateBytes()
                && a.anonymousBytes() == b.anonymousBytes() && a.swapBytes() == b.swapBytes();
    }

    /** Skips blanks, parses a signed decimal; sets {@link #parseFailed} if there is none. */
    private long nextLong(byte[] b, int end) {
        int i = pos;
        while (i < end && (b[i] == ' ' || b[i] == '\t')) {
            i++;
        }
        boolean negative = i < end && b[i] == '-';
        if (negative) {
            i++;
        }
        int digitsStart = i;
        long v = 0;
        while (i < end && b[i] >= '0' && b[i] <= '9') {
            v = v * 10 + (b[i] - '0');
            i++;
        }
        if (i == digitsStart) {
            parseFailed = true;
        }
        pos = i;
        return negative ? -v : v;
    }

    /** Real and effective uid packed as {@code real << 32 | effective}; MIN_VALUE if gone. */
    private long readUids(int pid) {
        int n = reader.read(reader.path().append(root).append('/').append(pid).append("/status"));
        if (n == ProcReader.GONE) {
            return Long.MIN_VALUE;
        }
        if (n < 0) {
            return -1L; // not readable (hidepid): uid unknown, but the process is there
        }
        byte[] b = reader.buf();
        for (int line = 0; line < n; ) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (ProcFormat.startsWith(b, line, end, "Uid:")) {
                pos = line + 4;
                parseFailed = false;
                long real = nextLong(b, end);
                long effective = nextLong(b, end);
                if (!parseFailed) {
                    return (real << 32) | (effective & 0xffffffffL);
                }
                break;
            }
            line = end + 1;
        }
        malformed++;
        return -1L; // uid -1 / euid -1: unknown, but the process is there
    }

    /** The argument vector, or null if the process vanished; reuses {@code prev} if equal. */
    private List<String> readCmdline(int pid, List<String> prev) {
        int n = reader.read(reader.path().append(root).append('/').append(pid).append("/cmdline"));
        if (n == ProcReader.GONE) {
            return null;
        }
        if (n <= 0) {
            return prev != null && prev.isEmpty() ? prev : List.of();
        }
        byte[] b = reader.buf();
        int end = b[n - 1] == 0 ? n - 1 : n; // a trailing NUL ends the last argument
        if (prev != null && sameArgs(prev, b, end)) {
            return prev;
        }
        List<String> args = new ArrayList<>();
        int from = 0;
        while (from <= end) {
            int nul = ProcFormat.indexOf(b, from, end, (byte) 0);
            int to = nul < 0 ? end : nul;
            args.add(new String(b, from, to - from, StandardCharsets.UTF_8));
            from = to + 1;
        }
        return List.copyOf(args);
    }

    private static boolean sameArgs(List<String> prev, byte[] b, int end) {
        int from = 0;
        for (String arg : prev) {
            if (from > end) {
                return false;
            }
            int nul = ProcFormat.indexOf(b, from, end, (byte) 0);
            int to = nul < 0 ? end : nul;
            if (!ProcFormat.asciiEquals(arg, b, from, to)) {
                return false;
            }
            from = to + 1;
        }
        return from > end && !prev.isEmpty();
    }

    /** The executable path, "" when unreadable (kernel threads, other users' processes). */
    private String readExe(int pid, String prev) {
        try {
            String exe = Files.readSymbolicLink(
                    reader.toPath(reader.path().append(root).append('/').append(pid).append("/exe")))
                    .toString();
            return exe.equals(prev) ? prev : exe;
        } catch (IOException | UnsupportedOperationException e) {
            return "";
        }
    }

    /**
     * The cgroup path that names the service: the unified ({@code 0::}) path, or on a hybrid
     * hierarchy whose unified path is just "/", the {@code name=systemd} path. "" if unknown;
     * null if the process vanished.
     */
    private String readCgroup(int pid, String prev) {
        int n = reader.read(reader.path().append(root).append('/').append(pid).append("/cgroup"));
        if (n == ProcReader.GONE) {
            return null;
        }
        if (n <= 0) {
            return "";
        }
        byte[] b = reader.buf();
        int unifiedFrom = -1;
        int unifiedTo = -1;
        int systemdFrom = -1;
        int systemdTo = -1;
        for (int line = 0; line < n; ) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (ProcFormat.startsWith(b, line, end, "0::")) {
                unifiedFrom = line + 3;
                unifiedTo = end;
            } else {
                int c1 = ProcFormat.indexOf(b, line, end, (byte) ':');
                if (c1 >= 0 && ProcFormat.startsWith(b, c1 + 1, end, "name=systemd:")) {
                    systemdFrom = c1 + 1 + "name=systemd:".length();
                    systemdTo = end;
                }
            }
            line = end + 1;
        }
        int from;
        int to;
        boolean unifiedIsRoot = unifiedFrom >= 0 && unifiedTo - unifiedFrom == 1 && b[unifiedFrom] == '/';
        if (unifiedFrom >= 0 && !(unifiedIsRoot && systemdFrom >= 0)) {
            from = unifiedFrom;
            to = unifiedTo;
        } else if (systemdFrom >= 0) {
            from = systemdFrom;
            to = systemdTo;
        } else {
            return "";
        }
        if (prev != null && ProcFormat.asciiEquals(prev, b, from, to)) {
            return prev;
        }
        return new String(b, from, to - from, StandardCharsets.UTF_8);
    }

    /** {@code smaps_rollup} figures, or null when unreadable (permission, kernel thread, gone). */
    private MemoryDetail readSmapsRollup(int pid, long now) {
        int n = reader.read(reader.path().append(root).append('/').append(pid).append("/smaps_rollup"));
        if (n <= 0) {
            return null;
        }
        byte[] b = reader.buf();
        long pss = -1;
        long privateKb = 0;
        long anon = 0;
        long swap = 0;
        for (int line = 0; line < n; ) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (ProcFormat.startsWith(b, line, end, "Pss:")) {
                pss = kbField(b, line + 4, end);
            } else if (ProcFormat.startsWith(b, line, end, "Private_Clean:")) {
                privateKb += kbField(b, line + 14, end);
            } else if (ProcFormat.startsWith(b, line, end, "Private_Dirty:")) {
                privateKb += kbField(b, line + 14, end);
            } else if (ProcFormat.startsWith(b, line, end, "Anonymous:")) {
                anon = kbField(b, line + 10, end);
            } else if (ProcFormat.startsWith(b, line, end, "Swap:")) {
                swap = kbField(b, line + 5, end);
            }
            line = end + 1;
        }
        if (pss < 0) {
            // A kernel thread's rollup is empty: no user memory to report.
            return null;
        }
        return new MemoryDetail(pss * 1024, privateKb * 1024, anon * 1024, swap * 1024, now);
    }

    private long kbField(byte[] b, int from, int end) {
        pos = from;
        parseFailed = false;
        long v = nextLong(b, end);
        if (parseFailed) {
            malformed++;
            return 0;
        }
        return v;
    }

    // ------------------------------------------------------------------------------ sockets

    /** One process holding an inode, and one fd number on which it was found. */
    private record Owner(ProcessId id, int fd) {
    }

    /** A table row of interest, before its owners are known. */
    private record Row(SocketProtocol protocol, String address, int port, long inode, int uid) {
    }

    private Map<Long, SocketSample> scanSockets(long now) {
        Map<Long, Row> rows = new HashMap<>();
        for (SocketProtocol p : SocketProtocol.values()) {
            readTable(p, rows);
        }
        Set<Long> live = rows.keySet();
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
            fresh.removeAll(lastSockets.keySet());
            for (Tracked t : tracked.values()) {
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
            for (Tracked t : tracked.values()) {
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

        Map<Long, SocketSample> out = new HashMap<>(rows.size() * 2);
        for (Row r : rows.values()) {
            List<Owner> owners = ownersByInode.getOrDefault(r.inode(), List.of());
            List<ProcessId> ids = new ArrayList<>(owners.size());
            for (Owner o : owners) {
                ids.add(o.id());
            }
            Collections.sort(ids);
            SocketSample prev = lastSockets.get(r.inode());
            SocketSample s = prev != null && prev.protocol() == r.protocol() && prev.port() == r.port()
                    && prev.uid() == r.uid() && prev.address().equals(r.address())
                    && prev.owners().equals(ids)
                    ? prev
                    : new SocketSample(r.protocol(), r.address(), r.port(), r.inode(), r.uid(), ids);
            out.put(r.inode(), s);
        }
        lastSockets = out;
        return out;
    }

    private void verifyKnownOwners() {
        for (Iterator<Map.Entry<Long, List<Owner>>> it = ownersByInode.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, List<Owner>> e = it.next();
            long inode = e.getKey();
            e.getValue().removeIf(o -> {
                Tracked t = tracked.get(o.id().pid());
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
        for (Long inode : fresh) {
            List<Owner> owners = ownersByInode.get(inode);
            if (owners == null) {
                continue;
            }
            for (Owner o : List.copyOf(owners)) {
                Tracked t = tracked.get(o.id().pid());
                int hops = 0;
                while (t != null && t.isNew && t.sample != null && hops++ < 64) {
                    t = tracked.get(t.sample.ppid());
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
            int fd = parsePid(fdName);
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

    private void readTable(SocketProtocol protocol, Map<Long, Row> rows) {
        int n = reader.readTable(reader.path().append(root).append("/net/").append(protocol.procFile()));
        if (n <= 0) {
            return; // no such table (no IPv6, or a fixture without it)
        }
        byte[] b = reader.buf();
        int line = ProcFormat.indexOf(b, 0, n, (byte) '\n') + 1; // skip the header
        if (line == 0) {
            return;
        }
        while (line < n) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (end > line && !parseRow(protocol, b, line, end, rows)) {
                malformed++;
            }
            line = end + 1;
        }
    }

    /** Parses one table row; false if it is malformed. Rows not of interest return true. */
    private boolean parseRow(SocketProtocol protocol, byte[] b, int from, int end, Map<Long, Row> rows) {
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
        int[] tok = tokenBounds;
        int count = 0;
        int i = from;
        while (count < 10) {
            while (i < end && b[i] == ' ') {
                i++;
            }
            if (i >= end) {
                break;
            }
            int s = i;
            while (i < end && b[i] != ' ') {
                i++;
            }
            tok[2 * count] = s;
            tok[2 * count + 1] = i;
            count++;
        }
        if (count < 10) {
            return false;
        }
        int addrLen = protocol == SocketProtocol.TCP || protocol == SocketProtocol.UDP ? 8 : 32;
        int localFrom = tok[2];
        int localTo = tok[3];
        if (localTo - localFrom != addrLen + 5 || b[localFrom + addrLen] != ':') {
            return false;
        }
        long state = ProcFormat.parseHex(b, tok[6], tok[7] - tok[6]);
        long port = ProcFormat.parseHex(b, localFrom + addrLen + 1, 4);
        if (state < 0 || port < 0) {
            return false;
        }
        boolean interesting = protocol.isTcp() ? state == TCP_LISTEN : state == UDP_UNCONNECTED && port != 0;
        if (!interesting) {
            return true;
        }
        pos = tok[14];
        parseFailed = false;
        long uid = nextLong(b, tok[15]);
        pos = tok[18];
        long inode = nextLong(b, tok[19]);
        if (parseFailed || pos != tok[19]) {
            return false;
        }
        if (inode == 0) {
            return true; // an orphaned socket no process holds
        }
        SocketSample prev = lastSockets.get(inode);
        String address = prev != null && prev.protocol() == protocol && prev.port() == port
                ? prev.address()
                : ProcFormat.formatAddress(b, localFrom, addrLen);
        if (address == null) {
            return false;
        }
        rows.put(inode, new Row(protocol, address, (int) port, inode, (int) uid));
        return true;
    }

    private final int[] tokenBounds = new int[20];

    // --------------------------------------------------------------------------------- host

    private HostSample readHost(long now, int processCount, int cpuCount, ScanStats stats) {
        long memTotal = -1;
        long memAvailable = -1;
        long swapTotal = -1;
        long swapFree = -1;
        int n = reader.read(reader.path().append(root).append("/meminfo"));
        byte[] b = reader.buf();
        for (int line = 0; line < n; ) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (ProcFormat.startsWith(b, line, end, "MemTotal:")) {
                memTotal = kbField(b, line + 9, end) * 1024;
            } else if (ProcFormat.startsWith(b, line, end, "MemAvailable:")) {
                memAvailable = kbField(b, line + 13, end) * 1024;
            } else if (ProcFormat.startsWith(b, line, end, "SwapTotal:")) {
                swapTotal = kbField(b, line + 10, end) * 1024;
            } else if (ProcFormat.startsWith(b, line, end, "SwapFree:")) {
                swapFree = kbField(b, line + 9, end) * 1024;
            }
            line = end + 1;
        }

        double load1 = Double.NaN;
        double load5 = Double.NaN;
        double load15 = Double.NaN;
        n = reader.read(reader.path().append(root).append("/loadavg"));
        if (n > 0) {
            b = reader.buf();
            int s2 = ProcFormat.indexOf(b, 0, n, (byte) ' ') + 1;
            int s3 = s2 == 0 ? -1 : ProcFormat.indexOf(b, s2, n, (byte) ' ') + 1;
            load1 = ProcFormat.parseDecimal(b, 0, n);
            if (s3 > 0) {
                load5 = ProcFormat.parseDecimal(b, s2, n);
                load15 = ProcFormat.parseDecimal(b, s3, n);
            }
            if (Double.isNaN(load1) || Double.isNaN(load5) || Double.isNaN(load15)) {
                malformed++;
            }
        }

        MemoryPressure pressure = readPressure();

        long oomKills = -1;
        n = reader.read(reader.path().append(root).append("/vmstat"));
        b = reader.buf();
        for (int line = 0; line < n; ) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (ProcFormat.startsWith(b, line, end, "oom_kill ")) {
                oomKills = kbField(b, line + 9, end);
                break;
            }
            line = end + 1;
        }

        long uptimeMillis = -1;
        n = reader.read(reader.path().append(root).append("/uptime"));
        if (n > 0) {
            double up = ProcFormat.parseDecimal(reader.buf(), 0, n);
            if (Double.isNaN(up)) {
                malformed++;
            } else {
                uptimeMillis = Math.round(up * 1000);
            }
        }
        return new HostSample(now, memTotal, memAvailable, swapTotal, swapFree, load1, load5, load15,
                pressure, oomKills, uptimeMillis, processCount, cpuCount, stats);
    }

    private static HostSample withStats(HostSample h, ScanStats stats) {
        return new HostSample(h.sampledAtMillis(), h.memTotalBytes(), h.memAvailableBytes(),
                h.swapTotalBytes(), h.swapFreeBytes(), h.load1(), h.load5(), h.load15(),
                h.memoryPressure(), h.oomKills(), h.uptimeMillis(), h.processCount(), h.cpuCount(),
                stats);
    }

    /** {@code some avg10=0.00 avg60=0.00 avg300=0.00 total=0} and the {@code full} line. */
    private MemoryPressure readPressure() {
        int n = reader.read(reader.path().append(root).append("/pressure/memory"));
        if (n <= 0) {
            return null; // no PSI on this kernel
        }
        byte[] b = reader.buf();
        double[] some = null;
        double[] full = null;
        for (int line = 0; line < n; ) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (ProcFormat.startsWith(b, line, end, "some ")) {
                some = pressureLine(b, line, end);
            } else if (ProcFormat.startsWith(b, line, end, "full ")) {
                full = pressureLine(b, line, end);
            }
            line = end + 1;
        }
        if (some == null) {
            malformed++;
            return null;
        }
        if (full == null) {
            full = new double[4]; // a truncated file: report "full" as zero rather than nothing
        }
        return new MemoryPressure((float) some[0], (float) some[1], (float) some[2],
                (float) full[0], (float) full[1], (float) full[2], (long) some[3], (long) full[3]);
    }

    private double[] pressureLine(byte[] b, int from, int end) {
        double[] v = new double[4];
        String[] keys = {"avg10=", "avg60=", "avg300=", "total="};
        int i = from;
        for (int k = 0; k < 4; k++) {
            int at = -1;
            for (int j = i; j < end; j++) {
                if (ProcFormat.startsWith(b, j, end, keys[k])) {
                    at = j + keys[k].length();
                    break;
                }
            }
            if (at < 0) {
                malformed++;
                return null;
            }
            v[k] = ProcFormat.parseDecimal(b, at, end);
            i = at;
        }
        return v;
    }

    private HostInfo readHostInfo() {
        readAuxv();
        String hostname = readLine("/sys/kernel/hostname");
        String kernel = readLine("/sys/kernel/osrelease");
        String bootId = readLine("/sys/kernel/random/boot_id");
        long btime = -1;
        int cpus = 0;
        int n = reader.read(reader.path().append(root).append("/stat"));
        byte[] b = reader.buf();
        for (int line = 0; line < n; ) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (ProcFormat.startsWith(b, line, end, "btime ")) {
                btime = kbField(b, line + 6, end);
            } else if (ProcFormat.startsWith(b, line, end, "cpu") && line + 3 < end
                    && b[line + 3] >= '0' && b[line + 3] <= '9') {
                cpus++;
            }
            line = end + 1;
        }
        if (btime < 0) {
            malformed++;
            btime = 0;
        }
        if (cpus == 0) {
            cpus = Runtime.getRuntime().availableProcessors();
        }
        return new HostInfo(hostname, kernel, bootId, btime * 1000, clockTicks, cpus);
    }

    /**
     * Reads USER_HZ ({@code AT_CLKTCK}) and the page size ({@code AT_PAGESZ}) from the JVM's own
     * auxiliary vector, which the kernel fills with exactly the values it uses in
     * {@code /proc/PID/stat}; without it (a fixture tree) the defaults 100 and 4096 hold, which
     * is what every mainstream x86-64 and arm64 kernel uses.
     */
    private void readAuxv() {
        int n = reader.read(reader.path().append(root).append("/self/auxv"));
        if (n < 16) {
            return;
        }
        ByteBuffer bb = ByteBuffer.wrap(reader.buf(), 0, n).order(ByteOrder.nativeOrder());
        while (bb.remaining() >= 16) {
            long type = bb.getLong();
            long value = bb.getLong();
            if (type == AT_CLKTCK && value > 0 && value < 100_000) {
                clockTicks = (int) value;
            } else if (type == AT_PAGESZ && value > 0) {
                pageSize = value;
            } else if (type == 0) {
                break;
            }
        }
    }

    private String readLine(String relative) {
        int n = reader.read(reader.path().append(root).append(relative));
        if (n <= 0) {
            return "";
        }
        byte[] b = reader.buf();
        int eol = ProcFormat.indexOf(b, 0, n, (byte) '\n');
        return new String(b, 0, eol < 0 ? n : eol, StandardCharsets.UTF_8).trim();
    }

    /**
     * Closes the {@code stat} files this scanner holds open. Idempotent. A later {@link #scan()}
     * still works, opening every file by name and holding none.
     */
    @Override
    public void close() {
        maxHeldFiles = 0;
        for (Tracked t : tracked.values()) {
            release(t);
        }
    }

    /** {@code /proc/PID/stat} files held open now; for tests and benches. */
    public int heldFiles() {
        return heldFiles;
    }

    /** Full fd walks done so far (cold start, backstop, unknown inodes); for tests and benches. */
    public long fullWalks() {
        return fullWalks;
    }

    /** fd links read by walks so far (not counting verification); for tests and benches. */
    public long fdLinksRead() {
        return fdLinksRead;
    }

    /** The {@code /proc} root this scanner reads. */
    public Path procRoot() {
        return procRoot;
    }
}
