package dev.fleetkeeper.agent.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.manage.InstanceView;
import dev.fleetkeeper.agent.manage.ServiceCommand;
import dev.fleetkeeper.agent.manage.ServiceState;
import dev.fleetkeeper.agent.manage.ServicesReport;
import dev.fleetkeeper.agent.memory.BaselineBook;
import dev.fleetkeeper.agent.memory.LeakVerdict;
import dev.fleetkeeper.agent.release.Release;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.Capacity;
import dev.fleetkeeper.agent.service.ServiceSpec.MemorySpec;
import dev.fleetkeeper.proto.v1.Action;
import dev.fleetkeeper.proto.v1.ApplyRelease;
import dev.fleetkeeper.proto.v1.MemoryTrend;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What `fleetkeeper memory` shows travels: each instance's trend and the baselines by version;
 * and what rollouts read: the service's declared floor and each instance's release.
 */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ServiceProtoMapperReportTest {

    private static final long MIB = 1L << 20;

    @Test
    void theReportCarriesEachInstancesTrendAndTheBaselinesByVersion() throws Exception {
        InstanceStatus running = new InstanceStatus(0, "web#0", ManagerState.RUNNING, 0, 0, -1, "", 0, "");
        InstanceStatus flat = new InstanceStatus(1, "web#1", ManagerState.RUNNING, 0, 0, -1, "", 0, "");
        LeakVerdict leaking = new LeakVerdict(true, 36_700, Duration.ofMinutes(47), 0.97, "grows 2.1 MiB/min");
        LeakVerdict quiet = new LeakVerdict(false, 3, null, 0.4, "sawtooth, minima flat");
        ServicesReport report = new ServicesReport(1_000, List.of(new ServiceState("web", "builtin", "42", 2, 0,
                List.of(new InstanceView(running, null, List.of(), List.of(), true,
                                new InstanceView.MemoryInfo(leaking, 512 * MIB, 180 * MIB)),
                        new InstanceView(flat, null, List.of(), List.of(), true,
                                new InstanceView.MemoryInfo(quiet, 512 * MIB, 0)),
                        new InstanceView(flat, null, List.of(), List.of(), true, null, "43", null)),
                List.of(), null,
                List.of(new BaselineBook.Baseline("42", 178 * MIB, 2, 900), new BaselineBook.Baseline("41", 145 * MIB, 6, 500)))));

        ServiceStatus s = ServiceProtoMapper.report(report).getServices(0);

        MemoryTrend t = s.getInstances(0).getMemory();
        assertThat(t.getLeaking()).isTrue();
        assertThat(t.getSlopeBytesPerSecond()).isEqualTo(36_700);
        assertThat(t.getTimeToLimitMs()).isEqualTo(Duration.ofMinutes(47).toMillis());
        assertThat(t.getLimitBytes()).isEqualTo(512 * MIB);
        assertThat(t.getBaselineRssBytes()).isEqualTo(180 * MIB);
        assertThat(t.getReason()).isEqualTo("grows 2.1 MiB/min");
        assertThat(s.getInstances(1).getMemory().getTimeToLimitMs()).as("no forecast without growth").isZero();
        assertThat(s.getInstances(2).hasMemory()).as("no memory policy: no trend").isFalse();
        assertThat(s.getInstances(2).getVersion()).as("the instance's own release").isEqualTo("43");
        assertThat(s.getBaselinesList()).extracting(b -> b.getVersion() + "=" + (b.getRssBytes() / MIB) + "x" + b.getSamples())
                .containsExactly("42=178x2", "41=145x6");
        assertThat(ServiceReport.parseFrom(ServiceProtoMapper.report(report).toByteArray()).getServices(0)
                .getInstances(0).getMemory().getLeaking()).isTrue();
    }

    @Test
    void theReportCarriesTheDeclaredFloor_fromTheMemoryPolicy_andZeroWithoutOne() {
        ServiceSpec.Builder pool = ServiceSpec.builder("web", DriverKind.BUILTIN).command("/bin/true").instances(4);
        MemorySpec d = MemorySpec.DEFAULTS;
        MemorySpec floor50 = new MemorySpec(0, d.window(), d.warmUp(), d.overLimitSamples(), d.forecastUnder(),
                d.maxAge(), 1, new Capacity(50, true), d.baselineSettle(), d.baselineTolerance());
        MemorySpec twoAtOnce = new MemorySpec(0, d.window(), d.warmUp(), d.overLimitSamples(), d.forecastUnder(),
                d.maxAge(), 2, null, d.baselineSettle(), d.baselineTolerance());
        MemorySpec detectOnly = new MemorySpec(0, d.window(), d.warmUp(), d.overLimitSamples(), d.forecastUnder(),
                d.maxAge(), 0, null, d.baselineSettle(), d.baselineTolerance());

        assertThat(reportedFloor(pool.memory(floor50).build())).as("minAvailable 50% of 4").isEqualTo(2);
        assertThat(reportedFloor(pool.memory(twoAtOnce).build())).as("4 - maxRecycling 2").isEqualTo(2);
        assertThat(reportedFloor(pool.memory(d).build())).as("4 - the default maxRecycling 1").isEqualTo(3);
        assertThat(reportedFloor(pool.memory(detectOnly).build())).as("maxRecycling 0: no floor declared").isZero();
        assertThat(reportedFloor(pool.memory(null).build())).as("no memory policy").isZero();
    }

    private static int reportedFloor(ServiceSpec spec) {
        ServicesReport report = new ServicesReport(1_000, List.of(new ServiceState(spec.name(), "builtin", "",
                spec.instances(), spec.declaredFloor(), List.of(), List.of(), null, List.of())));
        return ServiceProtoMapper.report(report).getServices(0).getMinAvailable();
    }

    @Test
    void theReportCarriesEachInstancesRelease_inFull_andNoneForTheDeclaredSpec() {
        InstanceStatus st = new InstanceStatus(0, "web#0", ManagerState.RUNNING, 0, 0, -1, "", 0, "");
        Release r = new Release("43", "/usr/bin/node", List.of("server.js", "--fast"), true, Map.of("FLAG", "on"));
        ServicesReport report = new ServicesReport(1_000, List.of(new ServiceState("web", "builtin", "42", 2, 0,
                List.of(new InstanceView(st, null, List.of(), List.of(), true, null, "43", r),
                        new InstanceView(st, null, List.of(), List.of(), true, null, "42", null)),
                List.of(), null, List.of())));

        ServiceStatus s = ServiceProtoMapper.report(report).getServices(0);

        assertThat(s.getInstances(0).getRelease()).isEqualTo(dev.fleetkeeper.proto.v1.Release.newBuilder()
                .setVersion("43").setCommand("/usr/bin/node").addArgs("server.js").addArgs("--fast").setArgsSet(true)
                .putEnv("FLAG", "on").build());
        assertThat(s.getInstances(1).hasRelease()).as("the declared spec").isFalse();
        assertThat(s.getInstances(1).getVersion()).isEqualTo("42");
    }

    @Test
    void applyReleaseToDeclared_becomesABackToDeclaredCommand_withoutNeedingAVersion() {
        ServiceCommand c = ServiceProtoMapper.command(Action.newBuilder().setActionId("a-1")
                .setApplyRelease(ApplyRelease.newBuilder().setService("web").setInstance(1).setRolloutId("ro-1")
                        .setToDeclared(true).setRelease(dev.fleetkeeper.proto.v1.Release.newBuilder()
                                .setVersion("42").setCommand("ignored").setSwitchCurrent(true)))
                .build());

        assertThat(c).isEqualTo(ServiceCommand.ApplyRelease.toDeclared("web", 1, true, "ro-1"));
        assertThat(((ServiceCommand.ApplyRelease) c).backToDeclared()).isTrue();
        assertThat(ServiceProtoMapper.command(Action.newBuilder().setApplyRelease(ApplyRelease.newBuilder()
                .setService("web").setToDeclared(true)).build()))
                .as("an older controller's empty release is not needed").isEqualTo(
                        ServiceCommand.ApplyRelease.toDeclared("web", 0, false, ""));
    }

    @Test
    void applyReleaseWithACurrentTarget_carriesItToTheCommand() {
        ServiceCommand c = ServiceProtoMapper.command(Action.newBuilder().setActionId("a-2")
                .setApplyRelease(ApplyRelease.newBuilder().setService("web").setInstance(0).setRolloutId("ro-1")
                        .setToDeclared(true).setCurrentTarget("releases/41-hotfix")
                        .setRelease(dev.fleetkeeper.proto.v1.Release.newBuilder().setVersion("41")
                                .setSwitchCurrent(true)))
                .build());

        assertThat(c).isEqualTo(new ServiceCommand.ApplyRelease("web", 0, null, true, "ro-1", "releases/41-hotfix"));
    }
}
