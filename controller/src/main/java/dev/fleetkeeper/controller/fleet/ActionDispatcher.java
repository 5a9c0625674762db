package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.controller.store.FleetStore;
import dev.fleetkeeper.proto.v1.ActionResult;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The actions sent to agents that still wait for their result: assigns each a unique id,
 * completes its future when the result from the same host arrives (on any stream of that host,
 * so a result resent after a reconnect still counts), and fails it after its timeout. A result
 * that comes after the timeout completes nothing; the engine stores it all the same.
 *
 * <p>Thread-safe: the engine registers on its thread, results complete on the store writer's
 * thread (after the result is durable), timeouts fire on the engine's timer. Owned by the
 * {@link FleetEngine}; the timer is not its to shut down.
 */
final class ActionDispatcher {

    private static final Logger log = LoggerFactory.getLogger(ActionDispatcher.class);

    private record Pending(String hostId, String hostname, AgentAction action, Duration waitsFor,
                           CompletableFuture<ActionReply> future) {
    }

    private final ScheduledExecutorService timer;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    /** Distinguishes this controller run: ids must never repeat across runs (results are stored by id). */
    private final String runId;
    private final AtomicLong counter = new AtomicLong();

    ActionDispatcher(ScheduledExecutorService timer, long runNonce) {
        this.timer = timer;
        this.runId = Long.toUnsignedString(runNonce, 36);
    }

    /**
     * A new action id: the issue time first (the store expires results by it), then this run's
     * nonce and a counter.
     */
    String newId(long issuedAtMillis) {
        return FleetStore.actionIdPrefix(issuedAtMillis) + "-" + runId + "-" + counter.incrementAndGet();
    }

    /** Waits for {@code actionId}'s result from {@code hostId} for at most {@code timeout}. */
    CompletableFuture<ActionReply> register(String actionId, String hostId, String hostname, AgentAction action,
            Duration timeout) {
        CompletableFuture<ActionReply> future = new CompletableFuture<>();
        pending.put(actionId, new Pending(hostId, hostname, action, timeout, future));
        // Not cancelled when the result comes: the expiry then finds nothing (ids are unique), and
        // an action at most every few seconds leaves few such tasks in the timer's queue.
        timer.schedule(() -> expire(actionId), timeout.toMillis(), TimeUnit.MILLISECONDS);
        return future;
    }

    /** The action could not be sent after all: forget it, failing its future with {@code why}. */
    void abandon(String actionId, RuntimeException why) {
        Pending p = pending.remove(actionId);
        if (p != null) {
            p.future().completeExceptionally(why);
        }
    }

    /** A durable result from {@code hostId}: completes the action waiting for it, if any. */
    void completed(String hostId, ActionResult result) {
        Pending p = pending.get(result.getActionId());
        if (p == null) {
            return;
        }
        if (!p.hostId().equals(hostId)) {
            log.warn("Host {} answered action {}, which was sent to {}; ignoring the answer", hostId,
                    result.getActionId(), p.hostId());
            return;
        }
        if (pending.remove(result.getActionId(), p)) {
            p.future().complete(new ActionReply(result.getActionId(), hostId, p.hostname(), result));
        }
    }

    private void expire(String actionId) {
        Pending p = pending.remove(actionId);
        if (p != null) {
            p.future().completeExceptionally(new ActionTimeoutException(p.hostname(), actionId, p.action(),
                    p.waitsFor()));
        }
    }

    /** Actions waiting for a result now. */
    int waiting() {
        return pending.size();
    }

    /** Fails every waiting action: the controller is stopping. */
    void close() {
        for (String id : pending.keySet()) {
            abandon(id, new IllegalStateException("the controller is shutting down; action " + id
                    + " may still complete on its host (see 'fleetkeeper events' after the restart)"));
        }
    }
}
