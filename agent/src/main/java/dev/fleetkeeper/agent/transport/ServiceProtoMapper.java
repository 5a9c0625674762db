package dev.fleetkeeper.agent.transport;

import dev.fleetkeeper.agent.doctor.Finding;
import dev.fleetkeeper.agent.doctor.Remedies;
import dev.fleetkeeper.agent.manage.CommandResult;
import dev.fleetkeeper.agent.memory.BaselineBook;
import dev.fleetkeeper.agent.memory.LeakVerdict;
import dev.fleetkeeper.agent.manage.InstanceView;
import dev.fleetkeeper.agent.manage.ServiceCommand;
import dev.fleetkeeper.agent.manage.ServiceState;
import dev.fleetkeeper.agent.manage.ServicesReport;
import dev.fleetkeeper.agent.probe.ProbeResult;
import dev.fleetkeeper.agent.probe.ProbeSpec;
import dev.fleetkeeper.agent.release.Release;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.telemetry.ProcessSample;
import dev.fleetkeeper.proto.v1.Action;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.DoctorReport;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.Evidence;
import dev.fleetkeeper.proto.v1.InstanceView.Builder;
import dev.fleetkeeper.proto.v1.LogTail;
import dev.fleetkeeper.proto.v1.ManagerState;
import dev.fleetkeeper.proto.v1.MemoryBaseline;
import dev.fleetkeeper.proto.v1.MemoryTrend;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.ReleaseOutcome;
import dev.fleetkeeper.proto.v1.Remedy;
import dev.fleetkeeper.proto.v1.ProbeStatus;
import dev.fleetkeeper.proto.v1.RemedyOutcome;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import dev.fleetkeeper.proto.v1.Severity;
import java.util.List;

/**
 * Converts the agent's service records (reports, findings, commands and their results, service
 * events) to and from wire messages. Stateless.
 */
public final class ServiceProtoMapper {

    private ServiceProtoMapper() {
    }

    static ServiceReport report(ServicesReport r) {
        ServiceReport.Builder b = ServiceReport.newBuilder().setTakenAtUnixMs(r.takenAtMillis());
        for (ServiceState s : r.services()) {
            ServiceStatus.Builder sb = ServiceStatus.newBuilder()
                    .setName(s.name())
                    .setDriver(s.driver())
                    .setVersion(s.version())
                    .setInstancesDeclared(s.declared())
                    .setMinAvailable(s.minAvailable());
            if (s.managerError() != null) {
                sb.setManagerError(s.managerError());
            }
            for (InstanceView v : s.instances()) {
                sb.addInstances(instance(v));
            }
            for (Finding f : s.findings()) {
                sb.addFindings(finding(f));
            }
            for (BaselineBook.Baseline bl : s.baselines()) {
                sb.addBaselines(MemoryBaseline.newBuilder().setVersion(bl.version()).setRssBytes(bl.rssBytes())
                        .setSamples(bl.samples()).setRecordedAtUnixMs(bl.recordedAtMillis()));
            }
            b.addServices(sb);
        }
        return b.build();
    }

    private static dev.fleetkeeper.proto.v1.InstanceView instance(InstanceView v) {
        InstanceStatus st = v.status();
        Builder b = dev.fleetkeeper.proto.v1.InstanceView.newBuilder()
                .setIndex(st.instance())
                .setManagerName(st.managerName())
                .setManagerState(state(st.state()))
                .setManagerPid(st.pid())
                .setStartedAtUnixMs(st.startedAtMillis())
                .setExitCode(st.exitCode())
                .setExitSignal(st.exitSignal())
                .setRestarts(st.restarts())
                .setDetail(st.detail())
                .setConsistent(v.consistent())
                .setVersion(v.version());
        if (v.release() != null) {
            b.setRelease(release(v.release()));
        }
        ProcessSample p = v.process();
        if (p != null) {
            b.setProcess(ProcessKey.newBuilder().setPid(p.pid()).setStartTicks(p.id().startTicks()))
                    .setProcState(String.valueOf(p.state().letter()))
                    .setRssBytes(p.rssBytes());
        }
        if (v.memory() != null) {
            LeakVerdict verdict = v.memory().verdict();
            b.setMemory(MemoryTrend.newBuilder()
                    .setLeaking(verdict.leaking())
                    .setSlopeBytesPerSecond(verdict.slopeBytesPerSecond())
                    .setTimeToLimitMs(verdict.timeToLimit() == null ? 0 : Math.max(1, verdict.timeToLimit().toMillis()))
                    .setConfidence(verdict.confidence())
                    .setLimitBytes(Math.max(0, v.memory().limitBytes()))
                    .setReason(verdict.reason())
                    .setBaselineRssBytes(v.memory().baselineBytes()));
        }
        v.expectedPorts().forEach(b::addExpectedPorts);
        v.boundPorts().forEach(b::addBoundPorts);
        ProbeResult probe = v.probe();
        if (probe != null) {
            b.setProbe(ProbeStatus.newBuilder().setProbe(probe.probe()).setOk(probe.ok()).setDetail(probe.detail())
                    .setPid(probe.pid()).setSinceUnixMs(probe.sinceMillis())
                    .setCheckedAtUnixMs(probe.checkedAtMillis()));
        }
        return b.build();
    }

    private static ManagerState state(dev.fleetkeeper.agent.service.ManagerState s) {
        switch (s) {
            case STARTING: return ManagerState.MANAGER_STATE_STARTING;
            case RUNNING: return ManagerState.MANAGER_STATE_RUNNING;
            case BACKOFF: return ManagerState.MANAGER_STATE_BACKOFF;
            case STOPPING: return ManagerState.MANAGER_STATE_STOPPING;
            case STOPPED: return ManagerState.MANAGER_STATE_STOPPED;
            case EXITED: return ManagerState.MANAGER_STATE_EXITED;
            case FATAL: return ManagerState.MANAGER_STATE_FATAL;
            default: return ManagerState.MANAGER_STATE_UNKNOWN;
        }
    }

    static dev.fleetkeeper.proto.v1.Finding finding(Finding f) {
        dev.fleetkeeper.proto.v1.Finding.Builder b = dev.fleetkeeper.proto.v1.Finding.newBuilder()
                .setCode(f.code().name())
                .setSeverity(severity(f.severity()))
                .setService(f.service())
                .setInstance(f.instance())
                .setSummary(f.summary())
                .setExplanation(f.explanation())
                .setRemedy(Remedy.newBuilder()
                        .setAutomatic(f.remedy().automatic())
                        .setDescription(f.remedy().description())
                        .addAllCommands(f.remedy().commands()));
        evidence(f.evidence()).forEach(b::addEvidence);
        return b.build();
    }

    private static List<Evidence> evidence(List<Finding.Evidence> ev) {
        return ev.stream().map(e -> Evidence.newBuilder().setLabel(e.label()).setValue(e.value()).build()).toList();
    }

    private static Severity severity(dev.fleetkeeper.agent.doctor.Severity s) {
        switch (s) {
            case CRITICAL: return Severity.SEVERITY_CRITICAL;
            case WARNING: return Severity.SEVERITY_WARNING;
            default: return Severity.SEVERITY_INFO;
        }
    }

    /** The command an Action asks for, or null when it is not a service command. */
    static ServiceCommand command(Action a) {
        switch (a.getKindCase()) {
            case RUN_DOCTOR:
                return new ServiceCommand.Doctor(a.getRunDoctor().getService(), a.getRunDoctor().getFix());
            case RESTART_SERVICE:
                return new ServiceCommand.Restart(a.getRestartService().getService(), a.getRestartService().getInstance());
            case RECYCLE_INSTANCE:
                return new ServiceCommand.Recycle(a.getRecycleInstance().getService(),
                        a.getRecycleInstance().getInstance(), a.getRecycleInstance().getReason(),
                        a.getRecycleInstance().getJobId());
            case APPLY_RELEASE:
                return applyRelease(a.getApplyRelease());
            case TAIL_LOGS:
                return new ServiceCommand.Tail(a.getTailLogs().getService(), a.getTailLogs().getInstance(),
                        a.getTailLogs().getLines() <= 0 ? 100 : a.getTailLogs().getLines());
            default:
                return null;
        }
    }

    /**
     * An ApplyRelease as a command; a release the agent cannot take (no version, a malformed
     * probe) becomes an {@link IllegalArgumentException} whose message says why. With {@code to_declared} only the
     * release's {@code switch_current} is read.
     */
    private static ServiceCommand applyRelease(dev.fleetkeeper.proto.v1.ApplyRelease a) {
        dev.fleetkeeper.proto.v1.Release r = a.getRelease();
        if (a.getToDeclared()) {
            return new ServiceCommand.ApplyRelease(a.getService(), a.getInstance(), null, r.getSwitchCurrent(),
                    a.getRolloutId(), a.getCurrentTarget());
        }
        Release release = new Release(r.getVersion(), r.getCommand(), r.getArgsList(), r.getArgsSet(), r.getEnvMap(),
                ProbeSpec.parse(r.getProbe()));
        return new ServiceCommand.ApplyRelease(a.getService(), a.getInstance(), release, r.getSwitchCurrent(),
                a.getRolloutId(), a.getCurrentTarget());
    }

    /** A release an instance runs, as reported (the switch of {@code current} is not part of it). */
    static dev.fleetkeeper.proto.v1.Release release(Release r) {
        return dev.fleetkeeper.proto.v1.Release.newBuilder()
                .setVersion(r.version())
                .setCommand(r.command())
                .addAllArgs(r.args())
                .setArgsSet(r.argsSet())
                .putAllEnv(r.env())
                .setProbe(r.probe() == null ? "" : r.probe().toString())
                .build();
    }

    /** What an ApplyRelease did, as its wire outcome. */
    static ReleaseOutcome release(CommandResult.Released r) {
        return ReleaseOutcome.newBuilder()
                .setOldPid(r.oldPid())
                .setNewPid(r.newPid())
                .setOldVersion(r.oldVersion())
                .setNewVersion(r.newVersion())
                .setStartFirst(r.startFirst())
                .setPreviousCurrent(r.previousCurrent())
                .build();
    }

    static ActionStatus status(CommandResult.Status s) {
        switch (s) {
            case SUCCEEDED: return ActionStatus.ACTION_STATUS_SUCCEEDED;
            case REJECTED: return ActionStatus.ACTION_STATUS_REJECTED;
            default: return ActionStatus.ACTION_STATUS_FAILED;
        }
    }

    static DoctorReport doctor(CommandResult.DoctorResult d) {
        DoctorReport.Builder b = DoctorReport.newBuilder().addAllServices(d.services());
        d.findings().forEach(f -> b.addFindings(finding(f)));
        d.remaining().forEach(f -> b.addRemaining(finding(f)));
        for (Remedies.Outcome o : d.applied()) {
            b.addApplied(RemedyOutcome.newBuilder()
                    .setCode(o.finding().code().name())
                    .setService(o.finding().service())
                    .setInstance(o.finding().instance())
                    .setAction(o.action())
                    .setSucceeded(o.succeeded())
                    .addAllBefore(evidence(o.before()))
                    .addAllAfter(evidence(o.after())));
        }
        return b.build();
    }

    static LogTail logs(ServiceCommand.Tail t, List<String> lines) {
        return LogTail.newBuilder().setService(t.service()).setInstance(t.instance()).addAllLines(lines).build();
    }

    /** A service event as a wire event; {@code id} is agent-local and unique. */
    public static Event event(ServiceEvent e, String id) {
        EventType type;
        Severity severity;
        switch (e.kind()) {
            case REMEDY_APPLIED:
                type = EventType.EVENT_TYPE_REMEDY_APPLIED;
                severity = Severity.SEVERITY_WARNING;
                break;
            case FINDING:
                type = EventType.EVENT_TYPE_FINDING;
                severity = "CRITICAL".equals(e.attributes().get("severity")) ? Severity.SEVERITY_CRITICAL
                        : Severity.SEVERITY_WARNING;
                break;
            case CRASH_LOOP:
            case START_FAILED:
            case START_REFUSED:
            case RECYCLE_FAILED:
            case RELEASE_FAILED:
                type = EventType.EVENT_TYPE_SERVICE_INSTANCE;
                severity = Severity.SEVERITY_CRITICAL;
                break;
            case EXITED:
            case RECYCLED: // planned, but the service leaks: someone should look
                type = EventType.EVENT_TYPE_SERVICE_INSTANCE;
                severity = Severity.SEVERITY_WARNING;
                break;
            default:
                type = EventType.EVENT_TYPE_SERVICE_INSTANCE;
                severity = Severity.SEVERITY_INFO;
        }
        String who = e.instance() >= 0 ? e.service() + "#" + e.instance() : e.service();
        return Event.newBuilder()
                .setId(id)
                .setTimeUnixMs(e.timeMillis())
                .setType(type)
                .setSeverity(severity)
                .setMessage(who + ": " + e.message())
                .putAllAttributes(e.attributes())
                .putAttributes("service", e.service())
                .putAttributes("instance", Integer.toString(e.instance()))
                .putAttributes("kind", e.kind().name())
                .build();
    }
}
