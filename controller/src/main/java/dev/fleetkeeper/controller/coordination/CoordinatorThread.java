package dev.fleetkeeper.controller.coordination;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread a fleet-wide coordinator (recycle, rollout) keeps its state on: API calls run
 * there as {@link #call}s, agents' answers and periodic ticks as guarded tasks whose failure is
 * logged, counted ({@code fleetkeeper.controller.NAME.task.failures}) and retried at the next
 * tick. Thread-safe.
 */
public final class CoordinatorThread implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CoordinatorThread.class);
    private static final long QUERY_TIMEOUT_SECONDS = 10;

    private final String label;
    private final ScheduledExecutorService executor;
    private final Counter taskFailures;
    private volatile boolean closed;

    /**
     * @param name  the coordinator's name: thread {@code fleetkeeper-NAME}, metric
     *              {@code fleetkeeper.controller.NAME.task.failures}
     * @param label how logs name it ("Recycle coordinator")
     */
    public CoordinatorThread(String name, String label, MeterRegistry registry) {
        this.label = label;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fleetkeeper-" + name);
            t.setDaemon(true);
            return t;
        });
        this.taskFailures = Counter.builder("fleetkeeper.controller." + name + ".task.failures")
                .description(label + " tasks that threw (each is logged)").register(registry);
    }

    /** Runs {@code tick} every {@code interval}, guarded. */
    public void tickEvery(Duration interval, Runnable tick) {
        executor.scheduleWithFixedDelay(() -> guarded("tick", tick), interval.toMillis(), interval.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * Runs {@code task} on the thread, guarded; dropped once closing (what it would have done
     * is stored and redone after the restart).
     */
    public void execute(String what, Runnable task) {
        try {
            executor.execute(() -> guarded(what, task));
        } catch (RejectedExecutionException closing) {
            // Stopping.
        }
    }

    /** Runs {@code task} now, on the calling thread (which must be this one), logging and counting a failure. */
    public void guarded(String what, Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            taskFailures.increment();
            log.error("{} task '{}' failed; it is retried at the next tick", label, what, e);
        }
    }

    /** Runs {@code task} on the thread; the future fails with its exception, or when closing. */
    public <T> CompletableFuture<T> call(Supplier<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (closed) {
            f.completeExceptionally(new IllegalStateException("controller is shutting down"));
            return f;
        }
        try {
            executor.execute(() -> {
                try {
                    f.complete(task.get());
                } catch (RuntimeException e) {
                    f.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(new IllegalStateException("controller is shutting down"));
        }
        return f;
    }

    /** Waits for {@code f} (at most 10 s), rethrowing its runtime exception as is. */
    public static <T> T join(CompletableFuture<T> f) {
        try {
            return f.get(QUERY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("the fleet engine did not answer within " + QUERY_TIMEOUT_SECONDS + " s", e);
        }
    }

    /** Stops the thread; tasks not run are dropped. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                log.warn("{} did not stop within 10 s", label);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
