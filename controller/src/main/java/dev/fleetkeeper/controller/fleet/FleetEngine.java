package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.controller.store.FleetStore;
import dev.fleetkeeper.controller.store.HostRecord;
import dev.fleetkeeper.controller.store.StoreBatch;
import dev.fleetkeeper.proto.v1.ActionResult;
import dev.fleetkeeper.proto.v1.Delta;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.Hello;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.Severity;
import dev.fleetkeeper.proto.v1.Snapshot;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the fleet's live state: which hosts exist, which are online, and each host's latest
 * processes and sockets; turns agent messages into stored history (events, memory points,
 * checkpoints) and acknowledges them once durable.
 *
 * <p><b>Threading.</b> All state changes happen on one thread, {@code fleetkeeper-fleet}, fed by a
 * queue: intake methods and queries may be called from any thread and only enqueue. Queries
 * run on the same thread, so they see a consistent state without locks. After each run of
 * queued tasks the engine hands what it produced to the {@link StoreWriter} (group commit);
 * agents are acknowledged only after that commit.
 *
 * <p>Owns its threads and the writer; does not own the store.
 */
public final class FleetEngine implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FleetEngine.class);
    private static final long EXPIRE_EVERY_MILLIS = 10 * 60_000L;

    private final FleetStore store;
    private final FleetSettings settings;
    private final InstantSource clock;
    private final EventBus bus = new EventBus();
    private final StoreWriter writer;
    private final HostEvents ev;
    private final LinkedBlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final ScheduledExecutorService timer;
    private final Counter taskFailures;
    private final ActionDispatcher actions;
    /** Kinds of agent message, each with its counter, registered once. */
    private enum MessageType { HELLO, SNAPSHOT, DELTA, HEARTBEAT, EVENT, ACTION_RESULT, SERVICES }

    private final java.util.EnumMap<MessageType, Counter> messages = new java.util.EnumMap<>(MessageType.class);

    // Engine-thread state.
    private final Map<String, HostView> hosts = new HashMap<>();
    private final Map<AgentSession, HostView> bySession = new IdentityHashMap<>();
    private final FleetQueries queries = new FleetQueries(hosts, this::ensureLoaded);
    private StoreBatch batch;
    private List<StoreWriter.Ack> acks = new ArrayList<>();
    private List<Runnable> afterCommit = new ArrayList<>();
    private long lastExpireMillis;
    private volatile boolean running;
    /** Set when the controller is stopping: streams end because we do, not because hosts went away. */
    private boolean stopping;
    private volatile int onlineCount;
    private boolean onlineDirty;

    public FleetEngine(FleetStore store, FleetSettings settings, InstantSource clock, MeterRegistry registry) {
        this.store = store;
        this.settings = settings;
        this.clock = clock;
        this.writer = new StoreWriter(store, bus, clock, registry);
        java.security.SecureRandom random = new java.security.SecureRandom();
        this.ev = new HostEvents(random.nextLong());
        this.thread = new Thread(this::runLoop, "fleetkeeper-fleet");
        this.thread.setDaemon(true);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fleetkeeper-fleet-timer");
            t.setDaemon(true);
            return t;
        });
        this.actions = new ActionDispatcher(timer, random.nextLong());
        for (MessageType t : MessageType.values()) {
            messages.put(t, Counter.builder("fleetkeeper.controller.ingest.messages")
                    .tag("type", t.name().toLowerCase(java.util.Locale.ROOT))
                    .description("Agent messages applied").register(registry));
        }
        this.taskFailures = Counter.builder("fleetkeeper.controller.engine.task.failures")
                .description("Engine tasks that threw (each is logged)").register(registry);
        Gauge.builder("fleetkeeper.controller.hosts.online", this, e -> e.onlineCount)
                .description("Hosts with an agent connected").register(registry);
        Gauge.builder("fleetkeeper.controller.actions.waiting", actions, ActionDispatcher::waiting)
                .description("Actions sent to agents that wait for their result").register(registry);
    }

    /** Loads the known hosts and starts the engine and writer threads. */
    public void start() {
        long now = clock.millis();
        for (HostRecord r : store.hosts()) {
            HostView view = new HostView(r);
            // Hosts that were online before a restart get one grace period to reconnect.
            view.lastHeardMillis = now;
            hosts.put(r.hostId(), view);
        }
        store.serviceReports().forEach((hostId, report) -> {
            HostView view = hosts.get(hostId);
            if (view != null) {
                view.services = report;
            }
        });
        lastExpireMillis = now;
        batch = store.newBatch();
        running = true;
        writer.start();
        thread.start();
        timer.scheduleAtFixedRate(() -> queue.add(this::tick), 1, 1, TimeUnit.SECONDS);
        log.info("Fleet engine started with {} known host(s)", hosts.size());
    }

    /** Events, passed on once durable. */
    public EventBus events() {
        return bus;
    }

    /** Receipt-to-durable latency of agent messages. */
    public Timer durableLatency() {
        return writer.durableLatency();
    }

    // ---------------------------------------------------------------- intake (any thread)

    public void hello(AgentSession s, long seq, Hello hello) {
        submit(s, seq, MessageType.HELLO, () -> onHello(s, hello));
    }

    public void snapshot(AgentSession s, long seq, Snapshot snapshot) {
        submit(s, seq, MessageType.SNAPSHOT, () -> withView(s, v -> onSnapshot(v, snapshot)));
    }

    public void delta(AgentSession s, long seq, Delta delta) {
        submit(s, seq, MessageType.DELTA, () -> withView(s, v -> onDelta(s, v, delta)));
    }

    public void heartbeat(AgentSession s, long seq) {
        submit(s, seq, MessageType.HEARTBEAT, () -> withView(s, v -> { }));
    }

    public void agentEvent(AgentSession s, long seq, Event event) {
        submit(s, seq, MessageType.EVENT, () -> withView(s, v -> onAgentEvent(v, event)));
    }

    public void actionResult(AgentSession s, long seq, ActionResult result) {
        submit(s, seq, MessageType.ACTION_RESULT, () -> withView(s, v -> onActionResult(v, result)));
    }

    /** A new service report: replaces the host's previous one. */
    public void services(AgentSession s, long seq, ServiceReport report) {
        submit(s, seq, MessageType.SERVICES, () -> withView(s, v -> onServices(v, report)));
    }

    /** The session's stream ended (error, cancel or completion). */
    public void disconnected(AgentSession s, String reason) {
        queue.add(() -> onDisconnected(s, reason));
    }

    private void submit(AgentSession s, long seq, MessageType type, Runnable apply) {
        long receipt = System.nanoTime();
        Counter counter = messages.get(type);
        queue.add(() -> {
            counter.increment();
            try {
                apply.run();
            } finally {
                acks.add(new StoreWriter.Ack(s, seq, receipt));
                s.requestMore(1);
            }
        });
    }

    private void withView(AgentSession s, java.util.function.Consumer<HostView> action) {
        HostView v = bySession.get(s);
        if (v == null || v.session != s) {
            // Replaced or never said Hello: nothing from it may change state.
            return;
        }
        v.lastHeardMillis = clock.millis();
        action.accept(v);
    }

    // ---------------------------------------------------------------- engine thread

    private void onHello(AgentSession s, Hello h) {
        String hostId = h.getHostId();
        if (hostId.isEmpty()) {
            s.close("Hello without a host id: upgrade or reconfigure the agent");
            return;
        }
        try {
            java.util.UUID.fromString(h.getBootId());
            registerHello(s, h);
        } catch (IllegalArgumentException e) {
            // A malformed Hello must end the stream with a reason, not leave the agent waiting.
            log.warn("Rejected Hello from {} (host id '{}'): {}", s.peer(), hostId, e.getMessage());
            s.close("Hello rejected: " + e.getMessage() + " (boot id must be a UUID as in "
                    + "/proc/sys/kernel/random/boot_id; host id 1-128 letters, digits, '.', '_', ':' or '-')");
        }
    }

    private void registerHello(AgentSession s, Hello h) {
        long now = clock.millis();
        String hostId = h.getHostId();
        HostView view = hosts.get(hostId);
        List<Event> events = new ArrayList<>();
        boolean compareNext;
        if (view == null) {
            view = new HostView(new HostRecord(hostId, h.getHostname(), h.getLabelsMap(), h.getAgentVersion(),
                    h.getKernel(), h.getBootId(), now, now, now, true));
            view.stateLoaded = true;
            hosts.put(hostId, view);
            events.add(ev.base(hostId, now, EventType.EVENT_TYPE_HOST_REGISTERED, Severity.SEVERITY_INFO,
                    "host " + h.getHostname() + " registered (agent " + h.getAgentVersion() + ", kernel "
                            + h.getKernel() + ")").build());
            compareNext = false;
            log.info("Host {} ({}) registered from {}", h.getHostname(), hostId, s.peer());
        } else {
            if (view.session != null && view.session != s) {
                AgentSession old = view.session;
                bySession.remove(old);
                old.close("replaced by a newer connection from the same host id (" + s.peer() + ")");
            }
            ensureLoaded(view);
            HostRecord r = view.record;
            boolean rebooted = !r.bootId().isEmpty() && !r.bootId().equals(h.getBootId());
            if (rebooted) {
                events.add(ev.base(hostId, now, EventType.EVENT_TYPE_HOST_REBOOTED, Severity.SEVERITY_WARNING,
                        "host " + h.getHostname() + " rebooted (boot id " + shortId(r.bootId()) + " -> "
                                + shortId(h.getBootId()) + ")").build());
                view.processes.clear();
                view.sockets.clear();
            }
            if (!r.online() || view.session == null) {
                events.add(ev.base(hostId, now, EventType.EVENT_TYPE_HOST_ONLINE, Severity.SEVERITY_INFO,
                        "host " + h.getHostname() + " is online").build());
            }
            compareNext = !rebooted;
            view.record = new HostRecord(hostId, h.getHostname(), h.getLabelsMap(), h.getAgentVersion(),
                    h.getKernel(), h.getBootId(), r.registeredAtMillis(), now, now, true);
            log.info("Host {} ({}) connected from {}", h.getHostname(), hostId, s.peer());
        }
        view.session = s;
        view.compareNextSnapshot = compareNext;
        view.snapshotSeen = false;
        view.lastHeardMillis = now;
        bySession.put(s, view);
        batch.putHost(view.record);
        events.forEach(batch::appendUniqueEvent);
        recountOnline();
        s.welcome(settings.scanInterval(), settings.detailInterval(), settings.heartbeatInterval());
    }

    private void onSnapshot(HostView v, Snapshot snapshot) {
        HostView.Applied applied = v.replace(snapshot, v.compareNextSnapshot, ev,
                settings.memoryResolution().toMillis());
        v.compareNextSnapshot = true;
        v.snapshotSeen = true;
        store(v, applied);
        checkpoint(v);
        // Give each host its own phase in the checkpoint period: hosts that connected together
        // (after a controller restart, all of them) must not all checkpoint in the same tick,
        // or one group commit carries every host's full state and stalls every ack behind it.
        long period = settings.checkpointInterval().toMillis();
        v.lastCheckpointMillis -= Math.floorMod(v.hostId().hashCode() * 0x9E3779B9L, period);
    }

    private void onDelta(AgentSession s, HostView v, Delta delta) {
        if (!v.snapshotSeen) {
            s.close("protocol error: a Delta before the first Snapshot on this stream");
            return;
        }
        store(v, v.apply(delta, ev, settings.memoryResolution().toMillis()));
    }

    private void onAgentEvent(HostView v, Event event) {
        String prefix = v.hostId() + ":";
        Event.Builder b = event.toBuilder().setHostId(v.hostId()).clearSequence();
        if (!event.getId().startsWith(prefix)) {
            b.setId(prefix + event.getId());
        }
        if (b.getTimeUnixMs() == 0) {
            b.setTimeUnixMs(clock.millis());
        }
        batch.appendEvent(b.build());
    }

    private void onServices(HostView v, ServiceReport report) {
        v.services = report;
        batch.putServiceReport(v.hostId(), report);
    }

    private void onActionResult(HostView v, ActionResult r) {
        // The agent resends a result until it is acknowledged: one id per action, so that the
        // store keeps the first copy only.
        batch.appendEvent(ev.base(v.hostId(), r.getFinishedAtUnixMs() == 0 ? clock.millis() : r.getFinishedAtUnixMs(),
                EventType.EVENT_TYPE_AGENT, Severity.SEVERITY_INFO,
                "action " + r.getActionId() + ": " + r.getStatus() + " - " + r.getMessage())
                .setId(v.hostId() + ":action-result:" + r.getActionId())
                .putAttributes("action_id", r.getActionId())
                .putAttributes("status", r.getStatus().name())
                .build());
        if (r.getActionId().isEmpty()) {
            return;
        }
        // The output (doctor report, log lines) is kept with the result; the first copy wins.
        batch.addActionResult(v.hostId(), r);
        String hostId = v.hostId();
        // Whoever waits for it hears once it is durable, like the agent's ack.
        afterCommit.add(() -> actions.completed(hostId, r));
    }

    private void onSendAction(String ref, String actionId, AgentAction action, Duration timeout,
                              CompletableFuture<ActionReply> reply) {
        HostView v = queries.resolve(ref);
        long now = clock.millis();
        String hostname = v.record.hostname();
        if (v.session == null || !v.record.online()) {
            throw new HostOfflineException(hostname, Math.max(v.record.lastSeenMillis(), v.lastHeardMillis), now,
                    action.verb());
        }
        String id = actionId != null ? actionId : actions.newId(now);
        actions.register(id, v.hostId(), hostname, action, timeout).whenComplete((r, e) -> {
            if (e != null) {
                reply.completeExceptionally(e);
            } else {
                reply.complete(r);
            }
        });
        if (!v.session.sendAction(id, now, action)) {
            actions.abandon(id, new HostOfflineException(hostname, v.lastHeardMillis, now, action.verb()));
            return;
        }
        batch.appendUniqueEvent(ev.base(v.hostId(), now, EventType.EVENT_TYPE_AGENT, Severity.SEVERITY_INFO,
                "action " + id + " sent: " + action.describe())
                .putAttributes("action_id", id)
                .putAttributes("action", action.describe())
                .build());
        log.info("Sent action {} to {} ({}): {}", id, hostname, v.hostId(), action.describe());
    }

    private void onDisconnected(AgentSession s, String reason) {
        HostView v = bySession.remove(s);
        if (v == null || v.session != s) {
            return;
        }
        v.session = null;
        if (stopping) {
            // The controller is going away, not the host: no HOST_OFFLINE. After the restart the
            // host gets one grace period to reconnect, like every host the store knows.
            if (v.stateLoaded && v.dirty) {
                checkpoint(v);
            }
            return;
        }
        markOffline(v, "agent stream ended: " + reason);
    }

    /**
     * Call before closing the gRPC server: streams that end from now on are the controller's
     * doing and do not mark their hosts offline.
     */
    public void prepareForShutdown() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        queue.add(() -> {
            stopping = true;
            done.complete(null);
        });
        try {
            done.get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("Fleet engine did not acknowledge shutdown: {}", e.toString());
        }
    }

    private void markOffline(HostView v, String why) {
        long now = clock.millis();
        HostRecord r = v.record;
        v.record = new HostRecord(r.hostId(), r.hostname(), r.labels(), r.agentVersion(), r.kernel(), r.bootId(),
                r.registeredAtMillis(), Math.max(r.lastSeenMillis(), v.lastHeardMillis), r.connectedAtMillis(), false);
        batch.putHost(v.record);
        batch.appendUniqueEvent(ev.base(r.hostId(), now, EventType.EVENT_TYPE_HOST_OFFLINE, Severity.SEVERITY_WARNING,
                "host " + r.hostname() + " is offline (" + why + ")").build());
        if (v.stateLoaded && v.dirty) {
            checkpoint(v);
        }
        recountOnline();
        log.warn("Host {} ({}) is offline: {}", r.hostname(), r.hostId(), why);
    }

    private void store(HostView v, HostView.Applied applied) {
        applied.events().forEach(batch::appendUniqueEvent);
        String bootId = v.record.bootId();
        for (HostView.Point p : applied.points()) {
            batch.addMemoryPoint(v.hostId(), bootId, p.process().pid(), p.process().startTicks(), p.point());
        }
    }

    private void checkpoint(HostView v) {
        long now = clock.millis();
        HostRecord r = v.record;
        v.record = new HostRecord(r.hostId(), r.hostname(), r.labels(), r.agentVersion(), r.kernel(), r.bootId(),
                r.registeredAtMillis(), Math.max(r.lastSeenMillis(), v.lastHeardMillis), r.connectedAtMillis(),
                r.online());
        batch.putHost(v.record);
        batch.putLatestState(v.hostId(), v.toSnapshot());
        v.dirty = false;
        v.lastCheckpointMillis = now;
    }

    private void ensureLoaded(HostView v) {
        if (v.stateLoaded) {
            return;
        }
        Optional<Snapshot> stored = store.latestState(v.hostId());
        stored.ifPresent(s -> v.replace(s, false, ev, settings.memoryResolution().toMillis()));
        v.dirty = false;
        v.stateLoaded = true;
    }

    private void tick() {
        long now = clock.millis();
        long grace = settings.offlineGrace().toMillis();
        long checkpointEvery = settings.checkpointInterval().toMillis();
        for (HostView v : hosts.values()) {
            if (stopping) {
                break;
            }
            if (v.record.online() && now - v.lastHeardMillis > grace) {
                AgentSession s = v.session;
                if (s != null) {
                    bySession.remove(s);
                    v.session = null;
                    s.close("no message for " + (now - v.lastHeardMillis) / 1000 + " s");
                }
                markOffline(v, "no message for " + (now - v.lastHeardMillis) / 1000 + " s, grace is "
                        + grace / 1000 + " s");
            } else if (v.dirty && now - v.lastCheckpointMillis >= checkpointEvery) {
                checkpoint(v);
            }
        }
        recountOnlineNow();
        if (now - lastExpireMillis >= EXPIRE_EVERY_MILLIS) {
            lastExpireMillis = now;
            try {
                store.expire(now);
            } catch (RuntimeException e) {
                log.warn("Removing expired history failed; will retry in {} min", EXPIRE_EVERY_MILLIS / 60_000, e);
            }
        }
    }

    private void recountOnline() {
        onlineDirty = true;
    }

    private void recountOnlineNow() {
        if (!onlineDirty) {
            return;
        }
        onlineDirty = false;
        int n = 0;
        for (HostView v : hosts.values()) {
            if (v.record.online()) {
                n++;
            }
        }
        onlineCount = n;
    }

    private void runLoop() {
        List<Runnable> drained = new ArrayList<>();
        while (running) {
            try {
                drained.add(queue.take());
                queue.drainTo(drained, 8192);
                for (Runnable task : drained) {
                    try {
                        task.run();
                    } catch (RuntimeException e) {
                        taskFailures.increment();
                        log.error("Fleet engine task failed; the engine goes on", e);
                    }
                }
                drained.clear();
                flush();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
    }

    private void flush() throws InterruptedException {
        if (batch.isEmpty() && acks.isEmpty() && afterCommit.isEmpty()) {
            return;
        }
        writer.submit(new StoreWriter.Unit(batch, acks, afterCommit));
        batch = store.newBatch();
        acks = new ArrayList<>(Math.max(16, acks.size()));
        afterCommit = new ArrayList<>();
    }

    // ---------------------------------------------------------------- queries (any thread)

    /** Every known host, online or not, sorted by name, optionally filtered by labels. */
    public CompletableFuture<List<HostStatus>> hosts(Map<String, String> selector) {
        return call(() -> queries.hosts(selector));
    }

    /** One host by id or name. */
    public CompletableFuture<HostStatus> host(String ref) {
        return call(() -> queries.host(ref));
    }

    /** A host's processes in {@code order}; zombies only (with their parents) on request. */
    public CompletableFuture<HostProcesses> processes(String ref, ProcessOrder order, boolean zombiesOnly, int limit) {
        return call(() -> queries.processes(ref, order, zombiesOnly, limit));
    }

    /** A host's listening and bound sockets with owners, ordered by port. */
    public CompletableFuture<HostPorts> ports(String ref) {
        return call(() -> queries.ports(ref));
    }

    /** The processes with the most resident memory across online hosts. */
    public CompletableFuture<List<ProcessRow>> topMemory(int limit, Map<String, String> selector) {
        return call(() -> queries.topMemory(limit, selector));
    }

    /**
     * Managed services as last reported: of one host (id or name) with {@code hostRef}, else of
     * every host that has reported services; only the service named {@code service} unless "".
     * Sorted by host name.
     */
    public CompletableFuture<List<HostServices>> services(String hostRef, String service) {
        return call(() -> queries.services(hostRef, service));
    }

    /**
     * Sends {@code action} to the host's connected agent and completes with its result once the
     * result is durable. Fails with {@link HostNotFoundException} or
     * {@link AmbiguousHostException} for a bad reference, {@link HostOfflineException} when no
     * agent of the host is connected, {@link ActionTimeoutException} after {@code timeout}.
     */
    public CompletableFuture<ActionReply> runAction(String hostRef, AgentAction action, Duration timeout) {
        return send(hostRef, null, action, timeout);
    }

    /**
     * Like {@link #runAction}, with an action id the caller chose and stored beforehand, so that
     * a resend (after a controller restart) carries the same id and the agent applies it at most
     * once, answering DUPLICATE the second time. Ids must start with 12 hex digits of the issue
     * time, as every action id.
     */
    public CompletableFuture<ActionReply> sendAction(String hostId, String actionId, AgentAction action,
                                                     Duration timeout) {
        java.util.Objects.requireNonNull(actionId, "actionId");
        return send(hostId, actionId, action, timeout);
    }

    private CompletableFuture<ActionReply> send(String hostRef, String actionId, AgentAction action, Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
        }
        CompletableFuture<ActionReply> reply = new CompletableFuture<>();
        if (!running) {
            reply.completeExceptionally(new IllegalStateException("controller is shutting down"));
            return reply;
        }
        queue.add(() -> {
            try {
                onSendAction(hostRef, actionId, action, timeout, reply);
            } catch (RuntimeException e) {
                reply.completeExceptionally(e);
            }
        });
        return reply;
    }

    /** Resolves a host id or name to the host id. */
    public CompletableFuture<String> resolveHostId(String ref) {
        return call(() -> queries.resolve(ref).hostId());
    }

    private <T> CompletableFuture<T> call(Supplier<T> query) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (!running) {
            f.completeExceptionally(new IllegalStateException("controller is shutting down"));
            return f;
        }
        queue.add(() -> {
            try {
                f.complete(query.get());
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    private static String shortId(String id) {
        return id.length() > 8 ? id.substring(0, 8) : id;
    }

    /** Stops intake, flushes what was applied, and stops the writer. Idempotent. */
    @Override
    public void close() {
        if (!running) {
            return;
        }
        timer.shutdownNow();
        actions.close();
        CompletableFuture<Void> flushed = new CompletableFuture<>();
        queue.add(() -> {
            for (HostView v : hosts.values()) {
                if (v.stateLoaded && v.dirty) {
                    checkpoint(v);
                }
            }
            running = false;
            flushed.complete(null);
        });
        try {
            flushed.get(10, TimeUnit.SECONDS);
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("Fleet engine did not stop cleanly: {}", e.toString());
            running = false;
            thread.interrupt();
        }
        writer.close();
    }
}
