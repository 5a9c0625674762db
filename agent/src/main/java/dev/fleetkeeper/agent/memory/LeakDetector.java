package dev.fleetkeeper.agent.memory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Decides whether one instance's memory series is a leak, and forecasts when it reaches its
 * limit. Pure: {@link #assess} reads no clock and does no I/O, so a 30-minute leak is tested in
 * milliseconds. Immutable and thread-safe; one instance can serve every tracked process.
 *
 * <h2>What counts as a leak</h2>
 * Incident 2: a worker's memory crept up for as long as it lived, under steady load, until it
 * died at its limit. What the detector must tell apart from that:
 * <table>
 *   <caption>Shapes</caption>
 *   <tr><th>shape</th><th>leak?</th><th>why</th></tr>
 *   <tr><td>steady growth</td><td>yes</td><td>the incident itself.</td></tr>
 *   <tr><td>noisy growth</td><td>yes</td><td>the same, with load-driven jitter; a robust slope
 *       and per-bucket minima see through it.</td></tr>
 *   <tr><td>GC sawtooth without growth</td><td>no</td><td>a heap that fills and is collected
 *       back to the same floor: the peaks are garbage, the floor (the retained memory) is flat.
 *       The per-bucket minima do not rise.</td></tr>
 *   <tr><td>GC sawtooth with growth</td><td>yes</td><td>the floor after each collection rises:
 *       retained memory grows. The per-bucket minima rise.</td></tr>
 *   <tr><td>step then flat</td><td>no</td><td>a cache or pool warming up: one rise, then a new
 *       plateau. Recycling would only repeat it. Half of the window is flat.</td></tr>
 *   <tr><td>growth that stops</td><td>no</td><td>grew earlier in the window, flat for the
 *       recent part: it levelled off. The later half is flat.</td></tr>
 *   <tr><td>growth during warm-up</td><td>ignored</td><td>a process loading code and filling
 *       its heap after start; samples within {@link Settings#warmUp()} of the start are not
 *       looked at.</td></tr>
 * </table>
 *
 * <h2>Method</h2>
 * Only samples in {@code [now - window, now]} and at or after {@code startedAt + warmUp} are
 * used (samples after {@code now} are ignored as clock skew). The resident set size is the
 * measure: the limits that kill a worker (a cgroup, a supervisor's RSS check, the OOM killer)
 * count resident memory, and private memory is not reported on every kernel.
 * <ol>
 *   <li><b>Enough data</b>: at least {@link Settings#minSamples()} samples spanning at least
 *       {@link Settings#minSpan()}; otherwise "not leaking" with the reason.</li>
 *   <li><b>Slope</b>: the Theil–Sen estimator, the median of the slopes between pairs of
 *       samples, over pairs at least one bucket apart (shorter pairs carry noise and, inside
 *       one GC cycle, the allocation rate rather than growth). When there are more than
 *       {@link Settings#maxPairs()} such pairs, one is taken from each of that many equal strata
 *       of them, at a place drawn with a fixed seed (stratified sampling: evenly spread, in one
 *       pass, and unable to alias with a sawtooth), so the answer is deterministic and the cost is
 *       bounded (O(n + maxPairs) with a linear-time median) whatever the sampling rate. This is the reported
 *       {@link LeakVerdict#slopeBytesPerSecond()}. It must reach the growth floor:
 *       {@link Settings#minSlopeBytesPerSecond()} and {@link Settings#minGrowthPercentPerHour()}
 *       of the series' median level, whichever is larger.</li>
 *   <li><b>Rising minima</b>: the data's span is split into {@link Settings#buckets()} equal
 *       buckets and each bucket's robust minimum is taken, its 10th percentile (the trough after
 *       a collection when a bucket is longer than the GC cycle, but not one stray low reading),
 *       at the bucket's mean time. The Theil–Sen slope of these minima must also reach the
 *       growth floor: a sawtooth on a flat floor can show a small positive raw slope, but no
 *       rising floor.</li>
 *   <li><b>Sustained in both halves</b>: the growth of the earlier half of the span and of the
 *       later half must each be at least {@link Settings#minHalfShare()} of the whole span's
 *       slope. A half's growth is its raw Theil–Sen slope or the Theil–Sen slope of its
 *       buckets' minima, whichever is larger: the raw slope is the better estimate under noise,
 *       the minima under a sawtooth, and a one-off step or a stop leaves a half flat by both.
 *       Wherever a single step falls, one half is flat; growth that stopped leaves the later
 *       half flat. The cost: a leak that began inside the window is flagged only once the
 *       earlier half grows too, i.e. within about half a window more.</li>
 *   <li><b>Confidence</b>: the fraction of pairs of bucket minima in which the later minimum is
 *       strictly higher than the earlier one (Kendall's concordance of the floor with time:
 *       1 for a floor that rises every bucket, about 0.5 for a floor that wanders, 0 for one
 *       that is flat or falls). Chosen over the R² of a fit because it does not depend on the
 *       noise's scale or on one outlying bucket, and it reads plainly: "in 95% of comparisons
 *       the floor was higher later". It must be at least {@link Settings#minConfidence()}.</li>
 * </ol>
 *
 * <h2>Forecast</h2>
 * Only for a leak and a limit ({@code limitBytes > 0}): the time for the fitted line to climb
 * from the current <em>peak</em> level to the limit, at the Theil–Sen slope. The peak level is
 * the fitted value at {@code now} plus the largest residual above the line in the latest
 * bucket: a process dies when its highest point (just before a collection, or a burst) touches
 * the limit, not its average, so starting from the line alone would forecast late by half a
 * sawtooth; starting from the latest bucket's raw maximum would ignore the growth since that
 * maximum was reached. A level already at or above the limit forecasts zero.
 *
 * <h2>Known limits</h2>
 * A GC cycle longer than a bucket (3 minutes by default) leaves some buckets without a trough,
 * and a cycle close to a multiple of the sampling interval is aliased: the samples creep along
 * the sawtooth and its sampled floor seems to move. Both can cost a verdict either way; the
 * bench ({@code fleetkeeper bench leak}) generates GC periods of 15–150 s at 5-s sampling and
 * reports how often.
 */
public final class LeakDetector {

    /** Seed of the pair subsampling: the same series always gives the same verdict. */
    private static final long PAIR_SEED = 0x5EED_1EAFL;

    /**
     * A bucket's "minimum" is this quantile of its samples: as low as the trough after a
     * collection, but not one outlying low reading.
     */
    private static final double MINIMUM_QUANTILE = 0.1;

    /**
     * How the detector decides. Immutable.
     *
     * @param window                  how far back from {@code now} samples are looked at
     * @param warmUp                  samples this soon after the instance started are ignored
     * @param minSamples              fewer usable samples than this: not leaking ("too few samples")
     * @param minSpan                 usable samples spanning less than this: not leaking
     * @param buckets                 how many equal buckets the span is split into for the minima;
     *                                even, so the halves are equal. A bucket should be longer than
     *                                the longest GC cycle (the default: 3 min for a 30-min window)
     * @param minSlopeBytesPerSecond  absolute growth floor (the default, 512 B/s, is 30 KiB/min)
     * @param minGrowthPercentPerHour relative growth floor, percent of the median level per hour
     * @param minConfidence           the least fraction of rising pairs of bucket minima, 0 to 1
     * @param minHalfShare            each half's growth, as a share of the whole span's slope, at
     *                                least this; 0 to 1
     * @param maxPairs                the most sample pairs the Theil–Sen slope looks at
     */
    public record Settings(Duration window, Duration warmUp, int minSamples, Duration minSpan, int buckets,
                           double minSlopeBytesPerSecond, double minGrowthPercentPerHour, double minConfidence,
                           double minHalfShare, int maxPairs) {

        /**
         * A 30-minute window, 2 minutes of warm-up, at least 30 samples over 10 minutes, 10
         * buckets, growth of at least 30 KiB/min and 2% of the level per hour, confidence 0.8,
         * each half at least 40% of the span's slope, at most 1,024 pairs.
         */
        public static final Settings DEFAULTS = new Settings(Duration.ofMinutes(30), Duration.ofMinutes(2), 30,
                Duration.ofMinutes(10), 10, 512, 2.0, 0.8, 0.4, 1024);

        public Settings {
            Objects.requireNonNull(window, "window");
            Objects.requireNonNull(warmUp, "warmUp");
            Objects.requireNonNull(minSpan, "minSpan");
            if (window.toMillis() <= 0) {
                throw new IllegalArgumentException("window: " + window + " (expected: >= 1 ms)");
            }
            if (warmUp.isNegative()) {
                throw new IllegalArgumentException("warmUp: " + warmUp + " (expected: >= 0)");
            }
            if (minSpan.toMillis() <= 0 || minSpan.compareTo(window) > 0) {
                throw new IllegalArgumentException("minSpan: " + minSpan + " (expected: > 0 and <= window "
                        + window + ")");
            }
            if (buckets < 4 || buckets % 2 != 0) {
                throw new IllegalArgumentException("buckets: " + buckets + " (expected: an even number >= 4)");
            }
            if (minSamples < buckets) {
                throw new IllegalArgumentException("minSamples: " + minSamples + " (expected: >= buckets "
                        + buckets + ")");
            }
            if (!(minSlopeBytesPerSecond > 0) || Double.isInfinite(minSlopeBytesPerSecond)) {
                throw new IllegalArgumentException("minSlopeBytesPerSecond: " + minSlopeBytesPerSecond
                        + " (expected: > 0, finite)");
            }
            if (!(minGrowthPercentPerHour >= 0) || Double.isInfinite(minGrowthPercentPerHour)) {
                throw new IllegalArgumentException("minGrowthPercentPerHour: " + minGrowthPercentPerHour
                        + " (expected: >= 0, finite)");
            }
            if (!(minConfidence >= 0 && minConfidence <= 1)) {
                throw new IllegalArgumentException("minConfidence: " + minConfidence + " (expected: 0 to 1)");
            }
            if (!(minHalfShare >= 0 && minHalfShare <= 1)) {
                throw new IllegalArgumentException("minHalfShare: " + minHalfShare + " (expected: 0 to 1)");
            }
            if (maxPairs < 16) {
                throw new IllegalArgumentException("maxPairs: " + maxPairs + " (expected: >= 16)");
            }
        }

        /** These settings with another warm-up. */
        public Settings withWarmUp(Duration newWarmUp) {
            return new Settings(window, newWarmUp, minSamples, minSpan, buckets, minSlopeBytesPerSecond,
                    minGrowthPercentPerHour, minConfidence, minHalfShare, maxPairs);
        }

        /** These settings with another pair budget. */
        public Settings withMaxPairs(int newMaxPairs) {
            return new Settings(window, warmUp, minSamples, minSpan, buckets, minSlopeBytesPerSecond,
                    minGrowthPercentPerHour, minConfidence, minHalfShare, newMaxPairs);
        }
    }

    private final Settings settings;

    public LeakDetector(Settings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /** The settings this detector decides by. */
    public Settings settings() {
        return settings;
    }

    /**
     * Assesses one instance's series at {@code nowMillis}.
     *
     * @param series          the instance's samples, any order; those outside the window, inside the
     *                        warm-up or after {@code nowMillis} are ignored
     * @param limitBytes      the memory limit the instance dies at; {@code <= 0}: none, no forecast
     * @param startedAtMillis when the instance started, epoch ms
     * @param nowMillis       the time of the assessment, epoch ms
     */
    public LeakVerdict assess(List<MemorySample> series, long limitBytes, long startedAtMillis, long nowMillis) {
        Objects.requireNonNull(series, "series");
        long from = Math.max(nowMillis - settings.window().toMillis(),
                saturatedAdd(startedAtMillis, settings.warmUp().toMillis()));
        List<MemorySample> usable = usable(series, from, nowMillis);
        int n = usable.size();
        String where = "in the last " + duration(settings.window().toMillis()) + " after warm-up";
        if (n < settings.minSamples()) {
            return new LeakVerdict(false, 0, null, 0, "too few samples: " + n + " " + where
                    + " (expected: >= " + settings.minSamples() + ")");
        }
        long t0 = usable.get(0).timeMillis();
        double[] t = new double[n];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            MemorySample s = usable.get(i);
            t[i] = (s.timeMillis() - t0) / 1000.0;
            y[i] = s.rssBytes();
        }
        double span = t[n - 1];
        if (span * 1000 < settings.minSpan().toMillis()) {
            return new LeakVerdict(false, 0, null, 0, "too short: the " + n + " samples " + where + " span "
                    + duration((long) (span * 1000)) + " (expected: >= " + duration(settings.minSpan().toMillis())
                    + ")");
        }

        int k = settings.buckets();
        double bucketLength = span / k;
        double[] slopes = new double[settings.maxPairs()];
        double slope = theilSen(t, y, 0, n, bucketLength, slopes);

        // Per-bucket robust minima (the troughs) at the bucket's mean time.
        double[] minT = new double[k];
        double[] minY = new double[k];
        boolean[] seen = new boolean[k];
        double[] scratch = new double[n];
        int start = 0;
        for (int b = 0; b < k; b++) {
            int end = start;
            double timeSum = 0;
            while (end < n && (b == k - 1 || t[end] < (b + 1) * bucketLength)) {
                scratch[end - start] = y[end];
                timeSum += t[end];
                end++;
            }
            int count = end - start;
            if (count > 0) {
                seen[b] = true;
                minT[b] = timeSum / count;
                int rank = (int) (MINIMUM_QUANTILE * (count - 1));
                select(scratch, count, rank);
                minY[b] = scratch[rank];
            }
            start = end;
        }
        Floor whole = floor(minT, minY, seen, 0, k);
        if (whole.points() < k / 2) {
            return new LeakVerdict(false, slope, null, 0, "too few samples: gaps leave " + whole.points()
                    + " of " + k + " buckets filled (expected: >= " + k / 2 + ")");
        }
        double confidence = whole.rising();
        int half = firstAtOrAfter(t, span / 2);
        double[] halfSlopes = new double[settings.maxPairs() / 2];
        // Each half's growth by the raw samples (the better estimate under noise) or by its
        // buckets' minima (the better one under a sawtooth), whichever is larger: a step or a stop
        // leaves a half flat by both.
        double earlySlope = Math.max(theilSen(t, y, 0, half, bucketLength, halfSlopes),
                floor(minT, minY, seen, 0, k / 2).slope());
        double lateSlope = Math.max(theilSen(t, y, half, n, bucketLength, halfSlopes),
                floor(minT, minY, seen, k / 2, k).slope());

        System.arraycopy(y, 0, scratch, 0, n);
        double level = median(scratch, n);
        double floorRate = Math.max(settings.minSlopeBytesPerSecond(),
                settings.minGrowthPercentPerHour() / 100 * level / 3600);
        String over = " over " + duration((long) (span * 1000));
        if (slope < floorRate) {
            return new LeakVerdict(false, slope, null, confidence, "no growth: " + rate(slope) + over
                    + " (a leak: >= " + rate(floorRate) + ")");
        }
        if (whole.slope() < floorRate) {
            return new LeakVerdict(false, slope, null, confidence, "minima do not rise: troughs "
                    + rate(whole.slope()) + " while the series " + rate(slope) + over
                    + " (a GC sawtooth without growth; a leak: troughs >= " + rate(floorRate) + ")");
        }
        if (confidence < settings.minConfidence()) {
            return new LeakVerdict(false, slope, null, confidence, String.format(Locale.ROOT,
                    "growth not consistent: %.0f%% of later minima above earlier ones (a leak: >= %.0f%%), "
                            + "series %s%s", confidence * 100, settings.minConfidence() * 100, rate(slope), over));
        }
        double needed = settings.minHalfShare() * slope;
        if (lateSlope < needed) {
            return new LeakVerdict(false, slope, null, confidence, "growth stopped: " + rate(earlySlope)
                    + " in the earlier half, " + rate(lateSlope) + " in the later half"
                    + " (a step or growth that levelled off)");
        }
        if (earlySlope < needed) {
            return new LeakVerdict(false, slope, null, confidence, "growth not sustained: " + rate(earlySlope)
                    + " in the earlier half, " + rate(lateSlope) + " in the later half"
                    + " (a one-off step such as a cache warming up, or growth that began recently)");
        }

        Duration toLimit = null;
        String limit = "; no limit";
        if (limitBytes > 0) {
            double intercept = intercept(t, y, slope, scratch);
            double tNow = (nowMillis - t0) / 1000.0;
            double lastBucketStart = (k - 1) * bucketLength;
            double above = 0;
            for (int i = n - 1; i >= 0 && t[i] >= lastBucketStart; i--) {
                above = Math.max(above, y[i] - (intercept + slope * t[i]));
            }
            double peakNow = intercept + slope * tNow + above;
            double seconds = Math.max(0, (limitBytes - peakNow) / slope);
            toLimit = Duration.ofMillis((long) Math.min(seconds * 1000, Long.MAX_VALUE / 2.0));
            limit = toLimit.isZero() ? "; at its limit " + mib(limitBytes)
                    : "; reaches its limit " + mib(limitBytes) + " in ~" + duration(toLimit.toMillis());
        }
        return new LeakVerdict(true, slope, toLimit, confidence, String.format(Locale.ROOT,
                "grows %s%s, minima rising in both halves (confidence %.2f)%s", rate(slope), over, confidence,
                limit));
    }

    /** The samples in {@code [from, now]}, by time. */
    private static List<MemorySample> usable(List<MemorySample> series, long from, long now) {
        List<MemorySample> usable = new ArrayList<>(series.size());
        boolean sorted = true;
        long last = Long.MIN_VALUE;
        for (MemorySample s : series) {
            long time = s.timeMillis();
            if (time >= from && time <= now) {
                sorted &= time >= last;
                last = time;
                usable.add(s);
            }
        }
        if (!sorted) {
            usable.sort(Comparator.comparingLong(MemorySample::timeMillis));
        }
        return usable;
    }

    /**
     * The Theil–Sen slope of samples {@code [from, to)} over pairs at least {@code minLag}
     * seconds apart: all of them when they fit in {@code slopes}, otherwise one from each of
     * that many equal strata of the pairs taken in order (deterministic, one pass, no search). {@code t} is ascending; {@code slopes} is scratch.
     */
    private static double theilSen(double[] t, double[] y, int from, int to, double minLag, double[] slopes) {
        int rows = to - from;
        if (rows < 2) {
            return 0;
        }
        // firstFar[r]: the first j with t[j] >= t[from + r] + minLag; row r pairs from + r with firstFar[r]..to-1.
        int[] firstFar = new int[rows];
        long total = 0;
        int j = from;
        for (int r = 0; r < rows; r++) {
            int i = from + r;
            j = Math.max(j, i + 1);
            while (j < to && t[j] - t[i] < minLag) {
                j++;
            }
            firstFar[r] = j;
            total += to - j;
        }
        if (total == 0) {
            return 0;
        }
        int m = (int) Math.min(total, slopes.length);
        if (total <= slopes.length) {
            int p = 0;
            for (int r = 0; r < rows; r++) {
                int i = from + r;
                for (int q = firstFar[r]; q < to; q++) {
                    slopes[p++] = (y[q] - y[i]) / (t[q] - t[i]);
                }
            }
        } else {
            // One pick at a fixed-seed random place in each of m equal strata of the pairs:
            // increasing, so one pass finds the rows; random within a stratum, so a sawtooth
            // cannot alias with the stride.
            SplittableRandom random = new SplittableRandom(PAIR_SEED);
            double stride = (double) total / m;
            int r = 0;
            long rowStart = 0;
            for (int p = 0; p < m; p++) {
                long pick = Math.min(total - 1, (long) ((p + random.nextDouble()) * stride));
                while (pick >= rowStart + (to - firstFar[r])) {
                    rowStart += to - firstFar[r];
                    r++;
                }
                int i = from + r;
                int q = firstFar[r] + (int) (pick - rowStart);
                slopes[p] = (y[q] - y[i]) / (t[q] - t[i]);
            }
        }
        return median(slopes, m);
    }

    /** The first index whose time is at or after {@code time}; {@code t} is ascending. */
    private static int firstAtOrAfter(double[] t, double time) {
        int i = 0;
        while (i < t.length && t[i] < time) {
            i++;
        }
        return i;
    }

    /** The median of {@code y - slope * t}: the Theil–Sen intercept. {@code scratch} is as long as {@code t}. */
    private static double intercept(double[] t, double[] y, double slope, double[] scratch) {
        for (int i = 0; i < t.length; i++) {
            scratch[i] = y[i] - slope * t[i];
        }
        return median(scratch, t.length);
    }

    /**
     * The Theil–Sen slope of the filled buckets in {@code [from, to)} and the fraction of their
     * pairs in which the later minimum is strictly higher.
     */
    private static Floor floor(double[] minT, double[] minY, boolean[] seen, int from, int to) {
        int points = 0;
        for (int b = from; b < to; b++) {
            points += seen[b] ? 1 : 0;
        }
        if (points < 2) {
            return new Floor(points, 0, 0);
        }
        double[] slopes = new double[points * (points - 1) / 2];
        int p = 0;
        int rising = 0;
        for (int a = from; a < to; a++) {
            for (int b = a + 1; seen[a] && b < to; b++) {
                if (seen[b]) {
                    slopes[p++] = (minY[b] - minY[a]) / Math.max(1e-3, minT[b] - minT[a]);
                    rising += minY[b] > minY[a] ? 1 : 0;
                }
            }
        }
        return new Floor(points, median(slopes, p), (double) rising / p);
    }

    /**
     * The trend of some bucket minima.
     *
     * @param points how many buckets had samples
     * @param slope  the Theil–Sen slope of their minima, bytes per second
     * @param rising the fraction of pairs of minima in which the later one is higher
     */
    private record Floor(int points, double slope, double rising) {
    }

    /** The median of {@code a[0, len)}, in linear expected time; reorders {@code a}. */
    static double median(double[] a, int len) {
        int upper = len / 2;
        select(a, len, upper);
        if (len % 2 == 1) {
            return a[upper];
        }
        double lower = a[0];
        for (int i = 1; i < upper; i++) {
            lower = Math.max(lower, a[i]);
        }
        return (lower + a[upper]) / 2;
    }

    /** Moves the k-th smallest of {@code a[0, len)} to {@code a[k]}, smaller ones before it (Hoare's select). */
    private static void select(double[] a, int len, int k) {
        int lo = 0;
        int hi = len - 1;
        while (lo < hi) {
            double pivot = medianOfThree(a[lo], a[(lo + hi) >>> 1], a[hi]);
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    double swap = a[i];
                    a[i] = a[j];
                    a[j] = swap;
                    i++;
                    j--;
                }
            }
            if (k <= j) {
                hi = j;
            } else if (k >= i) {
                lo = i;
            } else {
                return;
            }
        }
    }

    private static double medianOfThree(double a, double b, double c) {
        return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : sum;
    }

    /** "1.0 MiB/min", "30 KiB/min", "-2 KiB/min". */
    static String rate(double bytesPerSecond) {
        double perMinute = bytesPerSecond * 60;
        if (Math.abs(perMinute) >= 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f MiB/min", perMinute / (1024 * 1024));
        }
        return String.format(Locale.ROOT, "%.0f KiB/min", perMinute / 1024);
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / (1024.0 * 1024));
    }

    /** "45 s", "28 min", "1 h 40 min", "3 d 2 h". */
    static String duration(long millis) {
        long minutes = Math.round(millis / 60_000.0);
        if (millis < 60_000) {
            return Math.round(millis / 1000.0) + " s";
        }
        if (minutes < 60) {
            return minutes + " min";
        }
        if (minutes < 48 * 60) {
            return minutes / 60 + " h " + minutes % 60 + " min";
        }
        return minutes / (24 * 60) + " d " + minutes / 60 % 24 + " h";
    }
}
