package dev.fleetkeeper.controller.rollout;

import java.util.ArrayList;
import java.util.List;

/**
 * Rollouts as wire messages: the proto {@code Rollout} is both what the admin API answers and
 * what the store keeps in its {@code rollouts} column family, so one mapping serves both.
 * Stateless.
 */
public final class RolloutMessages {

    private RolloutMessages() {
    }

    /** The rollout as a proto message. */
    public static dev.fleetkeeper.proto.v1.Rollout toProto(Rollout r) {
        dev.fleetkeeper.proto.v1.Rollout.Builder b = dev.fleetkeeper.proto.v1.Rollout.newBuilder()
                .setRolloutId(r.rolloutId())
                .setService(r.service())
                .putAllSelector(r.selector())
                .setRelease(toProto(r.release()))
                .setPlan(toProto(r.plan()))
                .setReason(r.reason())
                .setState(dev.fleetkeeper.proto.v1.RolloutState.valueOf("ROLLOUT_STATE_" + r.state().name()))
                .setMessage(r.message())
                .setCreatedAtUnixMs(r.createdAtMillis())
                .setFinishedAtUnixMs(r.finishedAtMillis())
                .setProgressedAtUnixMs(r.progressedAtMillis())
                .setFailures(r.failures());
        if (r.pausedFrom() != null) {
            b.setPausedFrom(dev.fleetkeeper.proto.v1.RolloutState.valueOf("ROLLOUT_STATE_" + r.pausedFrom().name()));
        }
        for (RolloutStep s : r.steps()) {
            dev.fleetkeeper.proto.v1.RolloutStep.Builder sb = dev.fleetkeeper.proto.v1.RolloutStep.newBuilder()
                    .setHostId(s.hostId())
                    .setHostname(s.hostname())
                    .setInstance(s.instance())
                    .setCanary(s.canary())
                    .setBatch(s.batch())
                    .setState(dev.fleetkeeper.proto.v1.RolloutStepState.valueOf("ROLLOUT_STEP_STATE_"
                            + s.state().name()))
                    .setPrevious(toProto(s.previous().release()))
                    .setPreviousDeclared(s.previous().declared())
                    .setActionId(s.actionId())
                    .setRollbackActionId(s.rollbackActionId())
                    .setOldPid(s.oldPid())
                    .setNewPid(s.newPid())
                    .setSentAtUnixMs(s.sentAtMillis())
                    .setFinishedAtUnixMs(s.finishedAtMillis())
                    .setHealthySinceUnixMs(s.healthySinceMillis())
                    .setMessage(s.message())
                    .setApplied(s.applied())
                    .setPreviousCurrent(s.previousCurrent());
            for (GateResult g : s.gates()) {
                sb.addGates(dev.fleetkeeper.proto.v1.GateResult.newBuilder().setGate(g.gate()).setOk(g.ok())
                        .setDetail(g.detail()));
            }
            b.addSteps(sb);
        }
        return b.build();
    }

    /**
     * The rollout a proto message describes, named {@code rolloutId}.
     *
     * @throws IllegalArgumentException for an unset or unknown state, or values the records refuse
     */
    public static Rollout fromProto(String rolloutId, dev.fleetkeeper.proto.v1.Rollout r) {
        List<RolloutStep> steps = new ArrayList<>();
        for (dev.fleetkeeper.proto.v1.RolloutStep s : r.getStepsList()) {
            List<GateResult> gates = new ArrayList<>();
            for (dev.fleetkeeper.proto.v1.GateResult g : s.getGatesList()) {
                gates.add(new GateResult(g.getGate(), g.getOk(), g.getDetail()));
            }
            steps.add(new RolloutStep(s.getHostId(), s.getHostname(), s.getInstance(), s.getCanary(), s.getBatch(),
                    stepState(s.getState(), rolloutId), previous(s), s.getActionId(),
                    s.getRollbackActionId(), s.getOldPid(), s.getNewPid(), s.getSentAtUnixMs(), s.getFinishedAtUnixMs(),
                    s.getHealthySinceUnixMs(), gates, s.getMessage(), s.getApplied(), s.getPreviousCurrent()));
        }
        return new Rollout(rolloutId, r.getService(), r.getSelectorMap(), fromProto(r.getRelease()),
                fromProto(r.getPlan()), r.getReason(), state(r.getState(), rolloutId),
                r.getPausedFrom() == dev.fleetkeeper.proto.v1.RolloutState.ROLLOUT_STATE_UNSPECIFIED ? null
                        : state(r.getPausedFrom(), rolloutId),
                r.getMessage(), r.getCreatedAtUnixMs(), r.getFinishedAtUnixMs(), r.getProgressedAtUnixMs(),
                r.getFailures(), steps);
    }

    /** The plan as a proto message. */
    public static dev.fleetkeeper.proto.v1.RolloutPlan toProto(RolloutPlan p) {
        return dev.fleetkeeper.proto.v1.RolloutPlan.newBuilder()
                .setCanary(p.canary())
                .setBatch(p.batch())
                .setMinHealthyMs(p.minHealthyMillis())
                .setHealthyDeadlineMs(p.healthyDeadlineMillis())
                .setProgressDeadlineMs(p.progressDeadlineMillis())
                .setMaxFailures(p.maxFailures())
                .setAutoPromote(p.autoPromote())
                .setAutoRollback(p.autoRollback())
                .setPauseOnDisconnect(p.pauseOnDisconnect())
                .setProbe(p.probe())
                .setMemoryTolerance(p.memoryTolerance())
                .setMinAvailable(p.minAvailable())
                .build();
    }

    /** The plan a proto message describes, as sent (zeros mean "the default"). */
    public static RolloutPlan fromProto(dev.fleetkeeper.proto.v1.RolloutPlan p) {
        return new RolloutPlan(p.getCanary(), p.getBatch(), p.getMinHealthyMs(), p.getHealthyDeadlineMs(),
                p.getProgressDeadlineMs(), p.getMaxFailures(), p.getAutoPromote(), p.getAutoRollback(),
                p.getPauseOnDisconnect(), p.getProbe(), p.getMemoryTolerance(), p.getMinAvailable());
    }

    /** The release as a proto message. */
    public static dev.fleetkeeper.proto.v1.Release toProto(Release r) {
        return dev.fleetkeeper.proto.v1.Release.newBuilder()
                .setVersion(r.version())
                .setCommand(r.command())
                .addAllArgs(r.args())
                .setArgsSet(r.argsSet())
                .putAllEnv(r.env())
                .setSwitchCurrent(r.switchCurrent())
                .setProbe(r.probe())
                .build();
    }

    /** The release a proto message describes. */
    public static Release fromProto(dev.fleetkeeper.proto.v1.Release r) {
        return new Release(r.getVersion(), r.getCommand(), r.getArgsList(), r.getArgsSet(), r.getEnvMap(),
                r.getSwitchCurrent(), r.getProbe());
    }

    /**
     * What a stored step's instance ran before. A step stored before {@code previous_declared}
     * existed holds only a version: a release of that label over the declared spec, as its
     * rollback sent then; "" can only have been the unlabelled declared spec.
     */
    private static PreviousRelease previous(dev.fleetkeeper.proto.v1.RolloutStep s) {
        Release r = fromProto(s.getPrevious());
        if (s.getPreviousDeclared() || r.equals(Release.ofVersion(""))) {
            return PreviousRelease.declared(r.version());
        }
        return PreviousRelease.of(r);
    }

    private static RolloutState state(dev.fleetkeeper.proto.v1.RolloutState s, String id) {
        if (s == dev.fleetkeeper.proto.v1.RolloutState.ROLLOUT_STATE_UNSPECIFIED
                || s == dev.fleetkeeper.proto.v1.RolloutState.UNRECOGNIZED) {
            throw new IllegalArgumentException("state " + s + " of " + id);
        }
        return RolloutState.valueOf(s.name().replace("ROLLOUT_STATE_", ""));
    }

    private static RolloutStepState stepState(dev.fleetkeeper.proto.v1.RolloutStepState s, String id) {
        if (s == dev.fleetkeeper.proto.v1.RolloutStepState.ROLLOUT_STEP_STATE_UNSPECIFIED
                || s == dev.fleetkeeper.proto.v1.RolloutStepState.UNRECOGNIZED) {
            throw new IllegalArgumentException("step state " + s + " of " + id);
        }
        return RolloutStepState.valueOf(s.name().replace("ROLLOUT_STEP_STATE_", ""));
    }
}
