package dev.fleetkeeper.controller.transport;

import dev.fleetkeeper.controller.fleet.AgentAction;
import dev.fleetkeeper.controller.fleet.EventFilter;
import dev.fleetkeeper.controller.fleet.FleetEngine;
import dev.fleetkeeper.controller.recycle.RecycleCoordinator;
import dev.fleetkeeper.controller.recycle.RecycleRequest;
import dev.fleetkeeper.controller.rollout.RolloutCoordinator;
import dev.fleetkeeper.controller.store.EventQuery;
import dev.fleetkeeper.controller.store.FleetStore;
import dev.fleetkeeper.controller.store.MemoryPoint;
import dev.fleetkeeper.proto.v1.ActionOutcome;
import dev.fleetkeeper.proto.v1.AdminServiceGrpc;
import dev.fleetkeeper.proto.v1.DoctorRequest;
import dev.fleetkeeper.proto.v1.DoctorResponse;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.GetHostRequest;
import dev.fleetkeeper.proto.v1.GetMemorySeriesRequest;
import dev.fleetkeeper.proto.v1.HostSummary;
import dev.fleetkeeper.proto.v1.ListEventsRequest;
import dev.fleetkeeper.proto.v1.ListEventsResponse;
import dev.fleetkeeper.proto.v1.ListHostsRequest;
import dev.fleetkeeper.proto.v1.ListHostsResponse;
import dev.fleetkeeper.proto.v1.ListPortsRequest;
import dev.fleetkeeper.proto.v1.ListPortsResponse;
import dev.fleetkeeper.proto.v1.ListProcessesRequest;
import dev.fleetkeeper.proto.v1.ListProcessesResponse;
import dev.fleetkeeper.proto.v1.ListServicesRequest;
import dev.fleetkeeper.proto.v1.ListServicesResponse;
import dev.fleetkeeper.proto.v1.GetRecycleRequest;
import dev.fleetkeeper.proto.v1.GetRolloutRequest;
import dev.fleetkeeper.proto.v1.ListRecyclesRequest;
import dev.fleetkeeper.proto.v1.ListRecyclesResponse;
import dev.fleetkeeper.proto.v1.ListRolloutsRequest;
import dev.fleetkeeper.proto.v1.ListRolloutsResponse;
import dev.fleetkeeper.proto.v1.RecycleJob;
import dev.fleetkeeper.proto.v1.Rollout;
import dev.fleetkeeper.proto.v1.RestartServiceRequest;
import dev.fleetkeeper.proto.v1.StartRecycleRequest;
import dev.fleetkeeper.proto.v1.StartRolloutRequest;
import dev.fleetkeeper.proto.v1.TailLogsRequest;
import dev.fleetkeeper.proto.v1.TailLogsResponse;
import dev.fleetkeeper.proto.v1.MemorySeries;
import dev.fleetkeeper.proto.v1.TopMemoryRequest;
import dev.fleetkeeper.proto.v1.TopMemoryResponse;
import dev.fleetkeeper.proto.v1.WatchEventsRequest;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@code AdminService}: translates requests into fleet-engine queries, actions and store reads,
 * and their results into responses. Errors go through {@link GrpcErrors}.
 *
 * <p>How long an action waits for its agent: the call's deadline less a margin (a tenth of it, at
 * most {@value #MARGIN_MILLIS} ms), so that the caller receives our DEADLINE_EXCEEDED, which says
 * the action may still complete, rather than its own; without a deadline, {@link #DOCTOR_TIMEOUT}
 * ({@link #DOCTOR_FIX_TIMEOUT} with fix), {@link #RESTART_TIMEOUT} or {@link #LOGS_TIMEOUT}. A
 * restart or a doctor --fix stops instances one after another, each within its stop timeout.
 */
final class AdminServiceImpl extends AdminServiceGrpc.AdminServiceImplBase {

    static final Duration DOCTOR_TIMEOUT = Duration.ofMinutes(2);
    static final Duration DOCTOR_FIX_TIMEOUT = Duration.ofMinutes(5);
    static final Duration RESTART_TIMEOUT = Duration.ofMinutes(5);
    static final Duration LOGS_TIMEOUT = Duration.ofSeconds(30);
    static final long MARGIN_MILLIS = 2_000;
    private static final int DEFAULT_LOG_LINES = 100;

    private static final int DEFAULT_EVENT_LIMIT = 100;
    private static final int WATCH_BUFFER_LIMIT = 10_000;

    private final FleetEngine engine;
    private final FleetStore store;
    private final RecycleCoordinator recycles;
    private final RolloutCoordinator rollouts;

    AdminServiceImpl(FleetEngine engine, FleetStore store, RecycleCoordinator recycles, RolloutCoordinator rollouts) {
        this.engine = engine;
        this.store = store;
        this.recycles = recycles;
        this.rollouts = rollouts;
    }

    @Override
    public void startRecycle(StartRecycleRequest request, StreamObserver<RecycleJob> out) {
        reply(() -> recycles().start(new RecycleRequest(request.getService(), request.getSelectorMap(),
                request.getMaxParallel(), request.getMinAvailable(), request.getStepTimeoutMs(), request.getReason())),
                AdminProtoMapper::recycleJob, out);
    }

    @Override
    public void getRecycle(GetRecycleRequest request, StreamObserver<RecycleJob> out) {
        reply(() -> recycles().get(request.getJobId()), AdminProtoMapper::recycleJob, out);
    }

    @Override
    public void listRecycles(ListRecyclesRequest request, StreamObserver<ListRecyclesResponse> out) {
        reply(() -> recycles().list(request.getService(), Math.max(0, request.getLimit())),
                jobs -> ListRecyclesResponse.newBuilder()
                        .addAllJobs(jobs.stream().map(AdminProtoMapper::recycleJob).toList()).build(), out);
    }

    @Override
    public void abortRecycle(GetRecycleRequest request, StreamObserver<RecycleJob> out) {
        reply(() -> recycles().abort(request.getJobId()), AdminProtoMapper::recycleJob, out);
    }

    /**
     * Job snapshots as they change, until the job ends. Under back-pressure only the newest
     * snapshot waits (each replaces the previous one), so a slow watcher costs one job of memory.
     */
    @Override
    public void watchRecycle(GetRecycleRequest request, StreamObserver<RecycleJob> responses) {
        ServerCallStreamObserver<RecycleJob> out = (ServerCallStreamObserver<RecycleJob>) responses;
        SnapshotWatch<dev.fleetkeeper.controller.recycle.RecycleJob, RecycleJob> watch = new SnapshotWatch<>(out,
                AdminProtoMapper::recycleJob, job -> job.state().isTerminal());
        watch.subscribe(() -> recycles().watch(request.getJobId(), watch::offer));
    }

    @Override
    public void startRollout(StartRolloutRequest request, StreamObserver<Rollout> out) {
        reply(() -> rollouts().start(AdminProtoMapper.rolloutRequest(request)), AdminProtoMapper::rollout, out);
    }

    @Override
    public void getRollout(GetRolloutRequest request, StreamObserver<Rollout> out) {
        reply(() -> rollouts().get(request.getRolloutId()), AdminProtoMapper::rollout, out);
    }

    @Override
    public void listRollouts(ListRolloutsRequest request, StreamObserver<ListRolloutsResponse> out) {
        reply(() -> rollouts().list(request.getService(), Math.max(0, request.getLimit())),
                list -> ListRolloutsResponse.newBuilder()
                        .addAllRollouts(list.stream().map(AdminProtoMapper::rollout).toList()).build(), out);
    }

    @Override
    public void pauseRollout(GetRolloutRequest request, StreamObserver<Rollout> out) {
        reply(() -> rollouts().pause(request.getRolloutId()), AdminProtoMapper::rollout, out);
    }

    @Override
    public void resumeRollout(GetRolloutRequest request, StreamObserver<Rollout> out) {
        reply(() -> rollouts().resume(request.getRolloutId()), AdminProtoMapper::rollout, out);
    }

    @Override
    public void promoteRollout(GetRolloutRequest request, StreamObserver<Rollout> out) {
        reply(() -> rollouts().promote(request.getRolloutId()), AdminProtoMapper::rollout, out);
    }

    @Override
    public void abortRollout(GetRolloutRequest request, StreamObserver<Rollout> out) {
        reply(() -> rollouts().abort(request.getRolloutId()), AdminProtoMapper::rollout, out);
    }

    @Override
    public void rollbackRollout(GetRolloutRequest request, StreamObserver<Rollout> out) {
        reply(() -> rollouts().rollback(request.getRolloutId()), AdminProtoMapper::rollout, out);
    }

    /** Rollout snapshots as they change, until the rollout ends (FAILED included); newest only under back-pressure. */
    @Override
    public void watchRollout(GetRolloutRequest request, StreamObserver<Rollout> responses) {
        ServerCallStreamObserver<Rollout> out = (ServerCallStreamObserver<Rollout>) responses;
        SnapshotWatch<dev.fleetkeeper.controller.rollout.Rollout, Rollout> watch = new SnapshotWatch<>(out,
                AdminProtoMapper::rollout, RolloutCoordinator::ended);
        watch.subscribe(() -> rollouts().watch(request.getRolloutId(), watch::offer));
    }

    /**
     * One watch call (WatchRecycle, WatchRollout): the newest snapshot not yet sent, sent when
     * the stream is ready; the stream completes after the snapshot that ends it.
     */
    private static final class SnapshotWatch<T, M> {
        private final ServerCallStreamObserver<M> out;
        private final Function<T, M> map;
        private final java.util.function.Predicate<T> last;
        private T pending;
        private boolean ended;
        private AutoCloseable subscription;

        SnapshotWatch(ServerCallStreamObserver<M> out, Function<T, M> map, java.util.function.Predicate<T> last) {
            this.out = out;
            this.map = map;
            this.last = last;
        }

        void subscribe(Supplier<CompletableFuture<AutoCloseable>> watch) {
            out.setOnReadyHandler(this::drain);
            out.setOnCancelHandler(this::cancel);
            CompletableFuture<AutoCloseable> handle;
            try {
                handle = watch.get();
            } catch (RuntimeException e) {
                out.onError(GrpcErrors.toStatus(e));
                return;
            }
            handle.whenComplete((h, error) -> {
                if (error != null) {
                    fail(error);
                } else {
                    subscribed(h);
                }
            });
        }

        synchronized void offer(T snapshot) {
            pending = snapshot;
            drain();
        }

        synchronized void drain() {
            if (ended || pending == null || !out.isReady()) {
                return;
            }
            T snapshot = pending;
            pending = null;
            out.onNext(map.apply(snapshot));
            if (last.test(snapshot)) {
                ended = true;
                out.onCompleted();
                unsubscribe();
            }
        }

        synchronized void subscribed(AutoCloseable handle) {
            subscription = handle;
            if (ended) {
                unsubscribe();
            }
        }

        synchronized void fail(Throwable error) {
            if (!ended) {
                ended = true;
                out.onError(GrpcErrors.toStatus(error));
            }
        }

        synchronized void cancel() {
            ended = true;
            unsubscribe();
        }

        private void unsubscribe() {
            if (subscription != null) {
                try {
                    subscription.close();
                } catch (Exception e) {
                    // Only the coordinator stopping makes this fail; it drops its watchers then.
                }
                subscription = null;
            }
        }
    }

    private RolloutCoordinator rollouts() {
        if (rollouts == null) {
            throw Status.UNIMPLEMENTED.withDescription("this controller runs no rollout coordinator")
                    .asRuntimeException();
        }
        return rollouts;
    }

    private RecycleCoordinator recycles() {
        if (recycles == null) {
            throw Status.UNIMPLEMENTED.withDescription("this controller runs no recycle coordinator")
                    .asRuntimeException();
        }
        return recycles;
    }

    @Override
    public void listHosts(ListHostsRequest request, StreamObserver<ListHostsResponse> out) {
        reply(() -> engine.hosts(request.getSelectorMap()), hosts -> ListHostsResponse.newBuilder()
                .addAllHosts(hosts.stream().map(AdminProtoMapper::host).toList()).build(), out);
    }

    @Override
    public void getHost(GetHostRequest request, StreamObserver<HostSummary> out) {
        reply(() -> engine.host(requireHost(request.getHost())), AdminProtoMapper::host, out);
    }

    @Override
    public void listProcesses(ListProcessesRequest request, StreamObserver<ListProcessesResponse> out) {
        reply(() -> engine.processes(requireHost(request.getHost()), AdminProtoMapper.order(request.getSort()),
                request.getZombiesOnly(), request.getLimit()), p -> ListProcessesResponse.newBuilder()
                .addAllProcesses(p.rows().stream().map(AdminProtoMapper::process).toList())
                .setSampledAtUnixMs(p.host().sampledAtMillis())
                .setHostOnline(p.host().record().online())
                .setTotalMatching(p.totalMatching())
                .build(), out);
    }

    @Override
    public void listPorts(ListPortsRequest request, StreamObserver<ListPortsResponse> out) {
        reply(() -> engine.ports(requireHost(request.getHost())), p -> ListPortsResponse.newBuilder()
                .addAllPorts(p.rows().stream().map(AdminProtoMapper::port).toList())
                .setSampledAtUnixMs(p.host().sampledAtMillis())
                .setHostOnline(p.host().record().online())
                .build(), out);
    }

    @Override
    public void topMemory(TopMemoryRequest request, StreamObserver<TopMemoryResponse> out) {
        reply(() -> engine.topMemory(request.getLimit(), request.getSelectorMap()), rows -> TopMemoryResponse.newBuilder()
                .addAllProcesses(rows.stream().map(AdminProtoMapper::process).toList()).build(), out);
    }

    @Override
    public void listEvents(ListEventsRequest request, StreamObserver<ListEventsResponse> out) {
        reply(() -> filter(request), f -> ListEventsResponse.newBuilder()
                .addAllEvents(store.events(query(f, request.getLimit()))).build(), out);
    }

    @Override
    public void getMemorySeries(GetMemorySeriesRequest request, StreamObserver<MemorySeries> out) {
        if (!request.hasProcess()) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("process: missing (expected: pid and start_ticks)")
                    .asRuntimeException());
            return;
        }
        reply(() -> engine.host(requireHost(request.getHost())), h -> {
            List<MemoryPoint> points = store.memorySeries(h.record().hostId(), h.record().bootId(),
                    request.getProcess().getPid(), request.getProcess().getStartTicks(),
                    request.getSinceUnixMs(), Long.MAX_VALUE);
            MemorySeries.Builder b = MemorySeries.newBuilder()
                    .setHostId(h.record().hostId()).setProcess(request.getProcess());
            for (MemoryPoint p : points) {
                b.addPointsBuilder().setTimeUnixMs(p.timeMillis()).setRssBytes(p.rssBytes())
                        .setPssBytes(p.pssBytes()).setPrivateBytes(p.privateBytes())
                        .setAnonymousBytes(p.anonymousBytes());
            }
            return b.build();
        }, out);
    }

    @Override
    public void listServices(ListServicesRequest request, StreamObserver<ListServicesResponse> out) {
        reply(() -> engine.services(request.getHost(), request.getService()), hosts -> ListServicesResponse.newBuilder()
                .addAllHosts(hosts.stream().map(AdminProtoMapper::services).toList()).build(), out);
    }

    @Override
    public void doctor(DoctorRequest request, StreamObserver<DoctorResponse> out) {
        reply(() -> engine.runAction(requireHost(request.getHost()),
                new AgentAction.RunDoctor(request.getService(), request.getFix()),
                timeout(request.getFix() ? DOCTOR_FIX_TIMEOUT : DOCTOR_TIMEOUT)), r -> DoctorResponse.newBuilder()
                .setOutcome(AdminProtoMapper.outcome(r))
                .setReport(r.result().getDoctor())
                .build(), out);
    }

    @Override
    public void restartService(RestartServiceRequest request, StreamObserver<ActionOutcome> out) {
        reply(() -> engine.runAction(requireHost(request.getHost()),
                new AgentAction.RestartService(request.getService(), request.getInstance()),
                timeout(RESTART_TIMEOUT)), AdminProtoMapper::outcome, out);
    }

    @Override
    public void tailLogs(TailLogsRequest request, StreamObserver<TailLogsResponse> out) {
        reply(() -> engine.runAction(requireHost(request.getHost()),
                new AgentAction.TailLogs(request.getService(), request.getInstance(),
                        request.getLines() == 0 ? DEFAULT_LOG_LINES : request.getLines()),
                timeout(LOGS_TIMEOUT)), r -> TailLogsResponse.newBuilder()
                .setOutcome(AdminProtoMapper.outcome(r))
                .setLogs(r.result().getLogs())
                .build(), out);
    }

    /** How long to wait for an agent: the call's deadline less a margin, else {@code otherwise}. */
    static Duration timeout(Duration otherwise) {
        Deadline deadline = Context.current().getDeadline();
        if (deadline == null) {
            return otherwise;
        }
        long left = deadline.timeRemaining(TimeUnit.MILLISECONDS);
        long margin = Math.min(MARGIN_MILLIS, left / 10);
        return Duration.ofMillis(Math.max(1, left - margin));
    }

    @Override
    public void watchEvents(WatchEventsRequest request, StreamObserver<Event> responses) {
        ServerCallStreamObserver<Event> out = (ServerCallStreamObserver<Event>) responses;
        // The handlers must be set before this method returns (gRPC refuses them later), and
        // resolving a host name completes on the engine thread, after it has returned.
        Watch watch = new Watch(out);
        filter(request.getFilter()).whenComplete((f, error) -> {
            if (error != null) {
                watch.end();
                out.onError(GrpcErrors.toStatus(error));
                return;
            }
            watch.start(f, request.getFilter().getLimit());
        });
    }

    /**
     * One WatchEvents call: subscribes first, then sends the stored backlog, then live events,
     * skipping what the backlog already covered. Bounded: a watcher that cannot keep up for
     * {@value #WATCH_BUFFER_LIMIT} events is ended with RESOURCE_EXHAUSTED.
     */
    private final class Watch {
        private final ServerCallStreamObserver<Event> out;
        private EventFilter filter;
        private final ArrayDeque<Event> pending = new ArrayDeque<>();
        private long lastSent;
        private boolean backlogDone;
        private boolean ended;
        private AutoCloseable subscription;

        Watch(ServerCallStreamObserver<Event> out) {
            this.out = out;
            out.setOnCancelHandler(this::end);
            out.setOnReadyHandler(this::drain);
        }

        void start(EventFilter eventFilter, int backlogLimit) {
            synchronized (this) {
                if (ended) {
                    return;
                }
                filter = eventFilter;
                subscription = engine.events().subscribe(this::offer);
            }
            List<Event> backlog = store.events(query(filter, backlogLimit));
            synchronized (this) {
                for (Event e : backlog) {
                    pending.addLast(e);
                }
                backlogDone = true;
                drain();
            }
        }

        private synchronized void offer(List<Event> events) {
            for (Event e : events) {
                if (filter.matches(e)) {
                    pending.addLast(e);
                }
            }
            if (pending.size() > WATCH_BUFFER_LIMIT) {
                ended = true;
                pending.clear();
                closeSubscription();
                out.onError(Status.RESOURCE_EXHAUSTED.withDescription("event watcher too slow: more than "
                        + WATCH_BUFFER_LIMIT + " events waiting; reconnect with after_sequence=" + lastSent)
                        .asRuntimeException());
                return;
            }
            drain();
        }

        private synchronized void drain() {
            if (ended || !backlogDone) {
                return;
            }
            while (!pending.isEmpty() && out.isReady()) {
                Event e = pending.removeFirst();
                if (e.getSequence() > lastSent) {
                    out.onNext(e);
                    lastSent = e.getSequence();
                }
            }
        }

        private synchronized void end() {
            ended = true;
            closeSubscription();
        }

        private void closeSubscription() {
            try {
                if (subscription != null) {
                    subscription.close();
                }
            } catch (Exception ignored) {
                // Unsubscribing cannot fail.
            }
        }
    }

    private CompletableFuture<EventFilter> filter(ListEventsRequest r) {
        CompletableFuture<String> host = r.getHost().isEmpty() ? CompletableFuture.completedFuture(null)
                : engine.resolveHostId(r.getHost());
        return host.thenApply(id -> new EventFilter(id, r.getSinceUnixMs(), Set.copyOf(r.getTypesList()),
                r.getAfterSequence()));
    }

    private static EventQuery query(EventFilter f, int limit) {
        return new EventQuery(f.hostId(), f.sinceMillis(), f.types(), f.afterSequence(),
                limit <= 0 ? DEFAULT_EVENT_LIMIT : limit);
    }

    private static String requireHost(String host) {
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host: missing (expected: a host id or name; see 'fleetkeeper hosts')");
        }
        return host;
    }

    private static <T, R> void reply(Supplier<CompletableFuture<T>> call, Function<T, R> map, StreamObserver<R> out) {
        CompletableFuture<T> future;
        try {
            future = call.get();
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
            return;
        }
        future.whenComplete((value, error) -> {
            if (error != null) {
                out.onError(GrpcErrors.toStatus(error));
                return;
            }
            R response;
            try {
                response = map.apply(value);
            } catch (RuntimeException e) {
                out.onError(GrpcErrors.toStatus(e));
                return;
            }
            out.onNext(response);
            out.onCompleted();
        });
    }
}
