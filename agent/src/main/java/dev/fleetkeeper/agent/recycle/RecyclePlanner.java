package dev.fleetkeeper.agent.recycle;

import dev.fleetkeeper.agent.memory.LeakVerdict;
import dev.fleetkeeper.agent.service.ServiceSpec.MemorySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Decides which instances of one service to recycle now: a pure function of the service's memory
 * policy, what is known of each instance, and the time. No I/O; the service manager carries the
 * decisions out (a graceful restart through the driver, the same path as a crash restart or an
 * operator's restart).
 *
 * <h2>Rules</h2>
 * <ol>
 * <li>A <b>trigger</b> fires on an instance that is available (below) and not already recycling:
 *     {@link Trigger#OVER_LIMIT} after {@code overLimitSamples} consecutive samples above its
 *     limit; {@link Trigger#FORECAST} when the detector calls it leaking and forecasts the limit
 *     within {@code forecastUnder}; {@link Trigger#MAX_AGE} once it is {@code maxAge} old. A
 *     verdict that is not {@code leaking} never fires, whatever its forecast (a sawtooth).</li>
 * <li><b>Available</b> means up (running, its ports bound), not crash-looping, not recycling.</li>
 * <li>Recycling is <b>stop-first</b>: a recycle takes its instance down until it is back up. So
 *     the number started now is at most {@code maxRecycling - inFlight} and at most
 *     {@code available - minAvailable}; triggered instances beyond that are held, with the reason.</li>
 * <li>The most <b>urgent</b> go first: over the limit, then forecast (shortest time to the limit
 *     first), then age; ties go to the oldest process, then the lowest index.</li>
 * </ol>
 *
 * <p>Thread-safe (stateless).
 */
public final class RecyclePlanner {

    private RecyclePlanner() {
    }

    /** Why an instance is recycled, most urgent first. */
    public enum Trigger {
        /** Above its limit for {@code overLimitSamples} samples in a row. */
        OVER_LIMIT,
        /** Leaking, and forecast to reach its limit within {@code forecastUnder}. */
        FORECAST,
        /** Older than {@code maxAge}. */
        MAX_AGE
    }

    /**
     * What the planner knows of one instance.
     *
     * @param instance         the index
     * @param up               running with its expected ports bound
     * @param crashLooping     restarted too often lately (the doctor's CRASH_LOOP threshold)
     * @param recycling        a recycle of it is in flight
     * @param startedAtMillis  when its process started, epoch ms; 0 if unknown
     * @param rssBytes         its newest RSS, -1 if unknown
     * @param limitBytes       its limit now, 0 if unknown
     * @param overLimitSamples consecutive samples above the limit
     * @param verdict          the leak detector's verdict, null when there is none (warm-up, too few samples)
     */
    public record Instance(int instance, boolean up, boolean crashLooping, boolean recycling, long startedAtMillis,
                           long rssBytes, long limitBytes, int overLimitSamples, LeakVerdict verdict) {

        /** Counts towards capacity: up, not crash-looping, not being recycled. */
        public boolean available() {
            return up && !crashLooping && !recycling;
        }
    }

    /**
     * A recycle to start now.
     *
     * @param timeToLimit the forecast, null when none
     * @param reason      one line for a person
     */
    public record Recycle(int instance, Trigger trigger, long rssBytes, long limitBytes, Duration timeToLimit,
                          String reason) {
        public Recycle {
            Objects.requireNonNull(trigger, "trigger");
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** A triggered instance not recycled now, and why (the budget). */
    public record Held(int instance, Trigger trigger, String why) {
    }

    /**
     * The decision.
     *
     * @param recycle   to start now, most urgent first
     * @param held      triggered but over the budget
     * @param available instances counting towards capacity before these recycles
     * @param floor     {@code minAvailable} for the pool
     * @param inFlight  recycles already in flight
     */
    public record Plan(List<Recycle> recycle, List<Held> held, int available, int floor, int inFlight) {
        public Plan {
            recycle = List.copyOf(recycle);
            held = List.copyOf(held);
        }
    }

    private record Triggered(Instance in, Trigger trigger, Duration ttl) {
    }

    private static final Comparator<Triggered> URGENCY = Comparator
            .comparing(Triggered::trigger)
            .thenComparing(t -> t.ttl() == null ? Duration.ofSeconds(Long.MAX_VALUE) : t.ttl())
            .thenComparingLong(t -> t.in().startedAtMillis() > 0 ? t.in().startedAtMillis() : Long.MAX_VALUE)
            .thenComparingInt(t -> t.in().instance());

    /**
     * Which instances of a pool of {@code instances} to recycle at {@code nowMillis}.
     *
     * @param policy    the service's memory policy
     * @param instances the pool size ({@code minAvailable} percentages refer to it)
     * @param states    one per instance the manager reports
     */
    public static Plan decide(MemorySpec policy, int instances, List<Instance> states, long nowMillis) {
        Objects.requireNonNull(policy, "policy");
        int floor = policy.minAvailable(instances);
        int inFlight = (int) states.stream().filter(Instance::recycling).count();
        int available = (int) states.stream().filter(Instance::available).count();
        List<Triggered> triggered = new ArrayList<>();
        for (Instance in : states) {
            if (!in.available()) {
                continue;
            }
            Triggered t = trigger(policy, in, nowMillis);
            if (t != null) {
                triggered.add(t);
            }
        }
        triggered.sort(URGENCY);
        int budget = Math.max(0, Math.min(policy.maxRecycling() - inFlight, available - floor));
        List<Recycle> now = new ArrayList<>();
        List<Held> held = new ArrayList<>();
        for (Triggered t : triggered) {
            if (now.size() < budget) {
                now.add(new Recycle(t.in().instance(), t.trigger(), t.in().rssBytes(), t.in().limitBytes(), t.ttl(),
                        reason(policy, t, nowMillis)));
            } else {
                held.add(new Held(t.in().instance(), t.trigger(), why(policy, instances, inFlight + now.size(),
                        available - now.size(), floor)));
            }
        }
        return new Plan(now, held, available, floor, inFlight);
    }

    private static Triggered trigger(MemorySpec policy, Instance in, long nowMillis) {
        if (in.limitBytes() > 0 && in.overLimitSamples() >= policy.overLimitSamples()) {
            return new Triggered(in, Trigger.OVER_LIMIT, forecast(in.verdict()));
        }
        LeakVerdict v = in.verdict();
        if (!policy.forecastUnder().isZero() && v != null && v.leaking() && v.timeToLimit() != null
                && v.timeToLimit().compareTo(policy.forecastUnder()) <= 0) {
            return new Triggered(in, Trigger.FORECAST, v.timeToLimit());
        }
        if (!policy.maxAge().isZero() && in.startedAtMillis() > 0
                && nowMillis - in.startedAtMillis() >= policy.maxAge().toMillis()) {
            return new Triggered(in, Trigger.MAX_AGE, forecast(v));
        }
        return null;
    }

    private static Duration forecast(LeakVerdict v) {
        return v != null && v.leaking() ? v.timeToLimit() : null;
    }

    private static String reason(MemorySpec policy, Triggered t, long nowMillis) {
        Instance in = t.in();
        switch (t.trigger()) {
            case OVER_LIMIT:
                return "RSS " + mib(in.rssBytes()) + " over the limit " + mib(in.limitBytes()) + " for "
                        + in.overLimitSamples() + " samples";
            case FORECAST:
                return "leaking: forecast to reach the limit " + mib(in.limitBytes()) + " in " + seconds(t.ttl())
                        + " (RSS " + mib(in.rssBytes()) + "; " + in.verdict().reason() + ")";
            default:
                return "running for " + seconds(Duration.ofMillis(nowMillis - in.startedAtMillis())) + " (maxAge "
                        + seconds(policy.maxAge()) + ")";
        }
    }

    private static String why(MemorySpec policy, int instances, int inFlight, int available, int floor) {
        if (policy.maxRecycling() == 0) {
            return "maxRecycling is 0: detect and report only";
        }
        if (inFlight >= policy.maxRecycling()) {
            return inFlight + " recycling already (maxRecycling " + policy.maxRecycling() + ")";
        }
        return available + " of " + instances + " instances available, minAvailable " + floor;
    }

    static String mib(long bytes) {
        return bytes < 0 ? "?" : String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    static String seconds(Duration d) {
        return d == null ? "?" : String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }
}
