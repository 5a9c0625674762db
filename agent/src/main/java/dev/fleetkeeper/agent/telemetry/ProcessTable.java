package dev.fleetkeeper.agent.telemetry;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Lists the processes of a {@code /proc} tree and samples each into a {@link ProcessSample},
 * keeping per-identity state from scan to scan (CPU deltas, identity facts, the detail cadence,
 * held {@code stat} files). Not thread-safe; owned by one {@link ProcScanner}, which calls it on
 * its scan thread and closes it.
 *
 * <h2>What is read, and how often</h2>
 * <ul>
 *   <li>The {@code /proc} directory, to find the PIDs, only when a PID has been allocated
 *       since the last listing, or 10 s after it. The last PID the kernel handed out is the
 *       fifth field of {@code /proc/loadavg}, a 2 µs read; listing {@code /proc} costs
 *       about 1.4 ms for 1,100 processes (the kernel instantiates a dentry per entry) plus a
 *       string per entry. Every new process or thread takes a PID from that counter, so while
 *       it stands still the live processes are the last listing's minus those that exited,
 *       which the {@code stat} read below finds gone (ESRCH on a held file, ENOENT by name),
 *       and so every process is still sampled on every scan. The counter is that of the
 *       agent's PID namespace, so this is done only where the root is the procfs of that
 *       namespace ({@code self} names the agent). A PID chosen by its creator
 *       ({@code clone3} with {@code set_tid}, or {@code ns_last_pid}: what CRIU does to
 *       restore a process) does not move the counter; the 10 s re-listing bounds how late
 *       such a process is seen.</li>
 *   <li>Every scan, for every {@code /proc/PID}: {@code stat} (state, parents, CPU, memory,
 *       start time). It is the one file that must be read each time: about 5 µs to open, read
 *       and close, of which the open (a path walk and a {@code /proc} dentry revalidation per
 *       process) and the close are half. So on a real {@code procfs} the table keeps each
 *       process's {@code stat} open and reads it again from offset 0, which makes the kernel
 *       render it anew (about 2.5 µs). That is sound because a {@code /proc/PID} file is
 *       bound to the process's {@code struct pid}, not to the number: once the process is
 *       reaped, every read of the held file fails with {@code ESRCH}, even if the PID has been
 *       reused, and the table then closes it and opens the name afresh, which yields the new
 *       process and so a new identity (the start time in the file decides the identity either
 *       way). Held files are closed when their identity goes, and by {@link #close()}; at most
 *       a quarter of the descriptors free when the table is made (and at most
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
 * <p>A process that vanishes mid-read is skipped and counted in {@link ScanCounts#vanished};
 * malformed input is skipped and counted in {@link ScanCounts#malformed}; permission-denied on
 * {@code smaps_rollup} is skipped quietly. Unchanged processes (most sleeping ones) keep their
 * previous {@link ProcessSample} object, so a steady scan allocates almost nothing per process.
 */
final class ProcessTable {

    /** A quiet identity's details are read at least every this many detail intervals. */
    static final int QUIET_DETAIL_INTERVALS = 10;
    /** A listing of the root is reused for at most this long (see the class documentation). */
    static final long RELIST_MILLIS = 10_000;
    /** Most {@code /proc/PID/stat} files held open, whatever the descriptor limit. */
    static final int MAX_HELD_FILES = 16_384;

    private final String root;
    private final long detailIntervalMillis;
    private final long quietDetailMillis;
    private final ProcReader reader;
    private final UserNames users;
    private final ScanCounts counts;
    private final FieldCursor cursor;
    private Predicate<ProcessId> detailEveryScan = id -> false;
    /** How many {@code stat} files may be held open; 0 where the root is not procfs. */
    private int maxHeldFiles;
    private int heldFiles;

    /** Whether the root's last allocated PID can be read (procfs of our own PID namespace). */
    private final boolean pidCursorReadable;
    /** PIDs of the last listing, less those found gone since, in {@code listed[0, listedCount)}. */
    private int[] listed = new int[0];
    private int listedCount;
    private long listedAtCursor = -1;
    private long listedAtMillis;
    private long listings;

    /** Identity state by PID; an entry is replaced when the PID is reused. */
    private final Map<Integer, Tracked> tracked = new HashMap<>();
    private long scanNumber;
    /** A process appeared or went away (exited, or its PID reused) in the last scan. */
    private boolean membershipChanged;

    /**
     * A table over {@code procRoot}, whose path without a trailing slash is {@code root},
     * reading through the shared {@code reader} and counting failures into {@code counts}.
     */
    ProcessTable(Path procRoot, String root, ProcReader reader, UserNames users, ScanCounts counts,
                 FieldCursor cursor, long detailIntervalMillis) {
        this.root = root;
        this.reader = reader;
        this.users = users;
        this.counts = counts;
        this.cursor = cursor;
        this.detailIntervalMillis = detailIntervalMillis;
        this.quietDetailMillis = detailIntervalMillis * QUIET_DETAIL_INTERVALS;
        boolean procfs = isProcfs(procRoot);
        this.maxHeldFiles = procfs ? heldFileBudget() : 0;
        this.pidCursorReadable = procfs && namesThisProcess(procRoot.resolve("self"));
    }

    private static boolean namesThisProcess(Path self) {
        try {
            return Files.readSymbolicLink(self).toString().equals(Long.toString(ProcessHandle.current().pid()));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static boolean isProcfs(Path root) {
        try {
            return Files.getFileStore(root).type().equals("proc");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * A quarter of the descriptors still free when the table is made: the agent's sockets and
     * files keep the rest, also where one JVM runs several agents (tests).
     */
    private static int heldFileBudget() {
        long free = SelfProc.freeFileDescriptors();
        return free < 0 ? 0 : (int) Math.min(MAX_HELD_FILES, free / 4);
    }

    /** See {@link ProcScanner#setDetailEveryScan}. */
    void setDetailEveryScan(Predicate<ProcessId> managed) {
        this.detailEveryScan = Objects.requireNonNull(managed, "managed");
    }

    /** Whether a process appeared or went away (exit, PID reuse) during the last scan. */
    boolean membershipChanged() {
        return membershipChanged;
    }

    /** The number of the scan in progress (or last done); starts at 1 with the first scan. */
    long scanNumber() {
        return scanNumber;
    }

    /** Identity state of the process now numbered {@code pid}, or null. */
    Tracked byPid(int pid) {
        return tracked.get(pid);
    }

    /** Every identity seen by the last scan (and, during a scan, those seen so far). */
    Collection<Tracked> all() {
        return tracked.values();
    }

    /** Listings of the root done so far; for tests and benches. */
    long listings() {
        return listings;
    }

    /** {@code /proc/PID/stat} files held open now. */
    int heldFiles() {
        return heldFiles;
    }

    /**
     * Closes the {@code stat} files this table holds open. Idempotent. A later {@link #scan}
     * still works, opening every file by name and holding none.
     */
    void close() {
        maxHeldFiles = 0;
        for (Tracked t : tracked.values()) {
            release(t);
        }
    }

    /**
     * Per-identity state carried from scan to scan. {@code walkFds}, {@code ownsSockets} and
     * {@code walkedInScan} belong to {@link SocketOwners}, kept here so that the fd walk needs no
     * second map by identity.
     */
    static final class Tracked {
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

    /**
     * Samples every process under the root, forgetting identities that are gone. {@code pageSize}
     * converts RSS pages to bytes; {@code elapsedMillis} since the last scan (0 on the first)
     * gives CPU percentages.
     */
    Map<ProcessId, ProcessSample> scan(HostInfo info, long pageSize, long now, long elapsedMillis) {
        scanNumber++;
        membershipChanged = false;
        long cursor = pidCursorReadable ? readPidCursor() : -1;
        boolean reuse = cursor >= 0 && cursor == listedAtCursor && now - listedAtMillis < RELIST_MILLIS
                && now >= listedAtMillis;
        if (!reuse) {
            list();
            listedAtCursor = cursor;
            listedAtMillis = now;
        }
        Map<ProcessId, ProcessSample> out = new HashMap<>(Math.max(16, listedCount * 2));
        int kept = 0;
        for (int i = 0; i < listedCount; i++) {
            int pid = listed[i];
            int vanishedBefore = counts.vanished;
            try {
                ProcessSample s = scanProcess(pid, info, pageSize, now, elapsedMillis);
                if (s != null) {
                    out.put(s.id(), s);
                } else if (counts.vanished != vanishedBefore) {
                    if (reuse) {
                        // Exited since the listing this scan reuses: gone, not gone mid-read.
                        counts.vanished = vanishedBefore;
                    }
                    continue; // not listed again until the next listing finds it
                }
            } catch (RuntimeException e) {
                // A parse we did not foresee: skip this process, keep scanning.
                counts.malformed++;
                Tracked t = tracked.remove(pid);
                if (t != null) {
                    release(t);
                }
            }
            listed[kept++] = pid;
        }
        listedCount = kept;
        for (Iterator<Tracked> it = tracked.values().iterator(); it.hasNext(); ) {
            Tracked t = it.next();
            if (t.seenInScan != scanNumber) {
                release(t);
                it.remove();
            }
        }
        return out;
    }

    /** Lists the root's PIDs into {@link #listed}. */
    private void list() {
        listings++;
        String[] names = new File(root).list();
        listedCount = 0;
        if (names == null) {
            return;
        }
        if (listed.length < names.length) {
            listed = new int[names.length + names.length / 4];
        }
        for (String name : names) {
            int pid = parsePid(name);
            if (pid > 0) {
                listed[listedCount++] = pid;
            }
        }
    }

    /** The last PID allocated in this namespace: the fifth field of {@code loadavg}; -1 if unknown. */
    private long readPidCursor() {
        int n = reader.read(reader.path().append(root).append("/loadavg"));
        if (n <= 0) {
            return -1;
        }
        byte[] b = reader.buf();
        int end = n;
        while (end > 0 && (b[end - 1] == '\n' || b[end - 1] == ' ')) {
            end--;
        }
        int from = ProcFormat.lastIndexOf(b, 0, end, (byte) ' ') + 1;
        if (from == 0 || from == end) {
            return -1;
        }
        long v = 0;
        for (int i = from; i < end; i++) {
            if (b[i] < '0' || b[i] > '9') {
                return -1;
            }
            v = v * 10 + (b[i] - '0');
        }
        return v;
    }

    /** Closes the {@code stat} file {@code t} holds, if any. */
    private void release(Tracked t) {
        membershipChanged = true;
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

    /** A PID (or fd number) directory name as a number, or -1 if it is not one. */
    static int parsePid(String name) {
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

    private ProcessSample scanProcess(int pid, HostInfo info, long pageSize, long now,
                                      long elapsedMillis) {
        try {
            return scanProcess(pid, tracked.get(pid), info, pageSize, now, elapsedMillis);
        } finally {
            if (opened != null) {
                // Not adopted by an identity: malformed, gone, or a failure.
                ProcReader.closeQuietly(opened);
                opened = null;
            }
        }
    }

    private ProcessSample scanProcess(int pid, Tracked known, HostInfo info, long pageSize, long now,
                                      long elapsedMillis) {
        int n = readStat(pid, known);
        if (n <= 0) {
            // Gone (ENOENT, ESRCH) or an empty read of a task being reaped.
            counts.vanished++;
            return null;
        }
        byte[] b = reader.buf();
        int open = ProcFormat.indexOf(b, 0, n, (byte) '(');
        int close = ProcFormat.lastIndexOf(b, 0, n, (byte) ')');
        if (open < 0 || close < open || close + 2 >= n) {
            counts.malformed++;
            return null;
        }
        char stateLetter = (char) b[close + 2];
        int from = close + 3 < n && b[close + 3] == ' ' ? close + 4 : close + 3;
        long[] f = statFields;
        if (!ProcFormat.parseFields(b, from, n, f) || f[STAT_START] < 0) {
            counts.malformed++;
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
            membershipChanged = true;
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
                counts.vanished++;
                return null;
            }
            uid = (int) (ids >> 32);
            euid = (int) ids;
            cmdline = readCmdline(pid, prev == null ? null : prev.cmdline());
            if (cmdline == null) {
                counts.vanished++;
                return null;
            }
            exe = readExe(pid, prev == null ? null : prev.exe());
            cgroup = readCgroup(pid, prev == null ? null : prev.cgroup());
            if (cgroup == null) {
                counts.vanished++;
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
                cursor.at(line + 4);
                long real = cursor.nextLong(b, end);
                long effective = cursor.nextLong(b, end);
                if (!cursor.failed) {
                    return (real << 32) | (effective & 0xffffffffL);
                }
                break;
            }
            line = end + 1;
        }
        counts.malformed++;
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
                pss = cursor.field(b, line + 4, end);
            } else if (ProcFormat.startsWith(b, line, end, "Private_Clean:")) {
                privateKb += cursor.field(b, line + 14, end);
            } else if (ProcFormat.startsWith(b, line, end, "Private_Dirty:")) {
                privateKb += cursor.field(b, line + 14, end);
            } else if (ProcFormat.startsWith(b, line, end, "Anonymous:")) {
                anon = cursor.field(b, line + 10, end);
            } else if (ProcFormat.startsWith(b, line, end, "Swap:")) {
                swap = cursor.field(b, line + 5, end);
            }
            line = end + 1;
        }
        if (pss < 0) {
            // A kernel thread's rollup is empty: no user memory to report.
            return null;
        }
        return new MemoryDetail(pss * 1024, privateKb * 1024, anon * 1024, swap * 1024, now);
    }
}
