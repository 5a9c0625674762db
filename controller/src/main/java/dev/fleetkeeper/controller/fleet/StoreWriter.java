package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.controller.store.FleetStore;
import dev.fleetkeeper.controller.store.StoreBatch;
import dev.fleetkeeper.proto.v1.Event;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
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
 */
final class StoreWriter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(StoreWriter.class);
    private static final Unit POISON = new Unit(null, List.of());

    /** One flush of the engine: a batch and the acks it makes possible. */
    record Unit(StoreBatch batch, List<Ack> acks) {
    }

    /** Acknowledge {@code sequence} on {@code session} once durable; {@code receiptNanos} for latency. */
    record Ack(AgentSession session, long sequence, long receiptNanos) {
    }

    private final FleetStore store;
    private final EventBus bus;
    private final BlockingQueue<Unit> queue = new ArrayBlockingQueue<>(1024);
    private final Thread thread;
    private final Timer commitTimer;
    private final Timer durableLatency;
    private final Counter failures;
    private volatile boolean running = true;

    StoreWriter(FleetStore store, EventBus bus, MeterRegistry registry) {
        this.store = store;
        this.bus = bus;
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
        List<StoreBatch> batches = new ArrayList<>(group.size());
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
            failures.increment();
            log.error("Cannot write to the store at {}: {}. {} agent message(s) were NOT acknowledged; their "
                    + "agents are disconnected and will resend after reconnecting. Check free space and "
                    + "permissions there (df -h, ls -ld).", store.directory(), e.getMessage(), group.size(), e);
            for (Unit u : group) {
                for (Ack a : u.acks()) {
                    a.session().close("controller cannot store data: " + e.getMessage());
                }
            }
            return;
        }
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
