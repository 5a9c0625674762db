package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.controller.store.FleetStore;
import dev.fleetkeeper.controller.store.StoreBatch;
import dev.fleetkeeper.proto.v1.Event;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit: takes the units of work the engine hands over, commits every unit waiting at
 * that moment as one atomic write, and only then acknowledges the agents' messages and
 * publishes the stored events. One thread ({@code fleetkeeper-store-writer}); a bounded queue,
 * so a slow disk pushes back on the engine, and the engine on the agents.
 *
 * <p>When a commit fails (disk full), its agents are disconnected unacknowledged, and its
 * batches are kept and committed first with the next group: the engine has already applied
 * those messages to its live model, so a reconnecting agent's snapshot would not produce their
 * events again. The operator is told once per {@link #LOG_EVERY}, not once per commit.
 */
final class StoreWriter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(StoreWriter.class);
    private static final Unit POISON = new Unit(null, List.of(), List.of());
    /** At most one error log per this while commits keep failing. */
    static final Duration LOG_EVERY = Duration.ofSeconds(60);
    /** Failed batches kept for the next commit; beyond this the oldest are dropped (memory bound). */
    static final int MAX_HELD_BATCHES = 4096;

    /**
     * One flush of the engine: a batch, the acks it makes possible, and what else waits for it
     * to be durable (completing actions whose results it stores). A failed commit runs none of
     * {@code afterCommit}: its agents are disconnected and resend, and the resend runs them.
     */
    record Unit(StoreBatch batch, List<Ack> acks, List<Runnable> afterCommit) {
    }

    /** Acknowledge {@code sequence} on {@code session} once durable; {@code receiptNanos} for latency. */
    record Ack(AgentSession session, long sequence, long receiptNanos) {
    }

    private final FleetStore store;
    private final EventBus bus;
    private final InstantSource clock;
    private final BlockingQueue<Unit> queue = new ArrayBlockingQueue<>(1024);
    private final Thread thread;
    private final Timer commitTimer;
    private final Timer durableLatency;
    private final Counter failures;
    private volatile boolean running = true;

    // Writer-thread state while commits fail.
    private final ArrayDeque<StoreBatch> held = new ArrayDeque<>();
    private long failedSince = -1;
    private long failedCommits;
    private long lastFailureLogMillis;
    private long droppedBatches;

    StoreWriter(FleetStore store, EventBus bus, InstantSource clock, MeterRegistry registry) {
        this.store = store;
        this.bus = bus;
        this.clock = clock;
        this.commitTimer = Timer.builder("fleetkeeper.controller.store.group.commit")
                .description("Time to commit one group of batches").register(registry);
        this.durableLatency = Timer.builder("fleetkeeper.controller.ingest.durable.latency")
                .description("From receipt of an agent message to its effects being durable")
                .publishPercentiles(0.5, 0.99)
                // Percentiles over the last ~30 s, so that a connect storm does not dominate for minutes.
                .distributionStatisticExpiry(java.time.Duration.ofSeconds(30))
                .distributionStatisticBufferLength(3)
                .register(registry);
        this.failures = Counter.builder("fleetkeeper.controller.store.failures")
                .description("Group commits that failed; their messages were not acknowledged").register(registry);
        this.thread = new Thread(this::run, "fleetkeeper-store-writer");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Hands a unit over; blocks while the writer is a full queue behind (back-pressure). */
    void submit(Unit unit) throws InterruptedException {
        queue.put(unit);
    }

    Timer durableLatency() {
        return durableLatency;
    }

    private void run() {
        List<Unit> group = new ArrayList<>();
        while (running) {
            try {
                Unit first = queue.take();
                if (first == POISON) {
                    break;
                }
                group.add(first);
                queue.drainTo(group);
                boolean stop = group.removeIf(u -> u == POISON);
                commit(group);
                group.clear();
                if (stop) {
                    break;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException | Error e) {
                log.error("Store writer failed unexpectedly; continuing", e);
                group.clear();
            }
        }
    }

    private void commit(List<Unit> group) {
        List<StoreBatch> batches = new ArrayList<>(held.size() + group.size());
        batches.addAll(held);
        for (Unit u : group) {
            if (u.batch() != null && !u.batch().isEmpty()) {
                batches.add(u.batch());
            }
        }
        List<Event> stored;
        long start = System.nanoTime();
        try {
            stored = batches.isEmpty() ? List.of() : store.commit(batches);
        } catch (RuntimeException e) {
            failed(e, group, batches);
            return;
        }
        if (failedSince >= 0 && !batches.isEmpty()) {
            log.warn("The store at {} accepts writes again after {} failed commit(s) over {} s; {} held batch(es) "
                    + "are stored now{}", store.directory(), failedCommits, (clock.millis() - failedSince) / 1000,
                    held.size(), droppedBatches == 0 ? "" : "; " + droppedBatches + " were dropped while it failed");
            failedSince = -1;
            failedCommits = 0;
            droppedBatches = 0;
        }
        held.clear();
        long end = System.nanoTime();
        commitTimer.record(end - start, TimeUnit.NANOSECONDS);
        Map<AgentSession, Long> highest = new HashMap<>();
        for (Unit u : group) {
            for (Ack a : u.acks()) {
                durableLatency.record(end - a.receiptNanos(), TimeUnit.NANOSECONDS);
                highest.merge(a.session(), a.sequence(), Math::max);
            }
        }
        highest.forEach(AgentSession::acknowledge);
        bus.publish(stored);
        for (Unit u : group) {
            for (Runnable r : u.afterCommit()) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    log.error("A task waiting for a commit failed; the writer goes on", e);
                }
            }
        }
    }

    private void failed(RuntimeException e, List<Unit> group, List<StoreBatch> batches) {
        failures.increment();
        failedCommits++;
        held.clear();
        held.addAll(batches);
        while (held.size() > MAX_HELD_BATCHES) {
            held.removeFirst();
            droppedBatches++;
        }
        int messages = 0;
        for (Unit u : group) {
            for (Ack a : u.acks()) {
                a.session().close("controller cannot store data: " + e.getMessage());
                messages++;
            }
        }
        long now = clock.millis();
        if (failedSince < 0) {
            failedSince = now;
        } else if (now - lastFailureLogMillis < LOG_EVERY.toMillis()) {
            log.debug("Commit to the store at {} failed again", store.directory(), e);
            return;
        }
        lastFailureLogMillis = now;
        log.error("Cannot write to the store at {}: {}. Nothing acknowledged is lost: {} unacknowledged agent "
                + "message(s) are held and their agents disconnected to resend; {} failed commit(s) so far. Free "
                + "space or fix permissions there (df -h {}; ls -ld {}); writing resumes by itself. (Logged at "
                + "most every {} s; fleetkeeper.controller.store.failures counts each.)", store.directory(),
                e.getMessage(), messages, failedCommits, store.directory(), store.directory(), LOG_EVERY.toSeconds());
        log.debug("Store commit failure", e);
    }

    @Override
    public void close() {
        if (!thread.isAlive()) {
            return;
        }
        try {
            queue.put(POISON);
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        running = false;
    }
}
