package dev.fleetkeeper.agent.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.manage.InstanceView;
import dev.fleetkeeper.agent.manage.ServiceState;
import dev.fleetkeeper.agent.manage.ServicesReport;
import dev.fleetkeeper.agent.memory.BaselineBook;
import dev.fleetkeeper.agent.memory.LeakVerdict;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.proto.v1.MemoryTrend;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What `fleetkeeper memory` shows travels: each instance's trend and the baselines by version. */
class ServiceProtoMapperReportTest {

    private static final long MIB = 1L << 20;

    @Test
    void theReportCarriesEachInstancesTrendAndTheBaselinesByVersion() throws Exception {
        InstanceStatus running = new InstanceStatus(0, "web#0", ManagerState.RUNNING, 0, 0, -1, "", 0, "");
        InstanceStatus flat = new InstanceStatus(1, "web#1", ManagerState.RUNNING, 0, 0, -1, "", 0, "");
        LeakVerdict leaking = new LeakVerdict(true, 36_700, Duration.ofMinutes(47), 0.97, "grows 2.1 MiB/min");
        LeakVerdict quiet = new LeakVerdict(false, 3, null, 0.4, "sawtooth, minima flat");
        ServicesReport report = new ServicesReport(1_000, List.of(new ServiceState("web", "builtin", "42", 2,
                List.of(new InstanceView(running, null, List.of(), List.of(), true,
                                new InstanceView.MemoryInfo(leaking, 512 * MIB, 180 * MIB)),
                        new InstanceView(flat, null, List.of(), List.of(), true,
                                new InstanceView.MemoryInfo(quiet, 512 * MIB, 0)),
                        new InstanceView(flat, null, List.of(), List.of(), true, null, "43")),
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
}
