package dev.fleetkeeper.controller.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.controller.fleet.FleetEngine;
import dev.fleetkeeper.controller.fleet.FleetSettings;
import dev.fleetkeeper.controller.store.EventQuery;
import dev.fleetkeeper.controller.store.FleetStore;
import dev.fleetkeeper.controller.store.StoreOptions;
import dev.fleetkeeper.proto.v1.Action;
import dev.fleetkeeper.proto.v1.ActionResult;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.AdminServiceGrpc;
import dev.fleetkeeper.proto.v1.DoctorReport;
import dev.fleetkeeper.proto.v1.DoctorRequest;
import dev.fleetkeeper.proto.v1.DoctorResponse;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.Evidence;
import dev.fleetkeeper.proto.v1.Finding;
import dev.fleetkeeper.proto.v1.GetHostRequest;
import dev.fleetkeeper.proto.v1.InstanceView;
import dev.fleetkeeper.proto.v1.ListServicesRequest;
import dev.fleetkeeper.proto.v1.ListServicesResponse;
import dev.fleetkeeper.proto.v1.LogTail;
import dev.fleetkeeper.proto.v1.ManagerState;
import dev.fleetkeeper.proto.v1.Remedy;
import dev.fleetkeeper.proto.v1.RestartServiceRequest;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import dev.fleetkeeper.proto.v1.Severity;
import dev.fleetkeeper.proto.v1.TailLogsRequest;
import dev.fleetkeeper.proto.v1.TailLogsResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Service reports and agent actions end to end through the controller's real pieces: the gRPC
 * server on a loopback port, the engine, a RocksDB store in a temp dir, a test agent on a real
 * AgentService stream and the admin API on a real channel.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServiceActionsTest {

    @TempDir
    Path dir;

    private FleetStore store;
    private FleetEngine engine;
    private ControllerServer server;
    private ManagedChannel channel;
    private AdminServiceGrpc.AdminServiceBlockingStub admin;

    @BeforeEach
    void setUp() {
        startController();
    }

    @AfterEach
    void tearDown() throws Exception {
        stopController();
    }

    private void startController() {
        store = FleetStore.open(dir.resolve("store"), StoreOptions.defaults());
        engine = new FleetEngine(store, new FleetSettings(Duration.ofSeconds(15), Duration.ofSeconds(1),
                Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(10)),
                InstantSource.system(), new SimpleMeterRegistry());
        engine.start();
        server = new ControllerServer(new InetSocketAddress("127.0.0.1", 0), engine, store, "test");
        server.start();
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        admin = AdminServiceGrpc.newBlockingStub(channel);
    }

    private void stopController() throws InterruptedException {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
        engine.prepareForShutdown();
        server.close();
        engine.close();
        store.close();
    }

    private AdminServiceGrpc.AdminServiceBlockingStub admin(long seconds) {
        return admin.withDeadlineAfter(seconds, TimeUnit.SECONDS);
    }

    private TestAgent connect(String hostId, String hostname) {
        TestAgent agent = TestAgent.connect(channel, hostId, hostname);
        await().atMost(10, TimeUnit.SECONDS).until(() -> agent.acknowledged(2));
        return agent;
    }

    // ---- service reports

    @Test
    void serviceReport_isStored_andListedAfterAControllerRestart() throws Exception {
        TestAgent agent = connect("host-a", "web-1");
        long seq = agent.report(report("api", "worker"));
        await().atMost(10, TimeUnit.SECONDS).until(() -> agent.acknowledged(seq));

        ListServicesResponse before = admin(10).listServices(ListServicesRequest.newBuilder().setHost("web-1").build());
        assertThat(before.getHostsList()).singleElement().satisfies(h -> {
            assertThat(h.getHostId()).isEqualTo("host-a");
            assertThat(h.getOnline()).isTrue();
            assertThat(h.getReport()).isEqualTo(report("api", "worker"));
        });

        agent.disconnect();
        stopController();
        startController();

        ListServicesResponse after = admin(10).listServices(ListServicesRequest.getDefaultInstance());
        assertThat(after.getHostsList()).singleElement()
                .satisfies(h -> assertThat(h.getReport()).isEqualTo(report("api", "worker")));
    }

    @Test
    void listServices_ofEveryHost_sortedByName_filteredByService_andAnUnknownHostIsNotFound() {
        TestAgent b = connect("host-b", "web-2");
        TestAgent a = connect("host-a", "web-1");
        connect("host-c", "db-1"); // reports nothing: not listed among every host's services
        long sa = a.report(report("api", "worker"));
        long sb = b.report(report("api"));
        await().atMost(10, TimeUnit.SECONDS).until(() -> a.acknowledged(sa) && b.acknowledged(sb));

        ListServicesResponse all = admin(10).listServices(ListServicesRequest.getDefaultInstance());
        assertThat(all.getHostsList()).extracting(h -> h.getHostname()).containsExactly("web-1", "web-2");

        ListServicesResponse workers = admin(10).listServices(ListServicesRequest.newBuilder().setService("worker").build());
        assertThat(workers.getHostsList()).singleElement().satisfies(h -> {
            assertThat(h.getHostname()).isEqualTo("web-1");
            assertThat(h.getReport().getServicesList()).extracting(ServiceStatus::getName).containsExactly("worker");
        });

        assertThatThrownBy(() -> admin(10).listServices(ListServicesRequest.newBuilder().setHost("db-9").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription()).contains("'db-9'");
                });
    }

    // ---- actions

    @Test
    void doctor_sendsRunDoctorToTheAgent_andReturnsItsReport_whichIsStoredWithTheResult() throws Exception {
        TestAgent agent = connect("host-a", "web-1");
        agent.answers = a -> ActionResult.newBuilder().setActionId(a.getActionId())
                .setStatus(ActionStatus.ACTION_STATUS_SUCCEEDED).setMessage("1 finding")
                .setFinishedAtUnixMs(System.currentTimeMillis()).setDoctor(doctorReport()).build();

        DoctorResponse response = admin(30).doctor(DoctorRequest.newBuilder().setHost("web-1").setService("api")
                .setFix(true).build());

        Action sent = agent.nextAction();
        assertThat(sent.getRunDoctor().getService()).isEqualTo("api");
        assertThat(sent.getRunDoctor().getFix()).isTrue();
        assertThat(response.getOutcome().getActionId()).isEqualTo(sent.getActionId());
        assertThat(response.getOutcome().getHostId()).isEqualTo("host-a");
        assertThat(response.getOutcome().getStatus()).isEqualTo(ActionStatus.ACTION_STATUS_SUCCEEDED);
        assertThat(response.getReport()).isEqualTo(doctorReport());
        assertThat(store.actionResult(sent.getActionId())).hasValueSatisfying(r -> {
            assertThat(r.hostId()).isEqualTo("host-a");
            assertThat(r.result().getDoctor()).isEqualTo(doctorReport());
        });
    }

    @Test
    void restartAndTailLogs_carryTheirArguments_andReturnTheAgentsAnswer() throws Exception {
        TestAgent agent = connect("host-a", "web-1");
        agent.answers = a -> {
            ActionResult.Builder r = ActionResult.newBuilder().setActionId(a.getActionId())
                    .setStatus(ActionStatus.ACTION_STATUS_SUCCEEDED);
            if (a.hasTailLogs()) {
                r.setLogs(LogTail.newBuilder().setService("api").setInstance(1).addLines("listening on :3001"));
            } else {
                r.setMessage("restarted 2 instances");
            }
            return r.build();
        };

        assertThat(admin(30).restartService(RestartServiceRequest.newBuilder().setHost("host-a").setService("api")
                .setInstance(-1).build()).getMessage()).isEqualTo("restarted 2 instances");
        assertThat(agent.nextAction().getRestartService().getInstance()).isEqualTo(-1);

        TailLogsResponse logs = admin(30).tailLogs(TailLogsRequest.newBuilder().setHost("web-1").setService("api")
                .setInstance(1).build());
        assertThat(logs.getLogs().getLinesList()).containsExactly("listening on :3001");
        Action tail = agent.nextAction();
        assertThat(tail.getTailLogs().getInstance()).isEqualTo(1);
        assertThat(tail.getTailLogs().getLines()).as("default line count").isEqualTo(100);
    }

    @Test
    void agentRejectingAnUnknownService_isAnOutcome_notAnError() {
        TestAgent agent = connect("host-a", "web-1");
        agent.answers = a -> ActionResult.newBuilder().setActionId(a.getActionId())
                .setStatus(ActionStatus.ACTION_STATUS_REJECTED)
                .setMessage("no service 'nope' on this host (declared: api, worker)").build();

        DoctorResponse response = admin(30).doctor(DoctorRequest.newBuilder().setHost("web-1").setService("nope").build());

        assertThat(response.getOutcome().getStatus()).isEqualTo(ActionStatus.ACTION_STATUS_REJECTED);
        assertThat(response.getOutcome().getMessage()).contains("no service 'nope'");
    }

    @Test
    void doctor_onAnOfflineHost_isFailedPrecondition_sayingWhenItWasLastSeen() {
        TestAgent agent = connect("host-a", "web-1");
        agent.disconnect();
        await().atMost(10, TimeUnit.SECONDS)
                .until(() -> !admin(10).getHost(GetHostRequest.newBuilder().setHost("web-1").build()).getOnline());

        assertThatThrownBy(() -> admin(10).doctor(DoctorRequest.newBuilder().setHost("web-1").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription())
                            .matches("host web-1 is offline \\(last seen \\d+m?s ago\\); the agent must be connected "
                                    + "to run doctor .*");
                });
    }

    @Test
    void unansweredAction_isDeadlineExceeded_beforeTheCallersDeadline_andALateResultIsStillStored() throws Exception {
        TestAgent agent = connect("host-a", "web-1");

        assertThatThrownBy(() -> admin(3).doctor(DoctorRequest.newBuilder().setHost("web-1").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
                    // Ours, not the channel's: it says what may still happen and where to look.
                    assertThat(e.getStatus().getDescription()).startsWith("doctor on web-1 got no answer within 2s")
                            .contains("it may still complete")
                            .contains("'fleetkeeper events --host web-1 --type agent'");
                });

        Action late = agent.nextAction();
        agent.result(ActionResult.newBuilder().setActionId(late.getActionId())
                .setStatus(ActionStatus.ACTION_STATUS_SUCCEEDED).setDoctor(doctorReport()).build());
        await().atMost(10, TimeUnit.SECONDS).until(() -> store.actionResult(late.getActionId()).isPresent());
        assertThat(store.actionResult(late.getActionId()).orElseThrow().result().getDoctor()).isEqualTo(doctorReport());
    }

    @Test
    void resultSentAfterAReconnect_completesTheCall_andAResendIsStoredOnce() throws Exception {
        TestAgent first = connect("host-a", "web-1");
        CompletableFuture<DoctorResponse> call = CompletableFuture.supplyAsync(
                () -> admin(30).doctor(DoctorRequest.newBuilder().setHost("web-1").build()));
        Action action = first.nextAction();
        first.disconnect();

        TestAgent second = connect("host-a", "web-1");
        ActionResult result = ActionResult.newBuilder().setActionId(action.getActionId())
                .setStatus(ActionStatus.ACTION_STATUS_SUCCEEDED).setMessage("first copy").setDoctor(doctorReport())
                .build();
        second.result(result);
        assertThat(call.get(20, TimeUnit.SECONDS).getReport()).isEqualTo(doctorReport());

        long resent = second.result(result.toBuilder().setMessage("resent copy").build());
        long duplicate = second.result(ActionResult.newBuilder().setActionId(action.getActionId())
                .setStatus(ActionStatus.ACTION_STATUS_DUPLICATE).build());
        await().atMost(10, TimeUnit.SECONDS).until(() -> second.acknowledged(Math.max(resent, duplicate)));

        assertThat(store.actionResult(action.getActionId()).orElseThrow().result()).isEqualTo(result);
        List<Event> resultEvents = store.events(EventQuery.oldest(1000)).stream()
                .filter(e -> e.getId().equals("host-a:action-result:" + action.getActionId())).toList();
        assertThat(resultEvents).hasSize(1);
        assertThat(store.events(EventQuery.oldest(1000))).anySatisfy(e -> assertThat(e.getMessage())
                .isEqualTo("action " + action.getActionId() + " sent: doctor"));
    }

    // ---- fixtures

    private static ServiceReport report(String... services) {
        ServiceReport.Builder b = ServiceReport.newBuilder().setTakenAtUnixMs(1_767_225_600_000L);
        for (String name : services) {
            b.addServicesBuilder().setName(name).setDriver("supervisor").setInstancesDeclared(1)
                    .addInstances(InstanceView.newBuilder().setIndex(0).setManagerState(ManagerState.MANAGER_STATE_RUNNING)
                            .setManagerPid(4242).setProcState("S").addExpectedPorts(3000).addBoundPorts(3000)
                            .setConsistent(true));
        }
        return b.build();
    }

    private static DoctorReport doctorReport() {
        return DoctorReport.newBuilder().addServices("api")
                .addFindings(Finding.newBuilder().setCode("STALE_PIDFILE").setSeverity(Severity.SEVERITY_WARNING)
                        .setService("api").setInstance(0).setSummary("pidfile names pid 812, which is not api")
                        .addEvidence(Evidence.newBuilder().setLabel("pidfile").setValue("/var/run/api.pid -> 812"))
                        .setRemedy(Remedy.newBuilder().setAutomatic(true).setDescription("remove the pidfile")
                                .addCommands("rm /var/run/api.pid")))
                .build();
    }
}
