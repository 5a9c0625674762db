package dev.fleetkeeper.agent.telemetry;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Samples processes, listening sockets and host figures from a {@code /proc} tree into a
 * {@link HostScan}. One per agent, owned by the agent's single scan thread; <b>not
 * thread-safe</b>: every call must come from that one thread, because the scanner keeps the
 * previous scan's state (for CPU deltas, per-identity facts and socket owners) and reuses its
 * read buffers. Whoever creates it closes it ({@link #close()}, on the scan thread or once that
 * thread has stopped), which releases the {@code stat} files it holds open.
 *
 * <h2>How a scan is made</h2>
 * The scanner is a façade over four collaborators that share one {@link ProcReader} buffer and
 * one {@link ScanCounts}, each documenting what it reads, how often and why that is sound:
 * <ol>
 *   <li>{@link ProcessTable} lists {@code /proc/PID} (again only once a PID has been
 *       allocated) and samples each process: {@code stat} every scan (held open on a real {@code procfs}), identity facts and
 *       {@code smaps_rollup} on the detail cadence, skipping quiet processes;</li>
 *   <li>{@link SocketTables} reads {@code /proc/net/{tcp,tcp6,udp,udp6}} for listening TCP
 *       and bound, unconnected UDP sockets;</li>
 *   <li>{@link SocketOwners} maps their inodes to the processes that hold them by an
 *       incremental fd walk, with a full walk as a backstop;</li>
 *   <li>{@link HostFigures} reads memory, load, pressure, OOM kills and uptime, and once the
 *       {@link HostInfo}.</li>
 * </ol>
 *
 * <h2>Costs and failure handling</h2>
 * Files are read into one reused buffer and parsed as bytes; directory listings use
 * {@link java.io.File#list()} (strings, no {@link Path} per entry). A process that vanishes
 * mid-read is skipped and counted in {@link ScanStats#vanished()}; malformed input is skipped and
 * counted in {@link ScanStats#malformed()}; permission-denied on fds or {@code smaps_rollup}
 * is skipped quietly. {@link #scan()} never throws.
 */
public final class ProcScanner implements AutoCloseable {

    /** Default interval between {@code smaps_rollup} and identity-fact reads per process. */
    public static final Duration DEFAULT_DETAIL_INTERVAL = Duration.ofSeconds(30);
    /** Longest time the TCP tables' listeners are reused without reading them; see {@link SocketTables}. */
    public static final Duration TCP_TABLE_REREAD_INTERVAL = Duration.ofMillis(SocketTables.TCP_REREAD_MILLIS);
    /** Default interval between backstop full fd walks. */
    public static final Duration DEFAULT_FULL_WALK_INTERVAL = Duration.ofMinutes(5);

    private final Path procRoot;
    private final InstantSource clock;
    private final ScanCounts counts = new ScanCounts();
    private final ProcessTable processes;
    private final SocketTables socketTables;
    private final SocketOwners socketOwners;
    private final HostFigures host;

    private Map<Long, SocketSample> lastSockets = Map.of();
    private long lastScanMillis = Long.MIN_VALUE;

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
        String r = procRoot.toString();
        String root = r.endsWith("/") ? r.substring(0, r.length() - 1) : r;
        ProcReader reader = new ProcReader(procRoot.getFileSystem());
        UserNames users = new UserNames(passwdFile);
        FieldCursor cursor = new FieldCursor(counts);
        this.processes = new ProcessTable(procRoot, root, reader, users, counts, cursor,
                detailInterval.toMillis());
        this.socketTables = new SocketTables(root, reader, counts, cursor);
        this.socketOwners = new SocketOwners(root, reader, processes, fullWalkInterval.toMillis());
        this.host = new HostFigures(root, reader, counts, cursor);
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
        processes.setDetailEveryScan(managed);
    }

    /** Host facts, read once on first use. */
    public HostInfo hostInfo() {
        return host.info();
    }

    /** Reads the whole tree once. Never throws; see the class documentation for costs. */
    public HostScan scan() {
        long cpuStart = SelfProc.threadCpuNanos();
        Instant start = clock.instant();
        long now = start.toEpochMilli();
        counts.reset();
        HostInfo info = hostInfo();
        long elapsedMillis = lastScanMillis == Long.MIN_VALUE ? 0 : now - lastScanMillis;

        Map<ProcessId, ProcessSample> processSamples =
                processes.scan(info, host.pageSize(), now, elapsedMillis);
        Map<Long, SocketSample> sockets = scanSockets(now);
        lastScanMillis = now;

        HostSample partial = host.sample(now, processSamples.size(), info.cpuCount(), null);
        long cpuMicros = (SelfProc.threadCpuNanos() - cpuStart) / 1000;
        long durationMicros = Math.max(0, Duration.between(start, clock.instant()).toNanos() / 1000);
        ScanStats stats = new ScanStats(counts.vanished, counts.malformed, durationMicros, cpuMicros);
        HostSample hostSample = HostFigures.withStats(partial, stats);
        return new HostScan(now, hostSample, processSamples, sockets);
    }

    /**
     * Joins the socket table rows with their owners; a socket unchanged since the last scan
     * keeps its previous {@link SocketSample}.
     */
    private Map<Long, SocketSample> scanSockets(long now) {
        Map<Long, SocketTables.Row> rows = socketTables.read(lastSockets, now, processes.membershipChanged());
        socketOwners.update(rows.keySet(), lastSockets.keySet(), now);

        Map<Long, SocketSample> out = new HashMap<>(rows.size() * 2);
        for (SocketTables.Row r : rows.values()) {
            List<ProcessId> ids = socketOwners.ownerIds(r.inode());
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

    /**
     * Closes the {@code stat} files this scanner holds open. Idempotent. A later {@link #scan()}
     * still works, opening every file by name and holding none.
     */
    @Override
    public void close() {
        processes.close();
    }

    /** {@code /proc/PID/stat} files held open now; for tests and benches. */
    public int heldFiles() {
        return processes.heldFiles();
    }

    /** Listings of the {@code /proc} directory done so far; for tests and benches. */
    public long procListings() {
        return processes.listings();
    }

    /** Reads of the TCP socket tables so far (see {@link SocketTables}); for tests and benches. */
    public long tcpTableReads() {
        return socketTables.tcpReads();
    }

    /** Full fd walks done so far (cold start, backstop, unknown inodes); for tests and benches. */
    public long fullWalks() {
        return socketOwners.fullWalks();
    }

    /** fd links read by walks so far (not counting verification); for tests and benches. */
    public long fdLinksRead() {
        return socketOwners.fdLinksRead();
    }

    /** The {@code /proc} root this scanner reads. */
    public Path procRoot() {
        return procRoot;
    }
}
