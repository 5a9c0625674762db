package dev.fleetkeeper.controller.store;

import dev.fleetkeeper.controller.ManualClock;
import dev.fleetkeeper.proto.v1.ActionResult;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.DoctorReport;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.Evidence;
import dev.fleetkeeper.proto.v1.Finding;
import dev.fleetkeeper.proto.v1.InstanceView;
import dev.fleetkeeper.proto.v1.ManagerState;
import dev.fleetkeeper.proto.v1.Remedy;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.ExitInfo;
import dev.fleetkeeper.proto.v1.HostStats;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.ProcessState;
import dev.fleetkeeper.proto.v1.Severity;
import dev.fleetkeeper.proto.v1.Snapshot;
import dev.fleetkeeper.proto.v1.Socket;
import dev.fleetkeeper.proto.v1.SocketProtocol;
import java.util.Map;

/** Values and a settable clock shared by the store tests. */
final class Fixtures {
    static final String BOOT = "0f3c6a2e-8b1d-4c55-9a7e-2d4b6f8e1a90";
    static final String OTHER_BOOT = "7d2e9b14-3c6f-4a81-b5d0-9e8f7a6b5c4d";
    /** 2026-01-01T00:00:00Z: a whole hour, so tests can reason in buckets. */
    static final long T0 = 1_767_225_600_000L;
    static final long HOUR = 3_600_000L;

    private Fixtures() {}

    static HostRecord host(String hostId) {
        return new HostRecord(hostId, hostId + ".example.net", Map.of("env", "prod", "role", "web"),
                "0.1.0", "6.1.0-28-amd64", BOOT, T0, T0 + 5_000, T0 + 1_000, true);
    }

    static Snapshot snapshot(long takenAt) {
        return Snapshot.newBuilder()
                .setTakenAtUnixMs(takenAt)
                .setHost(HostStats.newBuilder().setSampledAtUnixMs(takenAt).setMemTotalBytes(8L << 30)
                        .setMemAvailableBytes(5L << 30).setLoad1(0.25).setCpuCount(2).setProcessCount(1))
                .addProcesses(Process.newBuilder()
                        .setKey(ProcessKey.newBuilder().setPid(4242).setStartTicks(123_456))
                        .setPpid(1).setComm("node").addCmdline("node").addCmdline("server.js")
                        .setState(ProcessState.PROCESS_STATE_SLEEPING).setRssBytes(150L << 20).setThreads(11))
                .addSockets(Socket.newBuilder().setProtocol(SocketProtocol.SOCKET_PROTOCOL_TCP)
                        .setAddress("0.0.0.0").setPort(3000).setInode(998877)
                        .addOwners(ProcessKey.newBuilder().setPid(4242).setStartTicks(123_456)))
                .build();
    }

    static Event event(String hostId, String id, long time, EventType type) {
        return Event.newBuilder()
                .setId(id)
                .setTimeUnixMs(time)
                .setHostId(hostId)
                .setType(type)
                .setSeverity(Severity.SEVERITY_INFO)
                .setMessage(type + " on " + hostId)
                .build();
    }

    static Event exitEvent(String hostId, String id, long time) {
        return event(hostId, id, time, EventType.EVENT_TYPE_PROCESS_EXITED).toBuilder()
                .setSeverity(Severity.SEVERITY_WARNING)
                .setMessage("node (pid 4242) exited with code 1")
                .setProcess(ProcessKey.newBuilder().setPid(4242).setStartTicks(123_456))
                .setExit(ExitInfo.newBuilder().setExitCode(1))
                .putAttributes("comm", "node")
                .putAttributes("port", "3000")
                .build();
    }

    /** A report with one running instance per service, and a PORT_HELD finding on the first. */
    static ServiceReport serviceReport(long takenAt, String... services) {
        ServiceReport.Builder b = ServiceReport.newBuilder().setTakenAtUnixMs(takenAt);
        for (int i = 0; i < services.length; i++) {
            ServiceStatus.Builder s = b.addServicesBuilder().setName(services[i]).setDriver("supervisor")
                    .setVersion("41").setInstancesDeclared(1);
            s.addInstances(InstanceView.newBuilder().setIndex(0).setManagerName(services[i] + ":0")
                    .setManagerState(ManagerState.MANAGER_STATE_RUNNING).setManagerPid(4242)
                    .setProcess(ProcessKey.newBuilder().setPid(4242).setStartTicks(123_456)).setProcState("S")
                    .setRssBytes(150L << 20).addExpectedPorts(3000).addBoundPorts(3000).setConsistent(true));
            if (i == 0) {
                s.addFindings(portHeld(services[i]));
            }
        }
        return b.build();
    }

    static Finding portHeld(String service) {
        return Finding.newBuilder().setCode("PORT_HELD").setSeverity(Severity.SEVERITY_CRITICAL).setService(service)
                .setInstance(0).setSummary("port 3000 is held by pid 4211 of an older release")
                .setExplanation("the previous release's process never exited")
                .addEvidence(Evidence.newBuilder().setLabel("holder").setValue("4211 node /srv/app/releases/41/server.js"))
                .setRemedy(Remedy.newBuilder().setAutomatic(true).setDescription("stop pid 4211")
                        .addCommands("kill -TERM 4211"))
                .build();
    }

    static ActionResult doctorResult(String actionId, String message) {
        return ActionResult.newBuilder().setActionId(actionId).setStatus(ActionStatus.ACTION_STATUS_SUCCEEDED)
                .setMessage(message).setFinishedAtUnixMs(T0 + 2)
                .setDoctor(DoctorReport.newBuilder().addServices("api").addFindings(portHeld("api")))
                .build();
    }

    static MemoryPoint point(long time, long rss) {
        return new MemoryPoint(time, rss, rss / 2, rss / 3, rss / 4);
    }

    /** A running recycle job of "worker" on two hosts: one step done, one sent, one pending. */
    static dev.fleetkeeper.controller.recycle.RecycleJob recycleJob(String jobId) {
        return new dev.fleetkeeper.controller.recycle.RecycleJob(jobId, "worker", java.util.Map.of("role", "worker"), 2,
                "50%", 300_000, "memory creep", dev.fleetkeeper.controller.recycle.JobState.RUNNING,
                "1 of 3 instance(s) of worker recycled, 1 in progress", T0, 0, java.util.List.of(
                        new dev.fleetkeeper.controller.recycle.RecycleStep("web-1", "web-1", 0, 1,
                                dev.fleetkeeper.controller.recycle.StepState.DONE, "019b76daa800-" + jobId + "-0",
                                4100, 4200, T0 + 10, T0 + 900, "", 0),
                        new dev.fleetkeeper.controller.recycle.RecycleStep("web-1", "web-1", 1, 1,
                                dev.fleetkeeper.controller.recycle.StepState.SENT, "019b76daa900-" + jobId + "-1",
                                4101, 0, T0 + 1000, 0, "", 0),
                        new dev.fleetkeeper.controller.recycle.RecycleStep("web-2", "web-2", 0, 0,
                                dev.fleetkeeper.controller.recycle.StepState.PENDING, "", 0, 0, 0, 0,
                                "waiting for web-2 to come back online", T0 + 500)));
    }

    /** A rollout in ROLLING with a healthy canary, a step verifying and one pending. */
    static dev.fleetkeeper.controller.rollout.Rollout rollout(String rolloutId) {
        // Only a version label, not declared: how every rollout was stored before previous_declared.
        dev.fleetkeeper.controller.rollout.PreviousRelease v1 = dev.fleetkeeper.controller.rollout.PreviousRelease.of(
                dev.fleetkeeper.controller.rollout.Release.ofVersion("41"));
        java.util.List<dev.fleetkeeper.controller.rollout.GateResult> gates = java.util.List.of(
                new dev.fleetkeeper.controller.rollout.GateResult("up", true, "running, pid 4200, version 42"),
                new dev.fleetkeeper.controller.rollout.GateResult("ports", false, "port 3001 not bound by the instance"));
        return new dev.fleetkeeper.controller.rollout.Rollout(rolloutId, "web", java.util.Map.of("role", "web"),
                new dev.fleetkeeper.controller.rollout.Release("42", "node", java.util.List.of("server.js"), true,
                        java.util.Map.of("NODE_ENV", "production"), true, ""),
                new dev.fleetkeeper.controller.rollout.RolloutPlan(1, "50%", 0, 0, 0, 1, false, true, false, "", 0.2, ""),
                "release 42", dev.fleetkeeper.controller.rollout.RolloutState.ROLLING, null,
                "rolling: 1 of 3 instance(s) on 42, 1 in progress", T0, 0, T0 + 900, 0, java.util.List.of(
                        new dev.fleetkeeper.controller.rollout.RolloutStep("web-1", "web-1", 0, true, 0,
                                dev.fleetkeeper.controller.rollout.RolloutStepState.HEALTHY, v1,
                                "019b76daa800-" + rolloutId + "-0", "", 4100, 4200, T0 + 10, T0 + 900, T0 + 100,
                                gates.subList(0, 1), "", true),
                        new dev.fleetkeeper.controller.rollout.RolloutStep("web-1", "web-1", 1, false, 1,
                                dev.fleetkeeper.controller.rollout.RolloutStepState.VERIFYING, v1,
                                "019b76daa900-" + rolloutId + "-1", "", 4101, 4300, T0 + 1000, 0, 0, gates,
                                "waiting: ports: port 3001 not bound by the instance", true),
                        new dev.fleetkeeper.controller.rollout.RolloutStep("web-2", "web-2", 0, false, 2,
                                dev.fleetkeeper.controller.rollout.RolloutStepState.PENDING, v1, "", "", 0, 0, 0, 0, 0,
                                java.util.List.of(), "", false)));
    }
}
