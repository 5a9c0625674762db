package dev.fleetkeeper.agent.manage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.doctor.Finding;
import dev.fleetkeeper.agent.doctor.FindingCode;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.MemorySpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which version a MEMORY_BASELINE_REGRESSED finding is about: the versions the instances run,
 * so that a canary moved to a release that settles higher is reported while the declaration
 * still says the old version.
 */
class StartupBaselinesTest {

    private static final long MIB = 1L << 20;

    @TempDir
    Path dir;

    private static ServiceSpec spec(String declared) {
        return ServiceSpec.builder("web", DriverKind.BUILTIN)
                .instances(2)
                .command("/bin/true")
                .version(declared)
                .memory(new MemorySpec(0, Duration.ofSeconds(20), Duration.ZERO, 3, Duration.ZERO, Duration.ZERO, 0,
                        null, Duration.ofSeconds(2), 0.2))
                .build();
    }

    /** A book with version 1 settled at 30 MiB, then version 2 at 90 MiB. */
    private void book() throws Exception {
        Files.writeString(dir.resolve("web"), "fleetkeeper-baselines 1\n"
                + "1\t" + 30 * MIB + "\t1000\n"
                + "1\t" + 30 * MIB + "\t1001\n"
                + "2\t" + 90 * MIB + "\t2000\n");
    }

    private static InstanceView running(int i, String version) {
        return new InstanceView(new InstanceStatus(i, "web#" + i, ManagerState.RUNNING, 100 + i, 1, 0, "", 0, ""),
                null, List.of(), List.of(), true, null, version, null);
    }

    private static ServiceState state(String declared, InstanceView... views) {
        return new ServiceState("web", "builtin", declared, views.length, 0, List.of(views), List.of(), null, List.of());
    }

    private static List<Finding> regressions(ServiceState s) {
        return s.findings().stream().filter(f -> f.code() == FindingCode.MEMORY_BASELINE_REGRESSED).toList();
    }

    @Test
    void aCanaryOnANewReleaseThatSettlesHigher_isReported_whileTheDeclarationSaysTheOldVersion() throws Exception {
        book();
        StartupBaselines b = new StartupBaselines(dir);

        ServiceState s = b.withMemory(spec("1"), state("1", running(0, "2"), running(1, "1")), Map.of());

        assertThat(regressions(s)).singleElement().satisfies(f -> {
            assertThat(f.summary()).contains("version 2").contains("above version 1");
            assertThat(f.evidence()).anySatisfy(e -> {
                assertThat(e.label()).isEqualTo("current");
                assertThat(e.value()).startsWith("2: ");
            });
        });
        assertThat(s.baselines()).extracting(bl -> bl.version()).containsExactly("2", "1");
    }

    @Test
    void aReleaseNoInstanceRunsAnyMore_isNotReported() throws Exception {
        book();
        StartupBaselines b = new StartupBaselines(dir);

        ServiceState s = b.withMemory(spec("1"), state("1", running(0, "1"), running(1, "1")), Map.of());

        assertThat(regressions(s)).isEmpty();
    }

    @Test
    void instancesWithoutAVersionLabel_runTheDeclaredVersion() throws Exception {
        book();
        StartupBaselines b = new StartupBaselines(dir);

        ServiceState s = b.withMemory(spec("2"), state("2", running(0, ""), running(1, "")), Map.of());

        assertThat(regressions(s)).singleElement()
                .satisfies(f -> assertThat(f.summary()).contains("version 2").contains("above version 1"));
    }
}
