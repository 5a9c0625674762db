package dev.fleetkeeper.cli;

import dev.fleetkeeper.proto.v1.GateResult;
import dev.fleetkeeper.proto.v1.GetRolloutRequest;
import dev.fleetkeeper.proto.v1.ListRolloutsRequest;
import dev.fleetkeeper.proto.v1.ListRolloutsResponse;
import dev.fleetkeeper.proto.v1.Release;
import dev.fleetkeeper.proto.v1.Rollout;
import dev.fleetkeeper.proto.v1.RolloutPlan;
import dev.fleetkeeper.proto.v1.RolloutState;
import dev.fleetkeeper.proto.v1.RolloutStep;
import dev.fleetkeeper.proto.v1.RolloutStepState;
import dev.fleetkeeper.proto.v1.StartRolloutRequest;
import dev.fleetkeeper.proto.v1.ActionOutcome;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.AdminServiceGrpc;
import dev.fleetkeeper.proto.v1.DoctorReport;
import dev.fleetkeeper.proto.v1.DoctorRequest;
import dev.fleetkeeper.proto.v1.DoctorResponse;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.Evidence;
import dev.fleetkeeper.proto.v1.Finding;
import dev.fleetkeeper.proto.v1.HostServices;
import dev.fleetkeeper.proto.v1.InstanceView;
import dev.fleetkeeper.proto.v1.ListServicesRequest;
import dev.fleetkeeper.proto.v1.ListServicesResponse;
import dev.fleetkeeper.proto.v1.LogTail;
import dev.fleetkeeper.proto.v1.ManagerState;
import dev.fleetkeeper.proto.v1.MemoryBaseline;
import dev.fleetkeeper.proto.v1.MemoryTrend;
import dev.fleetkeeper.proto.v1.Remedy;
import dev.fleetkeeper.proto.v1.RemedyOutcome;
import dev.fleetkeeper.proto.v1.RestartServiceRequest;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.ProbeStatus;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import dev.fleetkeeper.proto.v1.TailLogsRequest;
import dev.fleetkeeper.proto.v1.TailLogsResponse;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.GetHostRequest;
import dev.fleetkeeper.proto.v1.HostStats;
import dev.fleetkeeper.proto.v1.HostSummary;
import dev.fleetkeeper.proto.v1.ListEventsRequest;
import dev.fleetkeeper.proto.v1.ListEventsResponse;
import dev.fleetkeeper.proto.v1.ListHostsRequest;
import dev.fleetkeeper.proto.v1.ListHostsResponse;
import dev.fleetkeeper.proto.v1.ListPortsRequest;
import dev.fleetkeeper.proto.v1.ListPortsResponse;
import dev.fleetkeeper.proto.v1.ListProcessesRequest;
import dev.fleetkeeper.proto.v1.ListProcessesResponse;
import dev.fleetkeeper.proto.v1.PortEntry;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessEntry;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.ProcessSort;
import dev.fleetkeeper.proto.v1.ProcessState;
import dev.fleetkeeper.proto.v1.Severity;
import dev.fleetkeeper.proto.v1.Socket;
import dev.fleetkeeper.proto.v1.SocketProtocol;
import dev.fleetkeeper.proto.v1.TopMemoryRequest;
import dev.fleetkeeper.proto.v1.TopMemoryResponse;
import dev.fleetkeeper.proto.v1.WatchEventsRequest;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A stand-in for the controller: a real gRPC server on a loopback port serving fixed fleet
 * data, recording the last request of each kind. The CLI is what is under test. Thread-safe
 * enough for one test at a time; close it after the test.
 */
public final class FakeController implements AutoCloseable {
    /** The fixed "now" of the tests' clock. */
    public static final Instant NOW = Instant.parse("2026-11-05T12:00:00Z");

    public static final String WEB_ID = "3f9a1c2e7b4d4e0fa1b2c3d4e5f60718";
    public static final String DB_ID = "9d00be11c0de4f00a1b2c3d4e5f60718";

    public static long ago(long seconds) {
        return NOW.minusSeconds(seconds).toEpochMilli();
    }

    public static final HostSummary WEB = HostSummary.newBuilder()
            .setHostId(WEB_ID)
            .setHostname("web-1")
            .putLabels("role", "web")
            .putLabels("env", "prod")
            .setAgentVersion("0.1.0")
            .setKernel("6.1.0-26-amd64")
            .setOnline(true)
            .setLastSeenUnixMs(ago(3))
            .setStats(HostStats.newBuilder()
                    .setMemTotalBytes(4L << 30)
                    .setMemAvailableBytes(1_288_490_189L) // 1.2G
                    .setLoad1(0.42))
            .setProcessCount(4)
            .setZombieCount(1)
            .setListenerCount(4)
            .build();

    public static final HostSummary DB = HostSummary.newBuilder()
            .setHostId(DB_ID)
            .setHostname("db-1")
            .putLabels("role", "db")
            .setAgentVersion("0.1.0")
            .setKernel("6.1.0-26-amd64")
            .setOnline(false)
            .setLastSeenUnixMs(ago(300))
            .setStats(HostStats.newBuilder().setMemTotalBytes(8L << 30).setMemAvailableBytes(6L << 30).setLoad1(1.5))
            .setProcessCount(2)
            .build();

    public static final Process NGINX_MASTER = process(812, 1, "root", ProcessState.PROCESS_STATE_SLEEPING, 8_601_600, 0.0f,
            ago(3 * 86400), "nginx", "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;");
    public static final Process NGINX_WORKER = process(813, 812, "www-data", ProcessState.PROCESS_STATE_SLEEPING, 12_897_485,
            1.5f, ago(3 * 86400), "nginx", "nginx: worker process");
    public static final Process NODE = process(2201, 1, "app", ProcessState.PROCESS_STATE_RUNNING, 432_013_312, 37.5f,
            ago(2 * 3600), "node", "/usr/bin/node", "/srv/app/server.js", "--port", "3000", "--max-old-space-size=4096",
            "--enable-source-maps", "--trace-warnings", "--unhandled-rejections=strict");
    public static final Process ZOMBIE = process(3050, 2201, "app", ProcessState.PROCESS_STATE_ZOMBIE, 0, 0.0f,
            ago(600), "convert");

    private static Process process(int pid, int ppid, String user, ProcessState state, long rss, float cpu,
            long started, String comm, String... cmdline) {
        return Process.newBuilder()
                .setKey(ProcessKey.newBuilder().setPid(pid).setStartTicks(pid * 100L))
                .setPpid(ppid)
                .setUser(user)
                .setState(state)
                .setRssBytes(rss)
                .setCpuPercent(cpu)
                .setStartTimeUnixMs(started)
                .setComm(comm)
                .addAllCmdline(List.of(cmdline))
                .build();
    }

    public static final List<Process> WEB_PROCESSES = List.of(NGINX_MASTER, NGINX_WORKER, NODE, ZOMBIE);

    public static final List<Event> EVENTS = List.of(
            event(1, ago(900), WEB_ID, EventType.EVENT_TYPE_HOST_ONLINE, Severity.SEVERITY_INFO, "web-1 connected"),
            event(2, ago(600), WEB_ID, EventType.EVENT_TYPE_ZOMBIE_APPEARED, Severity.SEVERITY_WARNING,
                    "convert (pid 3050) is a zombie; parent node (pid 2201) has not reaped it"),
            event(3, ago(300), DB_ID, EventType.EVENT_TYPE_HOST_OFFLINE, Severity.SEVERITY_CRITICAL,
                    "db-1 silent for 15s"));

    public static Event event(long sequence, long time, String hostId, EventType type, Severity severity, String message) {
        return Event.newBuilder()
                .setId(hostId + ":" + sequence)
                .setSequence(sequence)
                .setTimeUnixMs(time)
                .setHostId(hostId)
                .setType(type)
                .setSeverity(severity)
                .setMessage(message)
                .build();
    }

    // ---- services

    public static final Finding PORT_HELD = Finding.newBuilder().setCode("PORT_HELD")
            .setSeverity(Severity.SEVERITY_CRITICAL).setService("api").setInstance(0)
            .setSummary("port 3000 is held by pid 4211, a process of an older release")
            .setExplanation("The previous release's node process never exited; api#0 cannot bind until it does.")
            .addEvidence(Evidence.newBuilder().setLabel("holder").setValue("4211 node /srv/app/releases/41/server.js"))
            .addEvidence(Evidence.newBuilder().setLabel("started").setValue("2026-11-05 09:12:03 (before the deploy)"))
            .setRemedy(Remedy.newBuilder().setAutomatic(true)
                    .setDescription("stop pid 4211 (SIGTERM, then SIGKILL after 30s)").addCommands("kill -TERM 4211"))
            .build();
    public static final Finding PATH_NOT_WRITABLE = Finding.newBuilder().setCode("PATH_NOT_WRITABLE")
            .setSeverity(Severity.SEVERITY_WARNING).setService("api").setInstance(-1)
            .setSummary("www-data cannot write /srv/app/current/storage")
            .setExplanation("The deploy left the directory owned by root.")
            .addEvidence(Evidence.newBuilder().setLabel("path").setValue("/srv/app/current/storage root:root 0755"))
            .setRemedy(Remedy.newBuilder().setAutomatic(false).setDescription("give the directory back to the service user")
                    .addCommands("chown -R www-data:www-data /srv/app/current/storage"))
            .build();
    public static final Finding CRASH_LOOP = Finding.newBuilder().setCode("CRASH_LOOP")
            .setSeverity(Severity.SEVERITY_CRITICAL).setService("worker").setInstance(0)
            .setSummary("7 restarts in 5 minutes").build();

    public static final ServiceReport WEB_SERVICES = ServiceReport.newBuilder().setTakenAtUnixMs(ago(4))
            .addServices(ServiceStatus.newBuilder().setName("api").setDriver("supervisor").setInstancesDeclared(2)
                    .addInstances(InstanceView.newBuilder().setIndex(0).setManagerState(ManagerState.MANAGER_STATE_RUNNING)
                            .setManagerPid(2201).setRestarts(0).setProcess(NODE.getKey()).setProcState("S")
                            .setRssBytes(432_013_312).addExpectedPorts(3000).setConsistent(false)
                            .setProbe(ProbeStatus.newBuilder().setProbe("http:/healthz").setOk(false).setPid(2201)
                                    .setDetail("connection refused on :3000 (GET /healthz)").setSinceUnixMs(ago(90))
                                    .setCheckedAtUnixMs(ago(2)))
                            .setMemory(MemoryTrend.newBuilder().setLeaking(true).setSlopeBytesPerSecond(36_700)
                                    .setTimeToLimitMs(2_820_000).setConfidence(0.97).setLimitBytes(536_870_912)
                                    .setReason("grows 2.1M/min over 30m, minima rising").setBaselineRssBytes(188_743_680)))
                    .addInstances(InstanceView.newBuilder().setIndex(1).setManagerState(ManagerState.MANAGER_STATE_RUNNING)
                            .setManagerPid(2202).setRestarts(1).setProcess(ProcessKey.newBuilder().setPid(2202))
                            .setProcState("S").setRssBytes(398_458_880).addExpectedPorts(3001).addBoundPorts(3001)
                            .setConsistent(true)
                            .setProbe(ProbeStatus.newBuilder().setProbe("http:/healthz").setOk(true).setPid(2202)
                                    .setDetail("HTTP 200 from :3001/healthz").setSinceUnixMs(ago(3600))
                                    .setCheckedAtUnixMs(ago(1)))
                            .setMemory(MemoryTrend.newBuilder().setSlopeBytesPerSecond(3).setConfidence(0.4)
                                    .setLimitBytes(536_870_912).setReason("sawtooth, minima flat")
                                    .setBaselineRssBytes(183_500_800)))
                    .addBaselines(MemoryBaseline.newBuilder().setVersion("42").setRssBytes(186_122_240).setSamples(2)
                            .setRecordedAtUnixMs(ago(1200)))
                    .addBaselines(MemoryBaseline.newBuilder().setVersion("41").setRssBytes(152_043_520).setSamples(6)
                            .setRecordedAtUnixMs(ago(90_000)))
                    .addFindings(PORT_HELD).addFindings(PATH_NOT_WRITABLE))
            .addServices(ServiceStatus.newBuilder().setName("worker").setDriver("supervisor").setInstancesDeclared(1)
                    .addInstances(InstanceView.newBuilder().setIndex(0).setManagerState(ManagerState.MANAGER_STATE_BACKOFF)
                            .setRestarts(7).setExitCode(1).setConsistent(true))
                    .addFindings(CRASH_LOOP))
            .build();

    public static final ServiceReport DB_SERVICES = ServiceReport.newBuilder().setTakenAtUnixMs(ago(300))
            .addServices(ServiceStatus.newBuilder().setName("backup").setDriver("builtin").setInstancesDeclared(1)
                    .addInstances(InstanceView.newBuilder().setIndex(0).setManagerState(ManagerState.MANAGER_STATE_RUNNING)
                            .setManagerPid(900).setRestarts(-1).setProcess(ProcessKey.newBuilder().setPid(900))
                            .setProcState("S").setRssBytes(20_971_520).setConsistent(true)))
            .build();

    public static final String ACTION_ID = "019a53f8d000-test-1";

    private volatile DoctorRequest lastDoctor;
    private volatile RestartServiceRequest lastRestart;
    private volatile TailLogsRequest lastTailLogs;

    /** The last Doctor request served. */
    public DoctorRequest lastDoctor() {
        return lastDoctor;
    }

    /** The last RestartService request served. */
    public RestartServiceRequest lastRestart() {
        return lastRestart;
    }

    /** The last TailLogs request served. */
    public TailLogsRequest lastTailLogs() {
        return lastTailLogs;
    }

    /** The rollout the fake starts, in its canary; WatchRollout then sends {@link #rolloutProgress}. */
    public static final String ROLLOUT_ID = "ro-019a53f8d000-test";

    private static RolloutStep step(String host, String hostId, int instance, boolean canary, int batch,
                                    RolloutStepState state, int oldPid, int newPid, String message, GateResult... gates) {
        return RolloutStep.newBuilder().setHostId(hostId).setHostname(host).setInstance(instance).setCanary(canary)
                .setBatch(batch).setState(state).setOldPid(oldPid).setNewPid(newPid).setMessage(message)
                .addAllGates(List.of(gates)).build();
    }

    /** A rollout of api to v43 over web-1 (2 instances) and db-1 (1), with {@code state} and steps. */
    public static Rollout rollout(StartRolloutRequest request, RolloutState state, RolloutStep... steps) {
        RolloutPlan.Builder plan = request.getPlan().toBuilder();
        if (plan.getMinHealthyMs() == 0) {
            plan.setMinHealthyMs(10_000);
        }
        return Rollout.newBuilder().setRolloutId(ROLLOUT_ID).setService(request.getService())
                .putAllSelector(request.getSelectorMap()).setRelease(request.getRelease()).setPlan(plan)
                .setState(state).setCreatedAtUnixMs(ago(60)).addAllSteps(List.of(steps)).build();
    }

    static final GateResult UP = GateResult.newBuilder().setGate("up").setOk(true).setDetail("running 12s").build();
    static final GateResult PORTS = GateResult.newBuilder().setGate("ports").setOk(true).setDetail("3000 bound").build();
    static final GateResult MEMORY_BAD = GateResult.newBuilder().setGate("memory").setOk(false)
            .setDetail("baseline 182 MiB vs 120 MiB for v42 (+52%, tolerance 20%)").build();

    /** What WatchRollout sends after the started rollout: the canary verified, healthy, then awaiting promotion. */
    public static List<Rollout> rolloutProgress(StartRolloutRequest r) {
        RolloutStep pending1 = step("web-1", WEB_ID, 1, false, 1, RolloutStepState.ROLLOUT_STEP_STATE_PENDING, 0, 0, "");
        RolloutStep pending2 = step("db-1", DB_ID, 0, false, 2, RolloutStepState.ROLLOUT_STEP_STATE_PENDING, 0, 0, "");
        return List.of(
                rollout(r, RolloutState.ROLLOUT_STATE_CANARY,
                        step("web-1", WEB_ID, 0, true, 0, RolloutStepState.ROLLOUT_STEP_STATE_VERIFYING, 2201, 2290,
                                "healthy for 4s of 10s", UP, PORTS), pending1, pending2),
                rollout(r, RolloutState.ROLLOUT_STATE_AWAITING_PROMOTION,
                        step("web-1", WEB_ID, 0, true, 0, RolloutStepState.ROLLOUT_STEP_STATE_HEALTHY, 2201, 2290, "",
                                UP, PORTS), pending1, pending2).toBuilder()
                        .setMessage("canary healthy; waiting for promote").build());
    }

    private volatile StartRolloutRequest lastStartRollout;
    private final List<String> rolloutVerbs = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** The last StartRollout request served. */
    public StartRolloutRequest lastStartRollout() {
        return lastStartRollout;
    }

    /** The verbs (PAUSE, PROMOTE, ...) called on rollouts, in order, each with its rollout id. */
    public List<String> rolloutVerbs() {
        return rolloutVerbs;
    }

    private final Server server;
    /** Events WatchEvents sends after the stored ones; the stream ends when a {@link #END} is taken. */
    private final BlockingQueue<Event> live = new LinkedBlockingQueue<>();
    private static final Event END = Event.getDefaultInstance();

    private volatile ListHostsRequest lastListHosts;
    private volatile ListProcessesRequest lastListProcesses;
    private volatile TopMemoryRequest lastTopMemory;
    private volatile ListEventsRequest lastListEvents;
    private volatile WatchEventsRequest lastWatchEvents;

    /** The last ListHosts request served. */
    public ListHostsRequest lastListHosts() {
        return lastListHosts;
    }

    /** The last ListProcesses request served. */
    public ListProcessesRequest lastListProcesses() {
        return lastListProcesses;
    }

    /** The last TopMemory request served. */
    public TopMemoryRequest lastTopMemory() {
        return lastTopMemory;
    }

    /** The last ListEvents request served. */
    public ListEventsRequest lastListEvents() {
        return lastListEvents;
    }

    /** The last WatchEvents request served. */
    public WatchEventsRequest lastWatchEvents() {
        return lastWatchEvents;
    }

    /** Sends {@code event} on open and future WatchEvents streams, after the stored ones. */
    public void publish(Event event) {
        live.add(event);
    }

    /** Ends the WatchEvents stream (after what was published before). */
    public void endWatch() {
        live.add(END);
    }

    public FakeController() throws IOException {
        server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
                .addService(new Service())
                .build()
                .start();
    }

    /** {@code 127.0.0.1:PORT} of the running server. */
    public String address() {
        return "127.0.0.1:" + server.getPort();
    }

    @Override
    public void close() {
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static StartRolloutRequest failedRolloutRequest() {
        return StartRolloutRequest.newBuilder().setService("api")
                .setRelease(Release.newBuilder().setVersion("v43")).build();
    }

    /** A rollout whose canary was rejected for its memory baseline. */
    public static Rollout failedRollout() {
        return rollout(failedRolloutRequest(), RolloutState.ROLLOUT_STATE_FAILED,
                step("web-1", WEB_ID, 0, true, 0, RolloutStepState.ROLLOUT_STEP_STATE_FAILED, 2201, 2290,
                        "memory baseline regressed", UP, PORTS, MEMORY_BAD),
                step("web-1", WEB_ID, 1, false, 1, RolloutStepState.ROLLOUT_STEP_STATE_SKIPPED, 0, 0, ""))
                .toBuilder().setMessage("the canary failed its gates: memory").setFailures(1).build();
    }

    private static HostSummary find(String host) {
        for (HostSummary h : List.of(WEB, DB)) {
            if (h.getHostname().equals(host) || h.getHostId().equals(host)) {
                return h;
            }
        }
        throw Status.NOT_FOUND
                .withDescription("no host '" + host + "' (known: db-1, web-1); list them with 'fleetkeeper hosts'")
                .asRuntimeException();
    }

    private static boolean matches(HostSummary host, Map<String, String> selector) {
        return selector.entrySet().stream().allMatch(e -> e.getValue().equals(host.getLabelsMap().get(e.getKey())));
    }

    private final class Service extends AdminServiceGrpc.AdminServiceImplBase {
        @Override
        public void startRollout(StartRolloutRequest request, StreamObserver<Rollout> response) {
            lastStartRollout = request;
            if (!request.getService().equals("api")) {
                response.onError(Status.FAILED_PRECONDITION.withDescription("no online host declares service '"
                        + request.getService() + "'").asRuntimeException());
                return;
            }
            response.onNext(rollout(request, RolloutState.ROLLOUT_STATE_CANARY,
                    step("web-1", WEB_ID, 0, true, 0, RolloutStepState.ROLLOUT_STEP_STATE_SENT, 2201, 0, ""),
                    step("web-1", WEB_ID, 1, false, 1, RolloutStepState.ROLLOUT_STEP_STATE_PENDING, 0, 0, ""),
                    step("db-1", DB_ID, 0, false, 2, RolloutStepState.ROLLOUT_STEP_STATE_PENDING, 0, 0, "")));
            response.onCompleted();
        }

        @Override
        public void watchRollout(GetRolloutRequest request, StreamObserver<Rollout> response) {
            StartRolloutRequest started = lastStartRollout;
            if (started == null) {
                started = failedRolloutRequest();
            }
            rolloutProgress(started).forEach(response::onNext);
            response.onCompleted();
        }

        @Override
        public void getRollout(GetRolloutRequest request, StreamObserver<Rollout> response) {
            if (!request.getRolloutId().equals(ROLLOUT_ID)) {
                response.onError(Status.NOT_FOUND.withDescription("no rollout '" + request.getRolloutId()
                        + "'; list them with 'fleetkeeper rollout list'").asRuntimeException());
                return;
            }
            response.onNext(failedRollout());
            response.onCompleted();
        }

        @Override
        public void listRollouts(ListRolloutsRequest request, StreamObserver<ListRolloutsResponse> response) {
            response.onNext(ListRolloutsResponse.newBuilder().addRollouts(failedRollout()).build());
            response.onCompleted();
        }

        @Override
        public void pauseRollout(GetRolloutRequest request, StreamObserver<Rollout> response) {
            verb("PAUSE", request, RolloutState.ROLLOUT_STATE_PAUSED, response);
        }

        @Override
        public void resumeRollout(GetRolloutRequest request, StreamObserver<Rollout> response) {
            verb("RESUME", request, RolloutState.ROLLOUT_STATE_ROLLING, response);
        }

        @Override
        public void promoteRollout(GetRolloutRequest request, StreamObserver<Rollout> response) {
            verb("PROMOTE", request, RolloutState.ROLLOUT_STATE_ROLLING, response);
        }

        @Override
        public void abortRollout(GetRolloutRequest request, StreamObserver<Rollout> response) {
            verb("ABORT", request, RolloutState.ROLLOUT_STATE_ABORTED, response);
        }

        @Override
        public void rollbackRollout(GetRolloutRequest request, StreamObserver<Rollout> response) {
            verb("ROLLBACK", request, RolloutState.ROLLOUT_STATE_ROLLING_BACK, response);
        }

        private void verb(String verb, GetRolloutRequest request, RolloutState to, StreamObserver<Rollout> response) {
            rolloutVerbs.add(verb + " " + request.getRolloutId());
            response.onNext(failedRollout().toBuilder().setState(to).setMessage("").build());
            response.onCompleted();
        }

        @Override
        public void listHosts(ListHostsRequest request, StreamObserver<ListHostsResponse> response) {
            lastListHosts = request;
            response.onNext(ListHostsResponse.newBuilder()
                    .addAllHosts(List.of(DB, WEB).stream().filter(h -> matches(h, request.getSelectorMap())).collect(Collectors.toList()))
                    .build());
            response.onCompleted();
        }

        @Override
        public void getHost(GetHostRequest request, StreamObserver<HostSummary> response) {
            try {
                response.onNext(find(request.getHost()));
                response.onCompleted();
            } catch (RuntimeException e) {
                response.onError(e);
            }
        }

        @Override
        public void listProcesses(ListProcessesRequest request, StreamObserver<ListProcessesResponse> response) {
            lastListProcesses = request;
            HostSummary host;
            try {
                host = find(request.getHost());
            } catch (RuntimeException e) {
                response.onError(e);
                return;
            }
            List<Process> processes = host == WEB ? WEB_PROCESSES : List.of();
            Comparator<Process> order = request.getSort() == ProcessSort.PROCESS_SORT_PID
                    ? Comparator.comparingInt(p -> p.getKey().getPid())
                    : request.getSort() == ProcessSort.PROCESS_SORT_CPU
                            ? Comparator.comparingDouble((Process p) -> p.getCpuPercent()).reversed()
                            : Comparator.comparingLong(Process::getRssBytes).reversed();
            ListProcessesResponse.Builder out = ListProcessesResponse.newBuilder()
                    .setSampledAtUnixMs(host == WEB ? ago(3) : ago(300))
                    .setHostOnline(host.getOnline())
                    .setTotalMatching((int) processes.stream()
                            .filter(p -> !request.getZombiesOnly() || p.getState() == ProcessState.PROCESS_STATE_ZOMBIE)
                            .count());
            processes.stream()
                    .filter(p -> !request.getZombiesOnly() || p.getState() == ProcessState.PROCESS_STATE_ZOMBIE)
                    .sorted(order)
                    .limit(request.getLimit() == 0 ? Long.MAX_VALUE : request.getLimit())
                    .forEach(p -> {
                        ProcessEntry.Builder entry = ProcessEntry.newBuilder()
                                .setHostId(host.getHostId())
                                .setHostname(host.getHostname())
                                .setProcess(p);
                        processes.stream().filter(q -> q.getKey().getPid() == p.getPpid()).findFirst().ifPresent(entry::setParent);
                        out.addProcesses(entry);
                    });
            response.onNext(out.build());
            response.onCompleted();
        }

        @Override
        public void listPorts(ListPortsRequest request, StreamObserver<ListPortsResponse> response) {
            try {
                find(request.getHost());
            } catch (RuntimeException e) {
                response.onError(e);
                return;
            }
            response.onNext(ListPortsResponse.newBuilder()
                    .setSampledAtUnixMs(ago(3))
                    .setHostOnline(true)
                    .addPorts(PortEntry.newBuilder()
                            .setSocket(socket(SocketProtocol.SOCKET_PROTOCOL_TCP, "0.0.0.0", 80, 0, NGINX_MASTER, NGINX_WORKER))
                            .addOwners(NGINX_MASTER)
                            .addOwners(NGINX_WORKER))
                    .addPorts(PortEntry.newBuilder()
                            .setSocket(socket(SocketProtocol.SOCKET_PROTOCOL_TCP6, "::", 80, 0, NGINX_MASTER))
                            .addOwners(NGINX_MASTER))
                    .addPorts(PortEntry.newBuilder()
                            .setSocket(socket(SocketProtocol.SOCKET_PROTOCOL_TCP, "127.0.0.1", 3000, 1001, NODE))
                            .addOwners(NODE))
                    .addPorts(PortEntry.newBuilder()
                            .setSocket(socket(SocketProtocol.SOCKET_PROTOCOL_UDP, "0.0.0.0", 5353, 107)))
                    .build());
            response.onCompleted();
        }

        private Socket socket(SocketProtocol protocol, String address, int port, int uid, Process... owners) {
            Socket.Builder socket = Socket.newBuilder().setProtocol(protocol).setAddress(address).setPort(port)
                    .setInode(10_000 + port).setUid(uid);
            for (Process owner : owners) {
                socket.addOwners(owner.getKey());
            }
            return socket.build();
        }

        @Override
        public void listServices(ListServicesRequest request, StreamObserver<ListServicesResponse> response) {
            ListServicesResponse.Builder out = ListServicesResponse.newBuilder();
            try {
                for (HostSummary h : List.of(DB, WEB)) {
                    if (request.getHost().isEmpty() || find(request.getHost()) == h) {
                        out.addHosts(HostServices.newBuilder().setHostId(h.getHostId()).setHostname(h.getHostname())
                                .setOnline(h.getOnline()).setReport(h == WEB ? WEB_SERVICES : DB_SERVICES));
                    }
                }
            } catch (RuntimeException e) {
                response.onError(e);
                return;
            }
            response.onNext(out.build());
            response.onCompleted();
        }

        /** Unknown host, or an offline one: the errors the controller gives before asking an agent. */
        private boolean refused(String host, String verb, StreamObserver<?> response) {
            HostSummary h;
            try {
                h = find(host);
            } catch (RuntimeException e) {
                response.onError(e);
                return true;
            }
            if (!h.getOnline()) {
                response.onError(Status.FAILED_PRECONDITION.withDescription("host " + h.getHostname()
                        + " is offline (last seen 5m ago); the agent must be connected to " + verb).asRuntimeException());
                return true;
            }
            return false;
        }

        private ActionOutcome outcome(ActionStatus status, String message) {
            return ActionOutcome.newBuilder().setActionId(ACTION_ID).setHostId(WEB_ID).setStatus(status)
                    .setMessage(message).build();
        }

        private ActionOutcome unknownService(String service) {
            return outcome(ActionStatus.ACTION_STATUS_REJECTED,
                    "no service '" + service + "' on this host (declared: api, worker)");
        }

        @Override
        public void doctor(DoctorRequest request, StreamObserver<DoctorResponse> response) {
            lastDoctor = request;
            if (refused(request.getHost(), "run doctor", response)) {
                return;
            }
            DoctorResponse.Builder out = DoctorResponse.newBuilder();
            if (request.getService().equals("nope")) {
                out.setOutcome(unknownService("nope"));
            } else if (request.getService().equals("backup")) {
                out.setOutcome(outcome(ActionStatus.ACTION_STATUS_SUCCEEDED, "no findings"))
                        .setReport(DoctorReport.newBuilder().addServices("backup"));
            } else {
                DoctorReport.Builder report = DoctorReport.newBuilder().addServices("api").addFindings(PORT_HELD)
                        .addFindings(PATH_NOT_WRITABLE);
                if (request.getFix()) {
                    report.addApplied(RemedyOutcome.newBuilder().setCode("PORT_HELD").setService("api").setInstance(0)
                            .setAction("stopped pid 4211 (SIGTERM, exited after 120 ms)").setSucceeded(true)
                            .addBefore(Evidence.newBuilder().setLabel("holder of :3000")
                                    .setValue("4211 node /srv/app/releases/41/server.js"))
                            .addAfter(Evidence.newBuilder().setLabel("holder of :3000").setValue("2201 node (api#0)")))
                            .addRemaining(PATH_NOT_WRITABLE);
                }
                out.setOutcome(outcome(ActionStatus.ACTION_STATUS_SUCCEEDED, "2 findings")).setReport(report);
            }
            response.onNext(out.build());
            response.onCompleted();
        }

        @Override
        public void restartService(RestartServiceRequest request, StreamObserver<ActionOutcome> response) {
            lastRestart = request;
            if (refused(request.getHost(), "restart a service", response)) {
                return;
            }
            response.onNext(request.getService().equals("api")
                    ? outcome(ActionStatus.ACTION_STATUS_SUCCEEDED, "restarted api#0, api#1 (pre-flight passed)")
                    : unknownService(request.getService()));
            response.onCompleted();
        }

        @Override
        public void tailLogs(TailLogsRequest request, StreamObserver<TailLogsResponse> response) {
            lastTailLogs = request;
            if (refused(request.getHost(), "read logs", response)) {
                return;
            }
            if (!request.getService().equals("api")) {
                response.onNext(TailLogsResponse.newBuilder().setOutcome(unknownService(request.getService())).build());
            } else {
                response.onNext(TailLogsResponse.newBuilder()
                        .setOutcome(outcome(ActionStatus.ACTION_STATUS_SUCCEEDED, ""))
                        .setLogs(LogTail.newBuilder().setService("api").setInstance(request.getInstance())
                                .addLines("ERROR: Application Failed to Bind Port.")
                                .addLines("FATAL: Cannot bind port 3000: Address already in use (bind:3000)"))
                        .build());
            }
            response.onCompleted();
        }

        @Override
        public void topMemory(TopMemoryRequest request, StreamObserver<TopMemoryResponse> response) {
            lastTopMemory = request;
            TopMemoryResponse.Builder out = TopMemoryResponse.newBuilder();
            WEB_PROCESSES.stream()
                    .sorted(Comparator.comparingLong(Process::getRssBytes).reversed())
                    .limit(request.getLimit() == 0 ? 10 : request.getLimit())
                    .forEach(p -> out.addProcesses(
                            ProcessEntry.newBuilder().setHostId(WEB_ID).setHostname("web-1").setProcess(p)));
            response.onNext(out.build());
            response.onCompleted();
        }

        @Override
        public void listEvents(ListEventsRequest request, StreamObserver<ListEventsResponse> response) {
            lastListEvents = request;
            response.onNext(ListEventsResponse.newBuilder().addAllEvents(stored(request)).build());
            response.onCompleted();
        }

        private List<Event> stored(ListEventsRequest request) {
            return EVENTS.stream()
                    .filter(e -> request.getTypesCount() == 0 || request.getTypesList().contains(e.getType()))
                    .filter(e -> e.getTimeUnixMs() >= request.getSinceUnixMs())
                    .collect(Collectors.toList());
        }

        @Override
        public void watchEvents(WatchEventsRequest request, StreamObserver<Event> response) {
            lastWatchEvents = request;
            ServerCallStreamObserver<Event> call = (ServerCallStreamObserver<Event>) response;
            stored(request.getFilter()).forEach(call::onNext);
            try {
                while (!call.isCancelled()) {
                    Event e = live.poll(20, TimeUnit.MILLISECONDS);
                    if (e == END) {
                        call.onCompleted();
                        return;
                    }
                    if (e != null) {
                        call.onNext(e);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                call.onError(Status.CANCELLED.asRuntimeException());
            }
        }
    }
}
