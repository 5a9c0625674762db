package dev.fleetkeeper.controller.transport;

import dev.fleetkeeper.controller.recycle.RecycleStep;
import dev.fleetkeeper.controller.rollout.Release;
import dev.fleetkeeper.controller.rollout.Rollout;
import dev.fleetkeeper.controller.rollout.RolloutMessages;
import dev.fleetkeeper.controller.rollout.RolloutRequest;
import dev.fleetkeeper.proto.v1.RecycleJob;
import dev.fleetkeeper.proto.v1.RecycleJobState;
import dev.fleetkeeper.proto.v1.RecycleStepState;
import dev.fleetkeeper.proto.v1.StartRolloutRequest;
import dev.fleetkeeper.controller.fleet.ActionReply;
import dev.fleetkeeper.controller.fleet.HostServices;
import dev.fleetkeeper.controller.fleet.HostStatus;
import dev.fleetkeeper.controller.fleet.PortRow;
import dev.fleetkeeper.controller.fleet.ProcessOrder;
import dev.fleetkeeper.controller.fleet.ProcessRow;
import dev.fleetkeeper.controller.store.HostRecord;
import dev.fleetkeeper.proto.v1.ActionOutcome;
import dev.fleetkeeper.proto.v1.HostSummary;
import dev.fleetkeeper.proto.v1.PortEntry;
import dev.fleetkeeper.proto.v1.ProcessEntry;
import dev.fleetkeeper.proto.v1.ProcessSort;

/** Converts the fleet engine's views to admin API messages. Stateless. */
final class AdminProtoMapper {

    private AdminProtoMapper() {
    }

    static RecycleJob recycleJob(dev.fleetkeeper.controller.recycle.RecycleJob j) {
        RecycleJob.Builder b = RecycleJob.newBuilder()
                .setJobId(j.jobId())
                .setService(j.service())
                .putAllSelector(j.selector())
                .setMaxParallel(j.maxParallel())
                .setMinAvailable(j.minAvailable())
                .setStepTimeoutMs(j.stepTimeoutMillis())
                .setReason(j.reason())
                .setState(RecycleJobState.valueOf("RECYCLE_JOB_STATE_" + j.state().name()))
                .setMessage(j.message())
                .setCreatedAtUnixMs(j.createdAtMillis())
                .setFinishedAtUnixMs(j.finishedAtMillis());
        for (RecycleStep s : j.steps()) {
            b.addSteps(dev.fleetkeeper.proto.v1.RecycleStep.newBuilder()
                    .setHostId(s.hostId())
                    .setHostname(s.hostname())
                    .setInstance(s.instance())
                    .setMinAvailable(s.minAvailable())
                    .setState(RecycleStepState.valueOf("RECYCLE_STEP_STATE_" + s.state().name()))
                    .setActionId(s.actionId())
                    .setOldPid(s.oldPid())
                    .setNewPid(s.newPid())
                    .setSentAtUnixMs(s.sentAtMillis())
                    .setFinishedAtUnixMs(s.finishedAtMillis())
                    .setMessage(s.message()));
        }
        return b.build();
    }

    static dev.fleetkeeper.proto.v1.Rollout rollout(Rollout r) {
        return RolloutMessages.toProto(r);
    }

    static dev.fleetkeeper.proto.v1.Release release(Release r) {
        return RolloutMessages.toProto(r);
    }

    /**
     * The request as the coordinator takes it; the plan's checks throw
     * {@link IllegalArgumentException} (INVALID_ARGUMENT) saying what is expected.
     */
    static RolloutRequest rolloutRequest(StartRolloutRequest q) {
        if (!q.hasRelease() || q.getRelease().getVersion().isBlank()) {
            throw new IllegalArgumentException("release.version: missing (expected: the new release's version label, "
                    + "as in 'fleetkeeper rollout start SERVICE --version V')");
        }
        dev.fleetkeeper.proto.v1.Release r = q.getRelease();
        dev.fleetkeeper.proto.v1.RolloutPlan p = q.getPlan();
        return new RolloutRequest(q.getService(), q.getSelectorMap(),
                RolloutMessages.fromProto(r.toBuilder().setVersion(r.getVersion().strip()).build()),
                RolloutMessages.fromProto(p),
                q.getReason());
    }

    static HostSummary host(HostStatus s) {
        HostRecord r = s.record();
        return HostSummary.newBuilder()
                .setHostId(r.hostId())
                .setHostname(r.hostname())
                .putAllLabels(r.labels())
                .setAgentVersion(r.agentVersion())
                .setKernel(r.kernel())
                .setBootId(r.bootId())
                .setOnline(r.online())
                .setLastSeenUnixMs(r.lastSeenMillis())
                .setRegisteredAtUnixMs(r.registeredAtMillis())
                .setConnectedAtUnixMs(r.connectedAtMillis())
                .setStats(s.stats())
                .setProcessCount(s.processCount())
                .setZombieCount(s.zombieCount())
                .setListenerCount(s.listenerCount())
                .build();
    }

    static ProcessEntry process(ProcessRow row) {
        ProcessEntry.Builder b = ProcessEntry.newBuilder()
                .setHostId(row.hostId())
                .setHostname(row.hostname())
                .setProcess(row.process());
        if (row.parent() != null) {
            b.setParent(row.parent());
        }
        return b.build();
    }

    static PortEntry port(PortRow row) {
        return PortEntry.newBuilder().setSocket(row.socket()).addAllOwners(row.owners()).build();
    }

    static dev.fleetkeeper.proto.v1.HostServices services(HostServices h) {
        return dev.fleetkeeper.proto.v1.HostServices.newBuilder()
                .setHostId(h.hostId())
                .setHostname(h.hostname())
                .setOnline(h.online())
                .setReport(h.report())
                .build();
    }

    static ActionOutcome outcome(ActionReply reply) {
        return ActionOutcome.newBuilder()
                .setActionId(reply.actionId())
                .setHostId(reply.hostId())
                .setStatus(reply.result().getStatus())
                .setMessage(reply.result().getMessage())
                .build();
    }

    static ProcessOrder order(ProcessSort sort) {
        switch (sort) {
            case PROCESS_SORT_CPU: return ProcessOrder.CPU;
            case PROCESS_SORT_PID: return ProcessOrder.PID;
            default: return ProcessOrder.MEMORY;
        }
    }
}
