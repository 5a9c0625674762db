package dev.fleetkeeper.agent.telemetry.bench;

import dev.fleetkeeper.agent.telemetry.HostScan;
import dev.fleetkeeper.agent.telemetry.ProcScanner;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Measures what one {@link ProcScanner} scan costs against {@code ps} plus {@code ss} on a
 * synthetic population of processes, listeners and zombies, all in one run. A command-line
 * tool, not agent logic: it owns every process it starts and stops them all before returning
 * (also on failure). Not thread-safe; call from one thread.
 *
 * <p>How each figure is taken:
 * <ul>
 *   <li>Our scans: CPU time of the calling thread ({@code ThreadMXBean#getCurrentThreadCpuTime})
 *       and bytes it allocated ({@code com.sun.management.ThreadMXBean#getThreadAllocatedBytes})
 *       around {@code scan()}. "Cold" is a fresh scanner's first scan (every file, a full fd
 *       walk); "steady" is the mean over later scans of one scanner whose clock advances by the
 *       scan interval per scan, so that staggered {@code smaps_rollup} reads and backstop full
 *       fd walks are included at their real rate.</li>
 *   <li>{@code ps -eo pid,ppid,stat,rss,vsz,comm,args} plus {@code ss -ltnup}: run inside one
 *       {@code bash} whose {@code times} builtin prints its waited-for children's user and
 *       system time from {@code getrusage(RUSAGE_CHILDREN)} with millisecond resolution; the
 *       output goes to {@code /dev/null} in the shell so the JVM's pipe reading is not
 *       counted. Cross-checked with the JVM's own {@code cutime+cstime} from
 *       {@code /proc/self/stat} (10 ms ticks) around {@code waitFor}.</li>
 *   <li>{@code /proc/net/tcp*}, {@code udp*} alone: thread CPU of reading the four tables,
 *       as the scanner reads them and, for comparison, with the final read that reports EOF.
 *       That is what the agent pays instead of netlink {@code sock_diag}, which is what
 *       {@code ss} uses: Java 17 has no {@code AF_NETLINK} sockets and its foreign-function
 *       API is an incubator module, so {@code sock_diag} is not reachable without a native
 *       build.</li>
 * </ul>
 *
 * <p>The agent ships with {@code -XX:TieredStopAtLevel=1 -XX:+UseSerialGC} and a small heap
 * (C1 only), so run the bench under those flags too: most of a scan is kernel time, and the
 * two JITs give figures within noise of each other, but the Java part differs. The default
 * 20 warm-up scans leave the staggered first repeat of every identity's detail reads inside the
 * measured window (a start-up transient: from the third detail read on, quiet processes skip
 * them); {@code --warmup 35} measures past it.
 */
public final class ScanBench {

    private ScanBench() {
    }

    /**
     * What to spawn and how long to measure. Immutable.
     *
     * @param processes    sleeping processes to spawn
     * @param listeners    listening TCP sockets, held by one perl process and a forked child
     * @param zombies      unreaped children of one perl parent
     * @param warmup       scans (and ps+ss runs) before measuring
     * @param iterations   measured scans (and ps+ss runs)
     * @param scanInterval how far the steady-state scanner's clock advances per scan
     */
    public record Options(int processes, int listeners, int zombies, int warmup, int iterations,
                          Duration scanInterval) {

        public Options {
            check("processes", processes, 0);
            check("listeners", listeners, 0);
            check("zombies", zombies, 0);
            check("warmup", warmup, 0);
            check("iterations", iterations, 1);
            if (scanInterval.isNegative() || scanInterval.isZero()) {
                throw new IllegalArgumentException("scanInterval: " + scanInterval + " (expected: > 0)");
            }
        }

        private static void check(String name, int value, int min) {
            if (value < min) {
                throw new IllegalArgumentException(name + ": " + value + " (expected: >= " + min + ")");
            }
        }

        /** 1,000 processes, 64 listeners, 5 zombies, 20 warm-up and 50 measured scans, 1 s apart (the agent default). */
        public static Options defaults() {
            return new Options(1000, 64, 5, 20, 50, Duration.ofSeconds(1));
        }
    }

    /**
     * The figures of one run; CPU in milliseconds, allocation in bytes, all per scan or per
     * {@code ps}+{@code ss} pair. Immutable.
     */
    public record Result(int processesSeen, int socketsSeen, double coldScanCpuMs,
                         double steadyScanCpuMs, double steadyScanMaxCpuMs, long coldAllocBytes,
                         long steadyAllocBytes, double psSsCpuMs, double psSsCpuMsByTicks,
                         double procNetReadCpuMs, double procNetReadToEofCpuMs) {

        /** How many times cheaper a steady-state scan is than ps+ss. */
        public double ratio() {
            return steadyScanCpuMs <= 0 ? Double.POSITIVE_INFINITY : psSsCpuMs / steadyScanCpuMs;
        }
    }

    /** Spawns the population, measures, stops the population, prints to {@code out}. */
    public static Result run(Options o, PrintStream out) throws IOException, InterruptedException {
        List<Process> population = new ArrayList<>();
        try {
            out.printf(Locale.ROOT, "spawning %d sleeping processes, %d listeners, %d zombies%n",
                    o.processes(), o.listeners(), o.zombies());
            int expected = spawn(o, population);
            awaitPopulation(population, expected, Duration.ofSeconds(60));
            return measure(o, out);
        } finally {
            stop(population);
        }
    }

    private static int spawn(Options o, List<Process> population) throws IOException {
        // A few shells each start many sleeps, so spawning 1,000 takes a second, not a minute.
        int perShell = 250;
        int remaining = o.processes();
        int expected = 0;
        while (remaining > 0) {
            int n = Math.min(perShell, remaining);
            population.add(start("sh", "-c",
                    "i=0; while [ $i -lt " + n + " ]; do sleep 3600 & i=$((i+1)); done; wait"));
            remaining -= n;
            expected += n + 1;
        }
        if (o.listeners() > 0) {
            // Listeners on 127.0.0.1 port 0, inherited by one forked child: two owners each.
            population.add(start("perl", "-MIO::Socket::INET", "-e",
                    "my @s; for (1.." + o.listeners() + ") { push @s, IO::Socket::INET->new("
                            + "LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 16, ReuseAddr => 1)"
                            + " or die \"listen: $!\" } fork // die; sleep 3600;"));
            expected += 2;
        }
        if (o.zombies() > 0) {
            // Children that exit at once under a parent that never reaps them.
            population.add(start("perl", "-e",
                    "for (1.." + o.zombies() + ") { my $p = fork // die; exit 0 unless $p } sleep 3600;"));
            expected += 1 + o.zombies();
        }
        return expected;
    }

    private static Process start(String... command) throws IOException {
        return new ProcessBuilder(command)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
    }

    private static void awaitPopulation(List<Process> population, int expected, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long present = population.stream().mapToLong(p -> 1 + p.descendants().count()).sum();
            if (present >= expected) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("population: " + present + " processes after "
                        + timeout + " (expected: " + expected + ")");
            }
            // A tool's poll loop, not agent logic: the injected-clock rule does not apply.
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
    }

    private static void stop(List<Process> population) {
        for (Process p : population) {
            // Children first, so none is reparented to init and left running.
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : population) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static Result measure(Options o, PrintStream out) throws IOException, InterruptedException {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();

        // Cold: fresh scanners (after JIT warm-up on throwaway scanners).
        for (int i = 0; i < Math.max(1, o.warmup() / 4); i++) {
            try (ProcScanner throwaway = ProcScanner.forThisHost(InstantSource.system())) {
                throwaway.scan();
            }
        }
        int coldRuns = Math.max(3, o.iterations() / 10);
        long coldCpu = 0;
        long coldAlloc = 0;
        HostScan last = null;
        for (int i = 0; i < coldRuns; i++) {
            try (ProcScanner fresh = ProcScanner.forThisHost(InstantSource.system())) {
                fresh.hostInfo(); // one-time host facts are not part of a scan
                long c0 = threads.getCurrentThreadCpuTime();
                long a0 = threads.getThreadAllocatedBytes(tid);
                last = fresh.scan();
                coldCpu += threads.getCurrentThreadCpuTime() - c0;
                coldAlloc += threads.getThreadAllocatedBytes(tid) - a0;
            }
        }

        // Steady: one scanner, clock stepping by the scan interval.
        SteppingClock clock = new SteppingClock(Instant.now(), o.scanInterval());
        ProcScanner scanner = new ProcScanner(Path.of("/proc"), Path.of("/etc/passwd"), clock,
                ProcScanner.DEFAULT_DETAIL_INTERVAL, ProcScanner.DEFAULT_FULL_WALK_INTERVAL);
        for (int i = 0; i < o.warmup(); i++) {
            scanner.scan();
            clock.step();
        }
        long walks0 = scanner.fullWalks();
        long links0 = scanner.fdLinksRead();
        long tcpReads0 = scanner.tcpTableReads();
        long steadyCpu = 0;
        long steadyMax = 0;
        long steadyAlloc = 0;
        for (int i = 0; i < o.iterations(); i++) {
            long c0 = threads.getCurrentThreadCpuTime();
            long a0 = threads.getThreadAllocatedBytes(tid);
            last = scanner.scan();
            long c = threads.getCurrentThreadCpuTime() - c0;
            steadyAlloc += threads.getThreadAllocatedBytes(tid) - a0;
            steadyCpu += c;
            steadyMax = Math.max(steadyMax, c);
            clock.step();
        }

        long steadyFullWalks = scanner.fullWalks() - walks0;
        long steadyLinks = scanner.fdLinksRead() - links0;
        long steadyTcpReads = scanner.tcpTableReads() - tcpReads0;
        scanner.close();

        // /proc/net tables alone.
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        for (int i = 0; i < o.warmup(); i++) {
            readNetTables(buf, true);
            readNetTables(buf, false);
        }
        long n0 = threads.getCurrentThreadCpuTime();
        for (int i = 0; i < o.iterations(); i++) {
            readNetTables(buf, false);
        }
        long netCpu = threads.getCurrentThreadCpuTime() - n0;
        n0 = threads.getCurrentThreadCpuTime();
        for (int i = 0; i < o.iterations(); i++) {
            readNetTables(buf, true);
        }
        long netToEofCpu = threads.getCurrentThreadCpuTime() - n0;

        // ps + ss, as children of one bash that reports their rusage.
        String script = "ps -eo pid,ppid,stat,rss,vsz,comm,args >/dev/null; ss -ltnup >/dev/null; times";
        int psRuns = Math.max(5, o.iterations() / 5);
        for (int i = 0; i < Math.min(3, o.warmup()); i++) {
            runShell(script);
        }
        double psCpuMs = 0;
        long ticks0 = selfChildTicks();
        for (int i = 0; i < psRuns; i++) {
            psCpuMs += childrenCpuMs(runShell(script));
        }
        long ticks = selfChildTicks() - ticks0;

        double coldMs = coldCpu / 1e6 / coldRuns;
        double steadyMs = steadyCpu / 1e6 / o.iterations();
        Result r = new Result(last.processes().size(), last.sockets().size(), coldMs, steadyMs,
                steadyMax / 1e6, coldAlloc / coldRuns, steadyAlloc / o.iterations(), psCpuMs / psRuns,
                ticks * 1000.0 / 100 / psRuns, netCpu / 1e6 / o.iterations(),
                netToEofCpu / 1e6 / o.iterations());
        out.printf(Locale.ROOT, "processes seen            %d, listening/bound sockets %d%n",
                r.processesSeen(), r.socketsSeen());
        out.printf(Locale.ROOT, "our scan, cold            %.2f ms CPU, %d KiB allocated%n",
                r.coldScanCpuMs(), r.coldAllocBytes() / 1024);
        out.printf(Locale.ROOT, "our scan, steady (mean)   %.2f ms CPU (max %.2f), %d KiB allocated%n",
                r.steadyScanCpuMs(), r.steadyScanMaxCpuMs(), r.steadyAllocBytes() / 1024);
        out.printf(Locale.ROOT, "steady fd work            %d full walks, %d fd links read in %d scans%n",
                steadyFullWalks, steadyLinks, o.iterations());
        out.printf(Locale.ROOT, "steady TCP tables         read in %d of %d scans (otherwise reused: sockstat counts and"
                + " processes unchanged, last read < %d s ago)%n", steadyTcpReads, o.iterations(),
                ProcScanner.TCP_TABLE_REREAD_INTERVAL.toSeconds());
        out.printf(Locale.ROOT, "ps + ss                   %.2f ms CPU (rusage; %.1f ms by 10 ms ticks)%n",
                r.psSsCpuMs(), r.psSsCpuMsByTicks());
        out.printf(Locale.ROOT, "/proc/net/{tcp,tcp6,udp,udp6} read alone  %.3f ms CPU as the scanner "
                + "reads them (%.3f ms read to EOF)%n", r.procNetReadCpuMs(), r.procNetReadToEofCpuMs());
        out.printf(Locale.ROOT, "ratio ps+ss / steady scan %.1fx; ps+ss / cold scan %.1fx%n",
                r.ratio(), r.psSsCpuMs() / r.coldScanCpuMs());
        out.println("note: netlink sock_diag (what ss uses) is not reachable from Java 17 "
                + "(no AF_NETLINK, FFM is incubating); the agent reads /proc/net instead.");
        return r;
    }

    /**
     * Reads the four tables to EOF, or the way the scanner does: stopping at a read shorter
     * than 3 KiB instead of asking again for the EOF, which on tcp and tcp6 re-walks the whole
     * established hash (see {@code ProcReader#readTable}).
     */
    private static void readNetTables(ByteBuffer buf, boolean toEof) throws IOException {
        for (String table : new String[] {"tcp", "tcp6", "udp", "udp6"}) {
            Path p = Path.of("/proc/net", table);
            if (!Files.exists(p)) {
                continue;
            }
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                buf.clear();
                while (buf.hasRemaining()) {
                    int asked = buf.remaining();
                    int r = ch.read(buf);
                    if (r < 0 || (!toEof && r < asked && r <= 4096 - 1024)) {
                        break;
                    }
                }
            }
        }
    }

    private static String runShell(String script) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
        String output;
        try (InputStream in = p.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("ps/ss did not finish in 60 s");
        }
        return output;
    }

    /** Sums user and system of the second line of bash {@code times}: "0m0.012s 0m0.020s". */
    static double childrenCpuMs(String timesOutput) {
        String[] lines = timesOutput.strip().split("\n");
        if (lines.length < 2) {
            throw new IllegalStateException("unexpected `times` output: " + timesOutput);
        }
        double ms = 0;
        for (String part : lines[lines.length - 1].trim().split("\\s+")) {
            int m = part.indexOf('m');
            ms += (Integer.parseInt(part.substring(0, m)) * 60
                    + Double.parseDouble(part.substring(m + 1, part.length() - 1))) * 1000;
        }
        return ms;
    }

    /** cutime + cstime of this JVM (reaped children), in clock ticks. */
    private static long selfChildTicks() throws IOException {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[13]) + Long.parseLong(f[14]);
    }

    /** A clock that moves only when told: the steady-state scanner sees real scan spacing. */
    private static final class SteppingClock implements InstantSource {
        private final Duration step;
        private Instant now;

        SteppingClock(Instant start, Duration step) {
            this.now = start;
            this.step = step;
        }

        void step() {
            now = now.plus(step);
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
