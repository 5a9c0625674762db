package dev.fleetkeeper.agent.memory.bench;

import dev.fleetkeeper.agent.memory.LeakDetector;
import dev.fleetkeeper.agent.memory.LeakVerdict;
import dev.fleetkeeper.agent.memory.MemorySample;
import dev.fleetkeeper.agent.memory.SyntheticSeries;
import dev.fleetkeeper.agent.memory.SyntheticSeries.Series;
import dev.fleetkeeper.agent.memory.SyntheticSeries.Shape;
import dev.fleetkeeper.agent.telemetry.ProcScanner;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Measures the {@link LeakDetector} with its default settings: precision and recall on a
 * labelled set of generated series ({@link SyntheticSeries}), and the CPU the agent spends
 * tracking N instances. A command-line tool, not agent logic. Not thread-safe; call from one
 * thread.
 *
 * <p>How each figure is taken:
 * <ul>
 *   <li>Precision and recall: every series of the set assessed once at its last sample; a leak
 *       shape flagged is a true positive, any other shape flagged a false positive.</li>
 *   <li>CPU per {@code assess()}: CPU time of the calling thread
 *       ({@code ThreadMXBean#getCurrentThreadCpuTime}) and bytes it allocated, over a second pass
 *       on the whole set (the first pass warmed the JIT up), divided by the calls.</li>
 *   <li>Tracking N instances: each instance has a 30-min window of samples at 5 s (361 samples)
 *       and is assessed every 5 s, as the agent would; the simulated agent time advances by
 *       5 s per round, so the figure is CPU milliseconds per second of agent time.</li>
 *   <li>The scan, for scale: a {@link ProcScanner} of this host's {@code /proc}, its clock
 *       stepping 1 s (the agent's scan interval) per scan, after warm-up scans; CPU per scan.</li>
 * </ul>
 */
public final class LeakBench {

    private static final long FIRST_MILLIS = Instant.parse("2025-01-01T00:00:00Z").toEpochMilli();
    private static final Duration SAMPLE_INTERVAL = Duration.ofSeconds(5);
    private static final Duration SCAN_INTERVAL = Duration.ofSeconds(1);

    private LeakBench() {
    }

    /**
     * What to generate and measure. Immutable.
     *
     * @param seriesPerShape labelled series of each shape
     * @param seed           the generator's seed
     * @param instances      instances tracked at once for the CPU figure
     * @param rounds         5-s rounds of agent time in the tracking figure
     * @param scans          measured scans for the scan comparison; 0 skips it
     */
    public record Options(int seriesPerShape, long seed, int instances, int rounds, int scans) {
        public Options {
            check("seriesPerShape", seriesPerShape, 1);
            check("instances", instances, 1);
            check("rounds", rounds, 1);
            check("scans", scans, 0);
        }

        private static void check(String name, int value, int min) {
            if (value < min) {
                throw new IllegalArgumentException(name + ": " + value + " (expected: >= " + min + ")");
            }
        }

        /** 200 series per shape, seed 1, 100 instances over 120 rounds (10 min), 20 scans. */
        public static Options defaults() {
            return new Options(200, 1, 100, 120, 20);
        }
    }

    /**
     * How one shape fared.
     *
     * @param shape   the shape
     * @param series  how many series of it
     * @param flagged how many the detector flagged
     */
    public record ShapeResult(Shape shape, int series, int flagged) {
        /** Flagged leaks. */
        public int truePositives() {
            return shape.leak() ? flagged : 0;
        }

        /** Flagged non-leaks. */
        public int falsePositives() {
            return shape.leak() ? 0 : flagged;
        }

        /** Missed leaks. */
        public int falseNegatives() {
            return shape.leak() ? series - flagged : 0;
        }

        /** Non-leaks left alone. */
        public int trueNegatives() {
            return shape.leak() ? 0 : series - flagged;
        }
    }

    /**
     * The figures of one run. Immutable.
     *
     * @param shapes                  per shape, in {@link Shape} order
     * @param assessCpuMicros         mean CPU per {@code assess()} of a 361-sample series, µs
     * @param assessAllocBytes        mean bytes allocated per {@code assess()}
     * @param trackingCpuMsPerSecond  CPU ms per second of agent time, tracking {@code instances}
     * @param scanCpuMs               CPU ms per steady scan of this host, NaN when not measured
     * @param processesScanned        processes the scan saw, 0 when not measured
     */
    public record Result(List<ShapeResult> shapes, double assessCpuMicros, long assessAllocBytes,
                         double trackingCpuMsPerSecond, double scanCpuMs, int processesScanned) {
        public Result {
            shapes = List.copyOf(shapes);
        }

        /** Flagged leaks over everything flagged; 1 when nothing was flagged. */
        public double precision() {
            int tp = sum(ShapeResult::truePositives);
            int flagged = tp + sum(ShapeResult::falsePositives);
            return flagged == 0 ? 1 : (double) tp / flagged;
        }

        /** Flagged leaks over all leaks; 1 when there were none. */
        public double recall() {
            int tp = sum(ShapeResult::truePositives);
            int leaks = tp + sum(ShapeResult::falseNegatives);
            return leaks == 0 ? 1 : (double) tp / leaks;
        }

        int sum(java.util.function.ToIntFunction<ShapeResult> f) {
            return shapes.stream().mapToInt(f).sum();
        }
    }

    /** Generates, measures, prints to {@code out}. */
    public static Result run(Options o, PrintWriter out) {
        LeakDetector detector = new LeakDetector(LeakDetector.Settings.DEFAULTS);
        List<Series> set = SyntheticSeries.labelledSet(o.seriesPerShape(), o.seed(), FIRST_MILLIS);
        out.printf(Locale.ROOT, "leak detector, default settings, on %d generated series (%d per shape, seed %d):"
                + " 30 min at 5 s%n", set.size(), o.seriesPerShape(), o.seed());

        Map<Shape, int[]> counts = new EnumMap<>(Shape.class);
        for (Series s : set) {
            int[] c = counts.computeIfAbsent(s.spec().shape(), k -> new int[2]);
            c[0]++;
            c[1] += s.assess(detector).leaking() ? 1 : 0;
        }
        List<ShapeResult> shapes = new ArrayList<>();
        counts.forEach((shape, c) -> shapes.add(new ShapeResult(shape, c[0], c[1])));

        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        long c0 = threads.getCurrentThreadCpuTime();
        long a0 = threads.getThreadAllocatedBytes(tid);
        int leaking = 0;
        for (Series s : set) {
            leaking += s.assess(detector).leaking() ? 1 : 0;
        }
        double assessMicros = (threads.getCurrentThreadCpuTime() - c0) / 1e3 / set.size();
        long assessAlloc = (threads.getThreadAllocatedBytes(tid) - a0) / set.size();
        if (leaking != shapes.stream().mapToInt(ShapeResult::flagged).sum()) {
            throw new IllegalStateException("second pass flagged " + leaking + " (expected: the first pass's count)");
        }

        double trackingMsPerSecond = tracking(detector, o, threads);
        double scanMs = Double.NaN;
        int processes = 0;
        if (o.scans() > 0 && Files.isDirectory(Path.of("/proc/self"))) {
            double[] scan = scan(o.scans(), threads);
            scanMs = scan[0];
            processes = (int) scan[1];
        }
        Result r = new Result(shapes, assessMicros, assessAlloc, trackingMsPerSecond, scanMs, processes);
        print(r, o, out);
        out.flush();
        return r;
    }

    /** CPU ms per second of agent time for {@code instances} assessed every 5 s over a 30-min window. */
    private static double tracking(LeakDetector detector, Options o, com.sun.management.ThreadMXBean threads) {
        SplittableRandom random = new SplittableRandom(o.seed() ^ 0x7AC4L);
        Shape[] shapes = Shape.values();
        long interval = SAMPLE_INTERVAL.toMillis();
        int window = (int) (detector.settings().window().toMillis() / interval) + 1;
        List<Series> instances = new ArrayList<>(o.instances());
        for (int i = 0; i < o.instances(); i++) {
            SyntheticSeries.Spec spec = SyntheticSeries.Spec.random(shapes[random.nextInt(shapes.length)], random)
                    .withLength(detector.settings().window().plus(SAMPLE_INTERVAL.multipliedBy(o.rounds())));
            instances.add(SyntheticSeries.generate(spec, random.nextLong(), FIRST_MILLIS));
        }
        // The JIT is warm: the labelled set was assessed twice before this.
        int sink = 0;
        long c0 = threads.getCurrentThreadCpuTime();
        for (int round = 0; round < o.rounds(); round++) {
            for (Series s : instances) {
                // The agent's ring buffer of the last 30 minutes, as a view: no copy.
                List<MemorySample> view = s.samples().subList(round, round + window);
                long now = view.get(view.size() - 1).timeMillis();
                LeakVerdict v = detector.assess(view, s.spec().limitBytes(), s.startedAtMillis(), now);
                sink += v.leaking() ? 1 : 0;
            }
        }
        long cpu = threads.getCurrentThreadCpuTime() - c0;
        if (sink < 0) {
            throw new AssertionError(sink);
        }
        return cpu / 1e6 / (o.rounds() * SAMPLE_INTERVAL.toSeconds());
    }

    /** {CPU ms per steady scan, processes seen}. */
    private static double[] scan(int scans, com.sun.management.ThreadMXBean threads) {
        SteppingClock clock = new SteppingClock(Instant.now());
        try (ProcScanner scanner = new ProcScanner(Path.of("/proc"), Path.of("/etc/passwd"), clock,
                ProcScanner.DEFAULT_DETAIL_INTERVAL, ProcScanner.DEFAULT_FULL_WALK_INTERVAL)) {
            for (int i = 0; i < 35; i++) {
                scanner.scan();
                clock.step();
            }
            long cpu = 0;
            int processes = 0;
            for (int i = 0; i < scans; i++) {
                long c0 = threads.getCurrentThreadCpuTime();
                processes = scanner.scan().processes().size();
                cpu += threads.getCurrentThreadCpuTime() - c0;
                clock.step();
            }
            return new double[] {cpu / 1e6 / scans, processes};
        }
    }

    private static void print(Result r, Options o, PrintWriter out) {
        out.printf(Locale.ROOT, "%-22s %-5s %7s %8s %5s %5s %5s %5s%n",
                "shape", "leak?", "series", "flagged", "TP", "FP", "FN", "TN");
        for (ShapeResult s : r.shapes()) {
            out.printf(Locale.ROOT, "%-22s %-5s %7d %8d %5d %5d %5d %5d%n", s.shape().label(),
                    s.shape().leak() ? "yes" : "no", s.series(), s.flagged(), s.truePositives(),
                    s.falsePositives(), s.falseNegatives(), s.trueNegatives());
        }
        out.printf(Locale.ROOT, "%-22s %-5s %7d %8d %5d %5d %5d %5d%n", "all", "",
                r.sum(ShapeResult::series), r.sum(ShapeResult::flagged), r.sum(ShapeResult::truePositives),
                r.sum(ShapeResult::falsePositives), r.sum(ShapeResult::falseNegatives),
                r.sum(ShapeResult::trueNegatives));
        out.printf(Locale.ROOT, "precision                 %.3f%n", r.precision());
        out.printf(Locale.ROOT, "recall                    %.3f%n", r.recall());
        out.printf(Locale.ROOT, "assess(), 361 samples     %.1f us CPU, %.1f KiB allocated per call%n",
                r.assessCpuMicros(), r.assessAllocBytes() / 1024.0);
        out.printf(Locale.ROOT, "tracking %d instances     %.3f ms CPU per s of agent time (%.3f%% of a core);"
                + " 30-min window at 5 s, each assessed every 5 s%n", o.instances(), r.trackingCpuMsPerSecond(),
                r.trackingCpuMsPerSecond() / 10);
        if (r.processesScanned() > 0) {
            double scanPerSecond = r.scanCpuMs() * 1000 / SCAN_INTERVAL.toMillis();
            out.printf(Locale.ROOT, "our scan, steady          %.2f ms CPU per scan of %d processes, every 1 s:"
                    + " %.2f ms per s%n", r.scanCpuMs(), r.processesScanned(), scanPerSecond);
            out.printf(Locale.ROOT, "leak tracking / scan      %.3fx the scan's CPU%n",
                    r.trackingCpuMsPerSecond() / scanPerSecond);
        }
    }

    /** A clock that moves only when told. */
    private static final class SteppingClock implements InstantSource {
        private Instant now;

        SteppingClock(Instant start) {
            this.now = start;
        }

        void step() {
            now = now.plus(SCAN_INTERVAL);
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
