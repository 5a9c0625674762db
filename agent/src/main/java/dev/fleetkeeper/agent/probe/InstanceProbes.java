package dev.fleetkeeper.agent.probe;

import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes the running instances that have a probe, every {@code every}, on its own thread
 * ({@code fleetkeeper-probes}, started with the first target so that an agent without probes
 * pays nothing), so that a slow instance never stalls the service reports. The reconciliation
 * aims it at each running instance ({@link #aim}) and reads the newest result for the process
 * it sees ({@link #latest}). Until its process has been probed, and when its newest result is
 * older than three periods and two timeouts (the probe thread is stuck on slow instances), an
 * instance's result is a failing one that says so: a gate never passes on a probe that did not
 * run. A result for another process (the instance restarted) does not count. Probes run one
 * after another, each bounded by the timeout per connection and per read. Thread-safe; owned by
 * the service manager, which closes it.
 */
public final class InstanceProbes implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(InstanceProbes.class);
    /** Time between two probes of an instance. */
    public static final Duration DEFAULT_EVERY = Duration.ofSeconds(2);
    /** How long one probe waits for a connection or an answer. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

    private record Target(ProbeSpec probe, int pid, List<Integer> ports) {
    }

    /** When each key was aimed at its current target, for the pending result's "since". */
    private final Map<String, Long> aimedAt = new ConcurrentHashMap<>();
    /** How old a result may be before it no longer counts. */
    private final Duration staleAfter;

    private final Prober prober;
    private final Duration firstDelay;
    private final InstantSource clock;
    private final Duration every;
    private final Map<String, Target> targets = new ConcurrentHashMap<>();
    private final Map<String, ProbeResult> results = new ConcurrentHashMap<>();
    private ScheduledExecutorService thread;
    private boolean closed;

    /** Probes with the given period and per-probe timeout; the first round runs as soon as there is a target. */
    public InstanceProbes(InstantSource clock, Duration every, Duration timeout) {
        this(clock, every, timeout, Duration.ZERO);
    }

    /** As above, the first round {@code firstDelay} after the first target (tests run rounds themselves). */
    InstanceProbes(InstantSource clock, Duration every, Duration timeout, Duration firstDelay) {
        this.firstDelay = firstDelay;
        this.clock = Objects.requireNonNull(clock, "clock");
        if (every.isNegative() || every.isZero()) {
            throw new IllegalArgumentException("every: " + every + " (expected: > 0)");
        }
        this.every = every;
        this.staleAfter = every.multipliedBy(3).plus(timeout.multipliedBy(2));
        this.prober = new Prober(timeout);
    }

    /**
     * Probes instance {@code key}'s process {@code pid} with {@code probe} from now on, on
     * {@code ports}; replaces what it was aimed at before.
     */
    public void aim(String key, ProbeSpec probe, int pid, List<Integer> ports) {
        Target t = new Target(probe, pid, List.copyOf(ports));
        if (!t.equals(targets.put(key, t))) {
            aimedAt.put(key, clock.millis());
            startIfNeeded();
        }
    }

    /** Stops probing every instance whose key is not in {@code keys}. */
    public void retain(Set<String> keys) {
        targets.keySet().retainAll(keys);
        results.keySet().retainAll(keys);
        aimedAt.keySet().retainAll(keys);
    }

    /**
     * The newest result of {@code probe} for process {@code pid} of {@code key} (aimed at it
     * before): a failing "not probed yet" until the first run, and a failing "no result for N s"
     * once the newest is older than three periods and two timeouts.
     */
    public ProbeResult latest(String key, ProbeSpec probe, int pid) {
        long now = clock.millis();
        ProbeResult r = results.get(key);
        if (r == null || r.pid() != pid || !r.probe().equals(probe.toString())) {
            return new ProbeResult(probe.toString(), false, "not probed yet (pid " + pid + ")", pid,
                    aimedAt.getOrDefault(key, now), 0);
        }
        if (now - r.checkedAtMillis() > staleAfter.toMillis()) {
            return new ProbeResult(r.probe(), false, "no result for " + (now - r.checkedAtMillis()) / 1000
                    + " s (the agent's probe thread is behind; last: " + r.detail() + ")", pid, r.checkedAtMillis(),
                    r.checkedAtMillis());
        }
        return r;
    }

    private synchronized void startIfNeeded() {
        if (thread != null || closed) {
            return;
        }
        thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fleetkeeper-probes");
            t.setDaemon(true);
            return t;
        });
        try {
            thread.scheduleWithFixedDelay(this::probeAll, firstDelay.toMillis(), every.toMillis(),
                    TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // Closed meanwhile.
        }
    }

    /** One round: every target once, one after another. */
    void probeAll() {
        for (Map.Entry<String, Target> e : targets.entrySet()) {
            String key = e.getKey();
            Target t = e.getValue();
            try {
                Prober.Outcome o = prober.run(t.probe(), t.ports());
                long now = clock.millis();
                results.compute(key, (k, before) -> {
                    if (!t.equals(targets.get(k))) {
                        return before; // re-aimed or forgotten while it ran
                    }
                    boolean same = before != null && before.pid() == t.pid() && before.ok() == o.ok()
                            && before.probe().equals(t.probe().toString());
                    return new ProbeResult(t.probe().toString(), o.ok(), o.detail(), t.pid(),
                            same ? before.sinceMillis() : now, now);
                });
            } catch (RuntimeException | Error ex) {
                // Caught so that the schedule goes on: an escaping throwable would end it silently.
                log.error("Probe of {} failed to run; it runs again in {}", key, every, ex);
            }
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (thread != null) {
            thread.shutdownNow();
            try {
                thread.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
