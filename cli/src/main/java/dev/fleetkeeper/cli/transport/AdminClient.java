package dev.fleetkeeper.cli.transport;

import dev.fleetkeeper.cli.CliException;
import dev.fleetkeeper.cli.ExitCodes;
import dev.fleetkeeper.proto.v1.ActionOutcome;
import dev.fleetkeeper.proto.v1.AdminServiceGrpc;
import dev.fleetkeeper.proto.v1.DoctorRequest;
import dev.fleetkeeper.proto.v1.DoctorResponse;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.GetHostRequest;
import dev.fleetkeeper.proto.v1.GetRecycleRequest;
import dev.fleetkeeper.proto.v1.GetRolloutRequest;
import dev.fleetkeeper.proto.v1.ListRolloutsRequest;
import dev.fleetkeeper.proto.v1.ListRolloutsResponse;
import dev.fleetkeeper.proto.v1.Rollout;
import dev.fleetkeeper.proto.v1.StartRolloutRequest;
import dev.fleetkeeper.proto.v1.ListRecyclesRequest;
import dev.fleetkeeper.proto.v1.ListRecyclesResponse;
import dev.fleetkeeper.proto.v1.RecycleJob;
import dev.fleetkeeper.proto.v1.StartRecycleRequest;
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
import dev.fleetkeeper.proto.v1.RestartServiceRequest;
import dev.fleetkeeper.proto.v1.TailLogsRequest;
import dev.fleetkeeper.proto.v1.TailLogsResponse;
import dev.fleetkeeper.proto.v1.TopMemoryRequest;
import dev.fleetkeeper.proto.v1.TopMemoryResponse;
import dev.fleetkeeper.proto.v1.WatchEventsRequest;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The CLI's client of the controller's {@code AdminService}: one plaintext channel, a deadline
 * on every unary call, and the one place where gRPC failures become {@link CliException}s a
 * person can act on. Not thread-safe; whoever connects it closes it.
 */
public final class AdminClient implements AutoCloseable {
    private final ControllerAddress address;
    private final Duration timeout;
    private final ManagedChannel channel;
    private final AdminServiceGrpc.AdminServiceBlockingStub stub;

    private AdminClient(ControllerAddress address, Duration timeout, ManagedChannel channel) {
        this.address = address;
        this.timeout = timeout;
        this.channel = channel;
        this.stub = AdminServiceGrpc.newBlockingStub(channel);
    }

    /**
     * Opens a channel to the controller. Nothing is sent until the first call, so an unreachable
     * controller is reported by that call.
     *
     * @param timeout deadline of each unary call; streams have none
     */
    public static AdminClient connect(ControllerAddress address, Duration timeout, String userAgent) {
        Objects.requireNonNull(address, "address");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
        }
        ManagedChannel channel =
                Grpc.newChannelBuilder(address.toString(), InsecureChannelCredentials.create())
                        .userAgent(userAgent)
                        .build();
        return new AdminClient(address, timeout, channel);
    }

    /** The controller this client talks to. */
    public ControllerAddress address() {
        return address;
    }

    /** {@code ListHosts}. */
    public ListHostsResponse listHosts(ListHostsRequest request) {
        return unary(() -> withDeadline().listHosts(request));
    }

    /** {@code GetHost}. */
    public HostSummary getHost(GetHostRequest request) {
        return unary(() -> withDeadline().getHost(request));
    }

    /** {@code ListProcesses}. */
    public ListProcessesResponse listProcesses(ListProcessesRequest request) {
        return unary(() -> withDeadline().listProcesses(request));
    }

    /** {@code ListPorts}. */
    public ListPortsResponse listPorts(ListPortsRequest request) {
        return unary(() -> withDeadline().listPorts(request));
    }

    /** {@code TopMemory}. */
    public TopMemoryResponse topMemory(TopMemoryRequest request) {
        return unary(() -> withDeadline().topMemory(request));
    }

    /** {@code ListEvents}. */
    public ListEventsResponse listEvents(ListEventsRequest request) {
        return unary(() -> withDeadline().listEvents(request));
    }

    /** {@code ListServices}. */
    public ListServicesResponse listServices(ListServicesRequest request) {
        return unary(() -> withDeadline().listServices(request));
    }

    /** {@code Doctor}: the controller waits for the agent until shortly before this call's deadline. */
    public DoctorResponse doctor(DoctorRequest request) {
        return unary(() -> withDeadline().doctor(request));
    }

    /** {@code RestartService}. */
    public ActionOutcome restartService(RestartServiceRequest request) {
        return unary(() -> withDeadline().restartService(request));
    }

    /** {@code TailLogs}. */
    public TailLogsResponse tailLogs(TailLogsRequest request) {
        return unary(() -> withDeadline().tailLogs(request));
    }

    /**
     * {@code WatchEvents}: hands each event to {@code sink} as it arrives, on the calling thread,
     * and returns when the controller ends the stream. No deadline: it runs until the process is
     * interrupted. If {@code sink} throws, the call is cancelled and the exception propagates.
     */
    public void watchEvents(WatchEventsRequest request, Consumer<Event> sink) {
        try (Context.CancellableContext context = Context.current().withCancellation()) {
            context.run(() -> {
                try {
                    Iterator<Event> events = stub.watchEvents(request);
                    while (events.hasNext()) {
                        sink.accept(events.next());
                    }
                } catch (StatusRuntimeException e) {
                    throw translate(e);
                }
            });
        }
    }

    /** {@code StartRecycle}. */
    public RecycleJob startRecycle(StartRecycleRequest request) {
        return unary(() -> withDeadline().startRecycle(request));
    }

    /** {@code GetRecycle}. */
    public RecycleJob getRecycle(GetRecycleRequest request) {
        return unary(() -> withDeadline().getRecycle(request));
    }

    /** {@code ListRecycles}. */
    public ListRecyclesResponse listRecycles(ListRecyclesRequest request) {
        return unary(() -> withDeadline().listRecycles(request));
    }

    /** {@code AbortRecycle}. */
    public RecycleJob abortRecycle(GetRecycleRequest request) {
        return unary(() -> withDeadline().abortRecycle(request));
    }

    /**
     * {@code WatchRecycle}: hands each job snapshot to {@code sink} on the calling thread and
     * returns when the job has ended. No deadline. A lost connection (the controller restarting)
     * throws a {@link CliException} with {@link ExitCodes#USAGE_OR_UNREACHABLE}, so that the
     * caller may watch again.
     */
    public void watchRecycle(GetRecycleRequest request, Consumer<RecycleJob> sink) {
        watchJob(() -> stub.watchRecycle(request), job -> {
            sink.accept(job);
            return true;
        });
    }

    /** {@code StartRollout}. */
    public Rollout startRollout(StartRolloutRequest request) {
        return unary(() -> withDeadline().startRollout(request));
    }

    /** {@code GetRollout}. */
    public Rollout getRollout(GetRolloutRequest request) {
        return unary(() -> withDeadline().getRollout(request));
    }

    /** {@code ListRollouts}. */
    public ListRolloutsResponse listRollouts(ListRolloutsRequest request) {
        return unary(() -> withDeadline().listRollouts(request));
    }

    /** {@code PauseRollout}, {@code ResumeRollout}, ...: one of the operator's verbs on a rollout. */
    public Rollout controlRollout(RolloutVerb verb, GetRolloutRequest request) {
        return unary(() -> switch (verb) {
            case PAUSE -> withDeadline().pauseRollout(request);
            case RESUME -> withDeadline().resumeRollout(request);
            case PROMOTE -> withDeadline().promoteRollout(request);
            case ABORT -> withDeadline().abortRollout(request);
            case ROLLBACK -> withDeadline().rollbackRollout(request);
        });
    }

    /** What an operator can do to a running rollout. */
    public enum RolloutVerb { PAUSE, RESUME, PROMOTE, ABORT, ROLLBACK }

    /**
     * {@code WatchRollout}: hands each snapshot to {@code sink} on the calling thread until the
     * stream ends or {@code sink} returns false. No deadline. A lost connection throws a
     * {@link CliException} with {@link ExitCodes#USAGE_OR_UNREACHABLE}, so that the caller may
     * watch again.
     */
    public void watchRollout(GetRolloutRequest request, Predicate<Rollout> sink) {
        watchJob(() -> stub.watchRollout(request), sink);
    }

    /**
     * A job's snapshot stream (recycle, rollout) on the calling thread until it ends or
     * {@code sink} returns false; CANCELLED or UNAVAILABLE (the controller restarting) become
     * {@link ExitCodes#USAGE_OR_UNREACHABLE}, so that the caller may watch again.
     */
    private <T> void watchJob(Supplier<Iterator<T>> call, Predicate<T> sink) {
        try (Context.CancellableContext context = Context.current().withCancellation()) {
            context.run(() -> {
                try {
                    Iterator<T> snapshots = call.get();
                    while (snapshots.hasNext()) {
                        if (!sink.test(snapshots.next())) {
                            return;
                        }
                    }
                } catch (StatusRuntimeException e) {
                    Status.Code code = e.getStatus().getCode();
                    if (code == Status.Code.CANCELLED || code == Status.Code.UNAVAILABLE) {
                        throw new CliException(ExitCodes.USAGE_OR_UNREACHABLE, "lost the controller at " + address
                                + " (" + reason(e.getStatus()) + ")");
                    }
                    throw translate(e);
                }
            });
        }
    }

    private AdminServiceGrpc.AdminServiceBlockingStub withDeadline() {
        return stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private <T> T unary(Supplier<T> call) {
        long start = System.nanoTime();
        try {
            return call.get();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED
                    && System.nanoTime() - start < timeout.toNanos()) {
                // Before our own deadline: the controller's answer (an agent did not answer in
                // time), whose message says what may still happen and where to look.
                String description = e.getStatus().getDescription();
                throw new CliException(ExitCodes.FAILED, description == null ? "the controller timed out" : description);
            }
            throw translate(e);
        }
    }

    /** Says what went wrong with the controller in one line, and what to do about it. */
    CliException translate(StatusRuntimeException e) {
        Status status = e.getStatus();
        String description = status.getDescription() == null ? "" : status.getDescription();
        switch (status.getCode()) {
            case UNAVAILABLE:
                return new CliException(ExitCodes.USAGE_OR_UNREACHABLE,
                        "cannot reach the controller at " + address + " (" + reason(status) + "). "
                                + "Is it running? Start one with 'fleetkeeper dev', "
                                + "or pass --controller HOST:PORT / set FLEETKEEPER_CONTROLLER.");
            case DEADLINE_EXCEEDED:
                return new CliException(ExitCodes.USAGE_OR_UNREACHABLE,
                        "the controller at " + address + " did not answer within " + seconds(timeout) + ". "
                                + "Is it running and reachable from here? "
                                + "Pass --timeout for a slow link, or --controller HOST:PORT / set FLEETKEEPER_CONTROLLER.");
            case NOT_FOUND:
                return new CliException(ExitCodes.FAILED,
                        description.isEmpty() ? "not found (the controller gave no detail)" : description);
            case INVALID_ARGUMENT:
                return new CliException(ExitCodes.USAGE_OR_UNREACHABLE,
                        "the controller rejected the request: " + description);
            case FAILED_PRECONDITION:
                return new CliException(ExitCodes.FAILED,
                        description.isEmpty() ? "the controller refused: " + status.getCode() : description);
            case UNIMPLEMENTED:
                return new CliException(ExitCodes.FAILED,
                        "the controller at " + address + " does not support this command (" + description
                                + "). Upgrade the controller to this CLI's version.");
            default:
                return new CliException(ExitCodes.FAILED,
                        "the controller at " + address + " failed: " + status.getCode()
                                + (description.isEmpty() ? "" : ": " + description));
        }
    }

    private static String reason(Status status) {
        for (Throwable t = status.getCause(); t != null; t = t.getCause()) {
            if (t instanceof ConnectException && !(t instanceof NoRouteToHostException)) {
                String message = String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT);
                return message.contains("refused") ? "connection refused" : "cannot connect";
            }
            if (t instanceof NoRouteToHostException) {
                return "no route to host";
            }
            if (t instanceof UnknownHostException) {
                return "unknown host";
            }
        }
        String description = status.getDescription();
        return description == null || description.isBlank() ? "unavailable" : description;
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }

    /** Closes the channel at once: nothing this CLI sends needs to drain. Idempotent. */
    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
