package dev.fleetkeeper.agent.memory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Generates labelled memory series of named shapes, seeded, for the {@link LeakDetector}'s tests
 * and for {@code fleetkeeper bench leak}. Not agent logic. Stateless; thread-safe.
 *
 * <p>A series is {@code base + trend(s) + sawtooth(s) + noise}, one sample per interval, where
 * {@code s} is seconds since the first sample; the instance started long before (one hour) unless
 * a test says otherwise, so the detector's warm-up does not apply.
 */
public final class SyntheticSeries {

    private static final long MIB = 1024 * 1024;

    private SyntheticSeries() {
    }

    /** The shapes, each labelled with whether it is a leak (see {@link LeakDetector}'s Javadoc for why). */
    public enum Shape {
        /** Flat with noise. */
        FLAT(false, "flat"),
        /** Linear growth, little noise. */
        STEADY_GROWTH(true, "steady growth"),
        /** Linear growth under heavy noise. */
        NOISY_GROWTH(true, "noisy growth"),
        /** A GC sawtooth (fill, collect back to the floor) on a flat floor. */
        SAWTOOTH_FLAT(false, "sawtooth, no growth"),
        /** A GC sawtooth whose floor rises. */
        SAWTOOTH_GROWTH(true, "sawtooth with growth"),
        /** A cache warming up: a saturating rise (1-min time constant), then a plateau. */
        STEP_THEN_FLAT(false, "step then flat"),
        /** Linear growth that stops part-way through; flat for the recent part. */
        GROWTH_THEN_FLAT(false, "growth that stops");

        private final boolean leak;
        private final String label;

        Shape(boolean leak, String label) {
            this.leak = leak;
            this.label = label;
        }

        /** Whether the detector should flag this shape. */
        public boolean leak() {
            return leak;
        }

        /** A short name for a person. */
        public String label() {
            return label;
        }
    }

    /**
     * One series to generate. Immutable.
     *
     * @param shape                the shape
     * @param baseBytes            the level at the first sample
     * @param slopeBytesPerSecond  growth rate of the growing shapes (while they grow)
     * @param noiseBytes           standard deviation of Gaussian noise
     * @param gcPeriod             sawtooth period (sawtooth shapes)
     * @param gcAmplitudeBytes     sawtooth height (sawtooth shapes)
     * @param stepBytes            height of the step (step shape)
     * @param changeAt             where the step happens or the growth stops, fraction of the length
     * @param interval             time between samples
     * @param length               time from the first sample to the last
     * @param limitBytes           the instance's memory limit, {@code <= 0} for none
     */
    public record Spec(Shape shape, long baseBytes, double slopeBytesPerSecond, double noiseBytes,
                       Duration gcPeriod, long gcAmplitudeBytes, long stepBytes, double changeAt,
                       Duration interval, Duration length, long limitBytes) {

        public Spec {
            Objects.requireNonNull(shape, "shape");
            Objects.requireNonNull(gcPeriod, "gcPeriod");
            Objects.requireNonNull(interval, "interval");
            Objects.requireNonNull(length, "length");
            if (baseBytes <= 0) {
                throw new IllegalArgumentException("baseBytes: " + baseBytes + " (expected: > 0)");
            }
            if (!(noiseBytes >= 0)) {
                throw new IllegalArgumentException("noiseBytes: " + noiseBytes + " (expected: >= 0)");
            }
            if (gcPeriod.toMillis() <= 0) {
                throw new IllegalArgumentException("gcPeriod: " + gcPeriod + " (expected: >= 1 ms)");
            }
            if (!(changeAt >= 0 && changeAt <= 1)) {
                throw new IllegalArgumentException("changeAt: " + changeAt + " (expected: 0 to 1)");
            }
            if (interval.toMillis() <= 0) {
                throw new IllegalArgumentException("interval: " + interval + " (expected: >= 1 ms)");
            }
            if (length.compareTo(interval) < 0) {
                throw new IllegalArgumentException("length: " + length + " (expected: >= interval " + interval + ")");
            }
        }

        /**
         * A clear example of the shape: 200 MiB, 1 MiB/min where it grows, 0.25 MiB noise (2 MiB
         * for noisy growth), a 60-s sawtooth of 24 MiB, a 40 MiB step at 40%, growth stopping at
         * 45%; 30 minutes at 5 s; a 1 GiB limit.
         */
        public static Spec typical(Shape shape) {
            return new Spec(shape, 200 * MIB, MIB / 60.0, shape == Shape.NOISY_GROWTH ? 2 * MIB : MIB / 4.0,
                    Duration.ofSeconds(60), 24 * MIB, 40 * MIB, shape == Shape.STEP_THEN_FLAT ? 0.4 : 0.45,
                    Duration.ofSeconds(5), Duration.ofMinutes(30), 1024 * MIB);
        }

        /** This spec with another growth rate. */
        public Spec withSlope(double newSlopeBytesPerSecond) {
            return new Spec(shape, baseBytes, newSlopeBytesPerSecond, noiseBytes, gcPeriod, gcAmplitudeBytes,
                    stepBytes, changeAt, interval, length, limitBytes);
        }

        /** This spec with another noise. */
        public Spec withNoise(double newNoiseBytes) {
            return new Spec(shape, baseBytes, slopeBytesPerSecond, newNoiseBytes, gcPeriod, gcAmplitudeBytes,
                    stepBytes, changeAt, interval, length, limitBytes);
        }

        /** This spec with the step or the end of growth elsewhere. */
        public Spec withChangeAt(double newChangeAt) {
            return new Spec(shape, baseBytes, slopeBytesPerSecond, noiseBytes, gcPeriod, gcAmplitudeBytes,
                    stepBytes, newChangeAt, interval, length, limitBytes);
        }

        /** This spec with another limit. */
        public Spec withLimit(long newLimitBytes) {
            return new Spec(shape, baseBytes, slopeBytesPerSecond, noiseBytes, gcPeriod, gcAmplitudeBytes,
                    stepBytes, changeAt, interval, length, newLimitBytes);
        }

        /** This spec with another length. */
        public Spec withLength(Duration newLength) {
            return new Spec(shape, baseBytes, slopeBytesPerSecond, noiseBytes, gcPeriod, gcAmplitudeBytes,
                    stepBytes, changeAt, interval, newLength, limitBytes);
        }

        /**
         * A random spec of the shape, for the bench: base 60–400 MiB; growth 0.2–3 MiB/min
         * (log-uniform); noise 0–0.5 MiB (1–3 MiB for noisy growth); sawtooth period 15–150 s and
         * height 5–60 MiB; step 10–80 MiB at 15–85%; growth stopping at 25–60%; a limit 1.5–4x
         * the base, or none in one series of ten; 30 minutes at 5 s.
         */
        public static Spec random(Shape shape, SplittableRandom random) {
            long base = (long) (random.nextDouble(60, 400) * MIB);
            double slope = Math.exp(random.nextDouble(Math.log(0.2), Math.log(3))) * MIB / 60;
            double noise = shape == Shape.NOISY_GROWTH ? random.nextDouble(1, 3) * MIB
                    : random.nextDouble(0, 0.5) * MIB;
            Duration period = Duration.ofMillis((long) (random.nextDouble(15, 150) * 1000));
            long amplitude = (long) (random.nextDouble(5, 60) * MIB);
            long step = (long) (random.nextDouble(10, 80) * MIB);
            double changeAt = shape == Shape.STEP_THEN_FLAT ? random.nextDouble(0.15, 0.85)
                    : random.nextDouble(0.25, 0.6);
            long limit = random.nextInt(10) == 0 ? 0 : (long) (base * random.nextDouble(1.5, 4));
            return new Spec(shape, base, slope, noise, period, amplitude, step, changeAt, Duration.ofSeconds(5),
                    Duration.ofMinutes(30), limit);
        }
    }

    /**
     * A generated series and how to assess it.
     *
     * @param spec            what it was generated from
     * @param samples         the samples, by time
     * @param startedAtMillis when the instance started
     * @param nowMillis       the last sample's time: assess at this instant
     */
    public record Series(Spec spec, List<MemorySample> samples, long startedAtMillis, long nowMillis) {
        public Series {
            Objects.requireNonNull(spec, "spec");
            samples = List.copyOf(samples);
        }

        /** Whether the detector should flag it. */
        public boolean leak() {
            return spec.shape().leak();
        }

        /** The detector's verdict on it. */
        public LeakVerdict assess(LeakDetector detector) {
            return detector.assess(samples, spec.limitBytes(), startedAtMillis, nowMillis);
        }
    }

    /** Generates {@code spec} from {@code seed}; the first sample is at {@code firstMillis}. */
    public static Series generate(Spec spec, long seed, long firstMillis) {
        SplittableRandom random = new SplittableRandom(seed);
        long intervalMs = spec.interval().toMillis();
        int n = (int) (spec.length().toMillis() / intervalMs) + 1;
        double periodS = spec.gcPeriod().toMillis() / 1000.0;
        double phase = random.nextDouble() * periodS;
        double lengthS = spec.length().toMillis() / 1000.0;
        double changeS = spec.changeAt() * lengthS;
        List<MemorySample> samples = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            double s = i * intervalMs / 1000.0;
            double value = spec.baseBytes() + trend(spec, s, changeS) + spec.noiseBytes() * random.nextGaussian();
            if (spec.shape() == Shape.SAWTOOTH_FLAT || spec.shape() == Shape.SAWTOOTH_GROWTH) {
                double cycle = (s + phase) / periodS;
                value += spec.gcAmplitudeBytes() * (cycle - Math.floor(cycle));
            }
            long rss = Math.max(1, Math.round(value));
            samples.add(new MemorySample(firstMillis + i * intervalMs, rss, -1));
        }
        long now = firstMillis + (n - 1) * intervalMs;
        return new Series(spec, samples, firstMillis - Duration.ofHours(1).toMillis(), now);
    }

    private static double trend(Spec spec, double s, double changeS) {
        return switch (spec.shape()) {
            case STEADY_GROWTH, NOISY_GROWTH, SAWTOOTH_GROWTH -> spec.slopeBytesPerSecond() * s;
            case GROWTH_THEN_FLAT -> spec.slopeBytesPerSecond() * Math.min(s, changeS);
            case STEP_THEN_FLAT -> s < changeS ? 0 : spec.stepBytes() * (1 - Math.exp(-(s - changeS) / 60));
            case FLAT, SAWTOOTH_FLAT -> 0;
        };
    }

    /**
     * A labelled set: {@code perShape} random series of every shape, from one seed. Series are
     * in shape order, each starting at {@code firstMillis}.
     */
    public static List<Series> labelledSet(int perShape, long seed, long firstMillis) {
        if (perShape < 1) {
            throw new IllegalArgumentException("perShape: " + perShape + " (expected: >= 1)");
        }
        SplittableRandom random = new SplittableRandom(seed);
        List<Series> set = new ArrayList<>(perShape * Shape.values().length);
        for (Shape shape : Shape.values()) {
            for (int i = 0; i < perShape; i++) {
                set.add(generate(Spec.random(shape, random), random.nextLong(), firstMillis));
            }
        }
        return set;
    }
}
