package dev.fleetkeeper.agent.transport;

import dev.fleetkeeper.agent.action.AppliedActions;
import dev.fleetkeeper.agent.manage.CommandResult;
import dev.fleetkeeper.agent.manage.ServiceCommand;
import dev.fleetkeeper.agent.manage.ServicesReport;
import dev.fleetkeeper.agent.telemetry.HostScan;
import dev.fleetkeeper.agent.telemetry.ScanDelta;
import dev.fleetkeeper.proto.v1.Action;
import dev.fleetkeeper.proto.v1.ActionResult;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.RecycleOutcome;
import dev.fleetkeeper.proto.v1.AgentMessage;
import dev.fleetkeeper.proto.v1.AgentServiceGrpc;
import dev.fleetkeeper.proto.v1.ControllerMessage;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.Heartbeat;
import dev.fleetkeeper.proto.v1.Hello;
import dev.fleetkeeper.proto.v1.SamplingSettings;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's end of {@code AgentService.Connect}: dials the controller, says Hello, sends a
 * full Snapshot once welcomed and Deltas after, keeps the stream alive with Heartbeats, and
 * reconnects with exponential backoff and jitter when the stream ends.
 *
 * <p><b>Flow control.</b> Nothing is written while the stream is not ready. Scans published
 * meanwhile are not queued: the link keeps only the newest scan and the scan the controller
 * last received, and when the stream is ready again sends one Delta between the two. Memory
 * use is therefore bounded by two scans whatever the controller's speed.
 *
 * <p><b>Events and action results</b> wait in a bounded outbox until the controller
 * acknowledges them as durable (Ack), and are resent on the next stream if it never does.
 *
 * <p><b>Threading.</b> All state lives on the agent's single loop thread (the
 * {@code loop} executor); gRPC callbacks only hop onto it. {@link #publish} and
 * {@link #enqueueEvent} must be called on that thread. The link does not own the
 * {@link Channel}: whoever created it shuts it down.
 */
public final class ControllerLink implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControllerLink.class);
    private static final int OUTBOX_CAPACITY = 10_000;

    /**
     * Link states.
     * <pre>
     *   IDLE --start--> CONNECTING --Welcome--> STREAMING
     *                       |                       |
     *                       +--stream ended--> WAITING_RETRY --backoff--> CONNECTING
     *   any --close--> CLOSED
     * </pre>
     */
    enum State { IDLE, CONNECTING, STREAMING, WAITING_RETRY, CLOSED }

    private final Channel channel;
    private final Runnable resetConnectBackoff;
    private final ScheduledExecutorService loop;
    private final InstantSource clock;
    private final LinkIdentity identity;
    private final Backoff backoff;
    private final AppliedActions applied;
    private final LinkListener listener;
    private final String target;

    // Loop-thread state.
    private State state = State.IDLE;
    private int generation;
    private ClientCallStreamObserver<AgentMessage> requests;
    private long sequence;
    private HostScan latest;
    private HostScan base;
    private int scansSinceSend;
    private boolean needSnapshot;
    private long lastSendMillis;
    private int attempts;
    private long lastFailureLogMillis;
    private Duration heartbeatInterval;
    private ScheduledFuture<?> heartbeatTask;
    private ScheduledFuture<?> retryTask;
    private final ArrayDeque<Pending> outbox = new ArrayDeque<>();
    /** Carries out service commands (doctor, restart, logs); rejects them when the host declares no services. */
    private volatile java.util.function.Function<ServiceCommand, CompletableFuture<CommandResult>> commands =
            c -> CompletableFuture.completedFuture(CommandResult.rejected("this host declares no services"));
    /** The newest services report, and whether the current stream still lacks it. */
    private ServicesReport services;
    private boolean servicesDirty;
    private long servicesSent;

    // Counters, read from other threads (bench, tests, metrics).
    private volatile long snapshotsSent;
    private volatile long deltasSent;
    private volatile long scansMerged;
    private volatile long connects;
    private volatile long outboxDropped;

    /**
     * @param resetConnectBackoff asks the channel to stop waiting out its own reconnect backoff
     *     before each of our attempts (ManagedChannel::resetConnectBackoff); may be a no-op
     * @param target the controller's address, for messages
     */
    public ControllerLink(Channel channel, Runnable resetConnectBackoff, String target,
                          ScheduledExecutorService loop, InstantSource clock, LinkIdentity identity,
                          Backoff backoff, Duration heartbeatInterval, AppliedActions applied,
                          LinkListener listener) {
        this.channel = channel;
        this.resetConnectBackoff = resetConnectBackoff;
        this.target = target;
        this.loop = loop;
        this.clock = clock;
        this.identity = identity;
        this.backoff = backoff;
        this.heartbeatInterval = heartbeatInterval;
        this.applied = applied;
        this.listener = listener;
    }

    /** Dials the controller. Returns at once; the link keeps trying until closed. */
    public void start() {
        loop.execute(() -> {
            if (state == State.IDLE) {
                connect();
                scheduleHeartbeat();
            }
        });
    }

    /** The newest scan. Sent now if the stream is ready, else merged into the next Delta. */
    public void publish(HostScan scan) {
        latest = scan;
        scansSinceSend++;
        sendIfReady();
    }

    /** Sets what carries out the service commands controller actions ask for. Call before {@link #start()}. */
    public void setCommandHandler(java.util.function.Function<ServiceCommand, CompletableFuture<CommandResult>> handler) {
        this.commands = java.util.Objects.requireNonNull(handler, "handler");
    }

    /**
     * The newest report of the host's services. Sent when the stream is ready; on a new stream
     * the newest one is sent again. Any thread.
     */
    public void publishServices(ServicesReport report) {
        onLoop(() -> {
            services = report;
            servicesDirty = true;
            sendIfReady();
        });
    }

    /** Service reports sent. */
    public long servicesSent() {
        return servicesSent;
    }

    /** Queues an event until the controller acknowledges it as durable. Any thread. */
    public void enqueueEventFromAnyThread(Event event) {
        onLoop(() -> enqueueEvent(event));
    }

    /** Queues an event until the controller acknowledges it as durable. */
    public void enqueueEvent(Event event) {
        enqueue(AgentMessage.newBuilder().setEvent(event));
    }

    /** Whether the controller has welcomed the current stream. Loop thread or tests. */
    public boolean isStreaming() {
        return state == State.STREAMING;
    }

    public long snapshotsSent() {
        return snapshotsSent;
    }

    public long deltasSent() {
        return deltasSent;
    }

    /** Scans that were folded into a later Delta because the stream was not ready. */
    public long scansMerged() {
        return scansMerged;
    }

    public long connects() {
        return connects;
    }

    @Override
    public void close() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            loop.execute(() -> {
                shutdownOnLoop();
                done.complete(null);
            });
            done.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // The loop is already gone: nothing left to close on it.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("Closing the controller link did not finish cleanly: {}", e.toString());
        }
    }

    private void shutdownOnLoop() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        if (heartbeatTask != null) {
            heartbeatTask.cancel(false);
        }
        if (retryTask != null) {
            retryTask.cancel(false);
        }
        if (requests != null) {
            requests.onCompleted();
            requests = null;
        }
    }

    private void connect() {
        state = State.CONNECTING;
        int gen = ++generation;
        sequence = 0;
        connects++;
        resetConnectBackoff.run();
        AgentServiceGrpc.AgentServiceStub stub = AgentServiceGrpc.newStub(channel);
        stub.connect(new ClientResponseObserver<AgentMessage, ControllerMessage>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<AgentMessage> stream) {
                stream.setOnReadyHandler(() -> onLoop(() -> {
                    if (gen == generation) {
                        sendIfReady();
                    }
                }));
                onLoop(() -> {
                    if (gen == generation && state == State.CONNECTING) {
                        requests = stream;
                        send(AgentMessage.newBuilder().setHello(hello()));
                    } else {
                        stream.cancel("superseded", null);
                    }
                });
            }

            @Override
            public void onNext(ControllerMessage message) {
                onLoop(() -> {
                    if (gen == generation && state != State.CLOSED) {
                        receive(message);
                    }
                });
            }

            @Override
            public void onError(Throwable t) {
                onLoop(() -> streamEnded(gen, Status.fromThrowable(t)));
            }

            @Override
            public void onCompleted() {
                onLoop(() -> streamEnded(gen, Status.UNAVAILABLE.withDescription("controller closed the stream")));
            }
        });
    }

    /**
     * Runs a gRPC callback on the loop. After {@link #close()} the loop is shut down while the
     * call may still end (the channel closes after the link): that callback has nothing left to
     * do, and throwing from it would make gRPC log a stack trace at every agent shutdown.
     */
    private void onLoop(Runnable task) {
        try {
            loop.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            // The link is closed.
        }
    }

    private Hello hello() {
        var info = identity.hostInfo();
        return Hello.newBuilder()
                .setHostId(identity.hostId())
                .setHostname(info.hostname())
                .putAllLabels(identity.labels())
                .setAgentVersion(identity.agentVersion())
                .setKernel(info.kernel())
                .setBootId(info.bootId())
                .setBootTimeUnixMs(info.bootTimeMillis())
                .setClockTicksPerSecond(info.clockTicksPerSecond())
                .addAllRecentActionIds(applied.recent(64))
                .build();
    }

    private void receive(ControllerMessage message) {
        switch (message.getBodyCase()) {
            case WELCOME:
                welcomed(message.getWelcome().getSessionId(), message.getWelcome().getSampling());
                break;
            case ACK:
                acknowledged(message.getAck().getUpToSequence());
                break;
            case ACTION:
                act(message.getAction());
                break;
            default:
                log.warn("Ignoring a controller message this agent version does not know ({}); "
                        + "the controller is newer than the agent", message.getBodyCase());
        }
    }

    private void welcomed(String sessionId, SamplingSettings sampling) {
        if (state != State.CONNECTING) {
            return;
        }
        state = State.STREAMING;
        if (attempts > 0) {
            log.info("Connected to the controller at {} again after {} attempt(s) (session {})",
                    target, attempts, sessionId);
        } else {
            log.info("Connected to the controller at {} (session {})", target, sessionId);
        }
        attempts = 0;
        needSnapshot = true;
        servicesDirty = services != null;
        for (Pending p : outbox) {
            p.sequence = 0;
        }
        Sampling s = new Sampling(
                millisOr(sampling.getScanIntervalMs(), null),
                millisOr(sampling.getDetailIntervalMs(), null),
                millisOr(sampling.getHeartbeatIntervalMs(), null));
        if (s.heartbeatInterval() != null && !s.heartbeatInterval().equals(heartbeatInterval)) {
            heartbeatInterval = s.heartbeatInterval();
            scheduleHeartbeat();
        }
        listener.onWelcome(s);
        sendIfReady();
    }

    private static Duration millisOr(int millis, Duration fallback) {
        return millis > 0 ? Duration.ofMillis(millis) : fallback;
    }

    private void acknowledged(long upTo) {
        Iterator<Pending> it = outbox.iterator();
        while (it.hasNext()) {
            Pending p = it.next();
            if (p.sequence != 0 && p.sequence <= upTo) {
                it.remove();
            }
        }
    }

    private void act(Action action) {
        String id = action.getActionId();
        ActionStatus status;
        String message;
        if (id.isEmpty()) {
            status = ActionStatus.ACTION_STATUS_REJECTED;
            message = "action without an id: not applied (ids make actions at-most-once)";
        } else if (!applied.markApplied(id)) {
            status = ActionStatus.ACTION_STATUS_DUPLICATE;
            message = "action " + id + " was applied before; not applied again";
        } else {
            switch (action.getKindCase()) {
                case REQUEST_SNAPSHOT:
                    needSnapshot = true;
                    status = ActionStatus.ACTION_STATUS_SUCCEEDED;
                    message = "full snapshot sent";
                    break;
                case RUN_DOCTOR:
                case RESTART_SERVICE:
                case TAIL_LOGS:
                case RECYCLE_INSTANCE:
                case APPLY_RELEASE:
                    // Marked applied above, before it runs: at most once, even if the agent dies meanwhile.
                    ServiceCommand command;
                    try {
                        command = ServiceProtoMapper.command(action);
                    } catch (IllegalArgumentException e) {
                        status = ActionStatus.ACTION_STATUS_REJECTED;
                        message = action.getKindCase() + " not applied: " + e.getMessage();
                        break;
                    }
                    runCommand(id, command);
                    return;
                default:
                    status = ActionStatus.ACTION_STATUS_REJECTED;
                    message = "this agent version does not know action kind " + action.getKindCase()
                            + "; upgrade the agent";
            }
        }
        enqueue(AgentMessage.newBuilder().setActionResult(ActionResult.newBuilder()
                .setActionId(id)
                .setStatus(status)
                .setMessage(message)
                .setFinishedAtUnixMs(clock.millis())));
    }

    private void runCommand(String id, ServiceCommand command) {
        CompletableFuture<CommandResult> result;
        try {
            result = commands.apply(command);
        } catch (RuntimeException e) {
            result = CompletableFuture.completedFuture(CommandResult.failed(command + " failed: " + e));
        }
        result.whenComplete((r, t) -> onLoop(() -> {
            CommandResult done = r != null ? r : CommandResult.failed(command + " failed: " + t);
            ActionResult.Builder b = ActionResult.newBuilder()
                    .setActionId(id)
                    .setStatus(ServiceProtoMapper.status(done.status()))
                    .setMessage(done.message())
                    .setFinishedAtUnixMs(clock.millis());
            if (done.doctor() != null) {
                b.setDoctor(ServiceProtoMapper.doctor(done.doctor()));
            }
            if (done.recycled() != null) {
                b.setRecycle(RecycleOutcome.newBuilder()
                        .setOldPid(done.recycled().oldPid())
                        .setNewPid(done.recycled().newPid()));
            }
            if (done.released() != null) {
                b.setRelease(ServiceProtoMapper.release(done.released()));
            }
            if (done.lines() != null && command instanceof ServiceCommand.Tail tail) {
                b.setLogs(ServiceProtoMapper.logs(tail, done.lines()));
            }
            enqueue(AgentMessage.newBuilder().setActionResult(b));
        }));
    }

    private void enqueue(AgentMessage.Builder message) {
        if (outbox.size() >= OUTBOX_CAPACITY) {
            outbox.removeFirst();
            outboxDropped++;
            log.warn("Outbox full ({} messages not yet acknowledged by the controller): dropped the oldest; "
                    + "{} dropped so far", OUTBOX_CAPACITY, outboxDropped);
        }
        outbox.addLast(new Pending(message));
        sendIfReady();
    }

    private void sendIfReady() {
        if (state != State.STREAMING || requests == null || !requests.isReady()) {
            return;
        }
        for (Pending p : outbox) {
            if (p.sequence == 0) {
                if (!requests.isReady()) {
                    return;
                }
                p.sequence = send(p.message);
            }
        }
        sendScan();
        if (servicesDirty && services != null && requests.isReady() && !needSnapshot) {
            send(AgentMessage.newBuilder().setServices(ServiceProtoMapper.report(services)));
            servicesDirty = false;
            servicesSent++;
        }
    }

    /** Sends the newest scan as a Snapshot or Delta, if there is one the controller lacks. */
    private void sendScan() {
        if (latest == null || !requests.isReady()) {
            return;
        }
        if (needSnapshot) {
            send(AgentMessage.newBuilder().setSnapshot(AgentProtoMapper.snapshot(latest)));
            needSnapshot = false;
            snapshotsSent++;
        } else if (latest != base) {
            ScanDelta delta = ScanDelta.between(base, latest);
            send(AgentMessage.newBuilder().setDelta(
                    AgentProtoMapper.delta(delta, latest.takenAtMillis(), Math.max(1, scansSinceSend))));
            deltasSent++;
            if (scansSinceSend > 1) {
                scansMerged += scansSinceSend - 1;
            }
        } else {
            return;
        }
        base = latest;
        scansSinceSend = 0;
    }

    private long send(AgentMessage.Builder message) {
        long seq = ++sequence;
        requests.onNext(message.setSequence(seq).build());
        lastSendMillis = clock.millis();
        return seq;
    }

    private void scheduleHeartbeat() {
        if (heartbeatTask != null) {
            heartbeatTask.cancel(false);
        }
        long period = Math.max(1, heartbeatInterval.toMillis() / 2);
        heartbeatTask = loop.scheduleAtFixedRate(this::heartbeatIfQuiet, period, period, TimeUnit.MILLISECONDS);
    }

    private void heartbeatIfQuiet() {
        if (state == State.STREAMING && requests != null && requests.isReady()
                && clock.millis() - lastSendMillis >= heartbeatInterval.toMillis()) {
            send(AgentMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder().setSentAtUnixMs(clock.millis())));
        }
    }

    private void streamEnded(int gen, Status status) {
        if (gen != generation || state == State.CLOSED) {
            return;
        }
        boolean wasStreaming = state == State.STREAMING;
        requests = null;
        state = State.WAITING_RETRY;
        Duration delay = backoff.delay(attempts++);
        long now = clock.millis();
        String reason = describe(status);
        if (wasStreaming || attempts == 1 || now - lastFailureLogMillis >= 60_000) {
            log.warn("Lost the controller at {}: {}. Retrying in {} ms (attempt {}); "
                    + "the agent keeps sampling meanwhile.", target, reason, delay.toMillis(), attempts);
            lastFailureLogMillis = now;
        }
        listener.onDisconnected(reason);
        retryTask = loop.schedule(() -> {
            if (state == State.WAITING_RETRY) {
                connect();
            }
        }, delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static String describe(Status status) {
        String d = status.getDescription();
        Throwable cause = status.getCause();
        if (d == null && cause != null) {
            d = cause.getMessage();
        }
        return status.getCode() + (d == null ? "" : " (" + d + ")");
    }

    /** A message waiting for its Ack; {@code sequence} is 0 until sent on the current stream. */
    private static final class Pending {
        final AgentMessage.Builder message;
        long sequence;

        Pending(AgentMessage.Builder message) {
            this.message = message;
        }
    }
}
