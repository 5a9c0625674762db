package dev.fleetkeeper.controller.rollout;

import dev.fleetkeeper.controller.recycle.MinAvailable;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * How a rollout proceeds. Immutable; the compact constructor replaces zero values by the
 * defaults (Nomad's update stanza) and checks the rest, saying what is expected.
 *
 * @param canary                instances updated first, alone [{@value #DEFAULT_CANARY}]
 * @param batch                 instances per batch after the canary: "N" or "P%" of the instances in
 *                              the rollout, rounded up [{@value #DEFAULT_BATCH}]
 * @param minHealthyMillis      how long an instance must pass every gate to count as done [10 s]
 * @param healthyDeadlineMillis how long an instance may take to become healthy [5 min]; also how
 *                              long a disconnected host is waited for
 * @param progressDeadlineMillis how long the rollout may go without an instance becoming healthy [10 min]
 * @param maxFailures           failed instances tolerated [0]
 * @param autoPromote           promote after a healthy canary without an operator
 * @param autoRollback          on failure, send every changed instance back to its previous release
 * @param pauseOnDisconnect     a host disconnected past the healthy deadline pauses instead of failing
 * @param probe                 the probe each updated instance must pass, run by its agent on loopback:
 *                              "tcp" (every declared port accepts) or "http:/path" (GET on the first
 *                              declared port answers 2xx or 3xx); "" for the service's declared probe, if any
 * @param memoryTolerance       accepted growth of the settled memory over the previous version's, as
 *                              a fraction; 0 for the service's own tolerance (the agent's finding)
 * @param minAvailable          the floor of available instances kept on every host while its instances
 *                              are updated or rolled back: "N", or "P%" of the host's declared instances
 *                              rounded up; "" [default] for each host's declared floor where it declares
 *                              one, else all but one ({@link #floorOn})
 */
public record RolloutPlan(int canary, String batch, long minHealthyMillis, long healthyDeadlineMillis,
                          long progressDeadlineMillis, int maxFailures, boolean autoPromote, boolean autoRollback,
                          boolean pauseOnDisconnect, String probe, double memoryTolerance, String minAvailable) {

    /** Canary instances when not asked. */
    public static final int DEFAULT_CANARY = 1;
    /** Batch size when not asked. */
    public static final String DEFAULT_BATCH = "1";
    /** Min healthy time when not asked. */
    public static final Duration DEFAULT_MIN_HEALTHY = Duration.ofSeconds(10);
    /** Healthy deadline when not asked. */
    public static final Duration DEFAULT_HEALTHY_DEADLINE = Duration.ofMinutes(5);
    /** Progress deadline when not asked. */
    public static final Duration DEFAULT_PROGRESS_DEADLINE = Duration.ofMinutes(10);

    /** The floor on a host that declares none and when the plan asks for none: all but one instance. */
    private static final MinAvailable DEFAULT_FLOOR = MinAvailable.parse("");

    public RolloutPlan {
        Objects.requireNonNull(batch, "batch");
        Objects.requireNonNull(probe, "probe");
        Objects.requireNonNull(minAvailable, "minAvailable");
        if (canary < 0) {
            throw new IllegalArgumentException("canary: " + canary + " (expected: >= 1, or 0 for the default "
                    + DEFAULT_CANARY + ")");
        }
        canary = canary == 0 ? DEFAULT_CANARY : canary;
        batch = batch.isBlank() ? DEFAULT_BATCH : batch.strip();
        parseBatch(batch);
        minHealthyMillis = orDefault("min_healthy_ms", minHealthyMillis, DEFAULT_MIN_HEALTHY);
        healthyDeadlineMillis = orDefault("healthy_deadline_ms", healthyDeadlineMillis, DEFAULT_HEALTHY_DEADLINE);
        progressDeadlineMillis = orDefault("progress_deadline_ms", progressDeadlineMillis, DEFAULT_PROGRESS_DEADLINE);
        if (healthyDeadlineMillis <= minHealthyMillis) {
            throw new IllegalArgumentException("healthy_deadline_ms: " + healthyDeadlineMillis
                    + " (expected: more than min_healthy_ms " + minHealthyMillis
                    + ", or an instance could never become healthy in time)");
        }
        if (progressDeadlineMillis < healthyDeadlineMillis) {
            throw new IllegalArgumentException("progress_deadline_ms: " + progressDeadlineMillis
                    + " (expected: at least healthy_deadline_ms " + healthyDeadlineMillis + ")");
        }
        if (maxFailures < 0) {
            throw new IllegalArgumentException("max_failures: " + maxFailures + " (expected: >= 0)");
        }
        probe = probe(probe);
        if (!(memoryTolerance >= 0) || Double.isInfinite(memoryTolerance)) {
            throw new IllegalArgumentException("memory_tolerance: " + memoryTolerance
                    + " (expected: a fraction >= 0 such as 0.2, or 0 for the service's own tolerance)");
        }
        minAvailable = parseMinAvailable(minAvailable).spec();
    }

    /** The probe normalized ("HTTP" is "http:/"), or the reason it is not one. */
    private static String probe(String text) {
        String s = text.strip();
        String lower = s.toLowerCase(Locale.ROOT);
        if (s.isEmpty() || lower.equals("tcp")) {
            return lower;
        }
        if (lower.equals("http")) {
            return "http:/";
        }
        if (lower.startsWith("http:/") && s.chars().noneMatch(c -> c <= ' ' || c == 127)) {
            return "http:" + s.substring("http:".length());
        }
        throw new IllegalArgumentException("probe: '" + text + "' (expected: \"tcp\" (every declared port accepts a "
                + "connection), \"http:/path\" such as http:/healthz (GET on the first declared port answers 2xx or "
                + "3xx), or \"\" for the service's declared probe)");
    }

    /** Every value at its default. */
    public static RolloutPlan defaults() {
        return new RolloutPlan(0, "", 0, 0, 0, 0, false, false, false, "", 0, "");
    }

    /**
     * Checks the plan against a rollout of {@code instances} instances.
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    public void checkFor(int instances) {
        if (canary > instances) {
            throw new IllegalArgumentException("canary: " + canary + " but the rollout has only " + instances
                    + " instance(s) (expected: 1 to " + instances + ")");
        }
    }

    /** Instances per batch in a rollout of {@code instances} instances: at least 1. */
    public int batchSize(int instances) {
        int[] b = parseBatch(batch);
        int n = b[0] >= 0 ? b[0] : (int) (((long) instances * b[1] + 99) / 100);
        return Math.max(1, n);
    }

    /**
     * The floor of available instances on a host that declares {@code declared} instances and
     * reports {@code declaredFloor} (0: none): this plan's {@code min_available} if set, else the
     * host's declared floor if above 0, else all but one instance.
     */
    public Floor floorOn(int declared, int declaredFloor) {
        if (!minAvailable.isEmpty()) {
            return new Floor(parseMinAvailable(minAvailable).floorFor(declared), "min_available " + minAvailable
                    + " of the rollout");
        }
        if (declaredFloor > 0) {
            return new Floor(declaredFloor, "declared on host");
        }
        return new Floor(DEFAULT_FLOOR.floorFor(declared), "default: all but one");
    }

    /**
     * A host's floor of available instances, and where it comes from.
     *
     * @param instances the instances that must stay available
     * @param source    "declared on host", "min_available 2 of the rollout" or "default: all but one"
     */
    public record Floor(int instances, String source) {
        public Floor {
            Objects.requireNonNull(source, "source");
        }

        /** "floor 2 (declared on host)", for messages. */
        public String describe() {
            return "floor " + instances + " (" + source + ")";
        }
    }

    private static MinAvailable parseMinAvailable(String spec) {
        try {
            return MinAvailable.parse(spec);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("min_available: '" + spec + "' (expected: a number of instances "
                    + "such as 2, or a percentage of each host's instances from 0% to 100% such as 50%; \"\" keeps "
                    + "each host's declared floor, else all but one)", e);
        }
    }

    /** {number, -1} or {-1, percent}. */
    private static int[] parseBatch(String spec) {
        String s = spec.strip();
        try {
            if (s.endsWith("%")) {
                int p = Integer.parseInt(s.substring(0, s.length() - 1).strip());
                if (p >= 1 && p <= 100) {
                    return new int[] {-1, p};
                }
            } else {
                int n = Integer.parseInt(s);
                if (n >= 1) {
                    return new int[] {n, -1};
                }
            }
        } catch (NumberFormatException e) {
            // Falls through to the message below.
        }
        throw new IllegalArgumentException("batch: '" + spec + "' (expected: a number of instances >= 1 such as 2, "
                + "or a percentage of the rollout's instances from 1% to 100% such as 25%)");
    }

    private static long orDefault(String name, long value, Duration dflt) {
        if (value < 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: > 0, or 0 for the default "
                    + dflt.toString().substring(2).toLowerCase(Locale.ROOT) + ")");
        }
        return value == 0 ? dflt.toMillis() : value;
    }
}
