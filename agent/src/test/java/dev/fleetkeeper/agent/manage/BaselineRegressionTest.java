package dev.fleetkeeper.agent.manage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.doctor.Finding;
import dev.fleetkeeper.agent.doctor.FindingCode;
import dev.fleetkeeper.agent.memory.BaselineBook;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.MemorySpec;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Startup baselines with real workers under the built-in driver: release 1 settles at about
 * 30 MiB, release 2 at about 90 MiB; the agent records each release's baseline (kept across
 * an agent restart) and reports release 2 as MEMORY_BASELINE_REGRESSED, with each instance's
 * trend (not a leak: both settle flat).
 */
@Timeout(120)
class BaselineRegressionTest {

    private static final String SERVICE = IncidentReplay.unique("worker");
    private static final long MIB = 1L << 20;

    @TempDir
    Path tmp;

    private IncidentReplay replay;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (replay != null) {
            replay.close(Set.of(SERVICE));
        }
    }

    private ServiceSpec release(String version, int mib, String run) {
        // Touch every page of a buffer of the given size, then idle: a flat series after start.
        String script = "import time\nb = bytearray(b'\\x01') * (" + mib + " * 1024 * 1024)\ntime.sleep(600)\n";
        return ServiceSpec.builder(SERVICE, DriverKind.BUILTIN)
                .instances(2)
                .command(IncidentReplay.PYTHON, "-c", script)
                .env(Map.of("FLEETKEEPER_TEST_RUN_SERVICE", run))
                .version(version)
                .memory(new MemorySpec(0, Duration.ofSeconds(20), Duration.ZERO, 3, Duration.ZERO, Duration.ZERO, 0, null,
                        Duration.ofSeconds(2), 0.2))
                .stopTimeout(Duration.ofSeconds(2))
                .build();
    }

    /** Starts a service manager (an agent) running {@code version} of the worker, settling at {@code mib}. */
    private ServiceManager run(String version, int mib, Path baselines) throws Exception {
        replay = new IncidentReplay();
        return replay.start(List.of(ServiceDeclaration.valid(release(version, mib, replay.run))),
                new StandardDrivers(tmp.resolve("state"), Path.of("/proc"), InstantSource.system()), baselines);
    }

    private static ServiceState state(ServiceManager m) {
        ServicesReport r = m.lastReport();
        assertThat(r).isNotNull();
        return r.services().get(0);
    }

    @Test
    void aReleaseThatSettlesHigherThanThePreviousIsARegression() throws Exception {
        Path baselines = tmp.resolve("baselines");

        ServiceManager one = run("1", 30, baselines);
        await().atMost(Duration.ofSeconds(40)).untilAsserted(() -> {
            ServiceState s = state(one);
            assertThat(s.baselines()).singleElement().satisfies(b -> {
                assertThat(b.version()).isEqualTo("1");
                assertThat(b.samples()).isEqualTo(2);
                assertThat(b.rssBytes()).isBetween(30 * MIB, 50 * MIB);
            });
            assertThat(s.instances()).allSatisfy(v -> {
                assertThat(v.memory()).isNotNull();
                assertThat(v.memory().verdict().leaking()).isFalse();
                assertThat(v.memory().baselineBytes()).isPositive();
            });
            assertThat(s.findings()).extracting(Finding::code).doesNotContain(FindingCode.MEMORY_BASELINE_REGRESSED);
        });
        replay.close(Set.of(SERVICE));
        replay = null;

        // The next release, after an agent restart: baselines of release 1 come from disk.
        ServiceManager two = run("2", 90, baselines);
        await().atMost(Duration.ofSeconds(40)).untilAsserted(() -> {
            ServiceState s = state(two);
            assertThat(s.baselines()).extracting(BaselineBook.Baseline::version).containsExactly("2", "1");
            assertThat(s.findings()).filteredOn(f -> f.code() == FindingCode.MEMORY_BASELINE_REGRESSED).singleElement()
                    .satisfies(f -> assertThat(f.summary()).contains("version 2").contains("above version 1"));
        });
    }
}
