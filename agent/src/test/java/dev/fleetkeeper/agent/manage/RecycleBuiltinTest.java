package dev.fleetkeeper.agent.manage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.service.ServiceSpec.MemorySpec;
import java.time.Duration;
import dev.fleetkeeper.agent.service.ServiceSpec;
import java.time.InstantSource;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Recycling of real leaking workers under the built-in driver: 4 workers with their own ports, 2 at once, floor 50%. */
@Timeout(90)
class RecycleBuiltinTest extends AbstractRecycleTest {

    @Override
    ServiceSpec.Builder builder(String name) {
        return ServiceSpec.builder(name, DriverKind.BUILTIN).env(Map.of("FLEETKEEPER_TEST_RUN_SERVICE", replay.run));
    }

    @Override
    DriverFactory drivers() {
        return new StandardDrivers(tmp.resolve("agent-state"), java.nio.file.Path.of("/proc"), InstantSource.system());
    }

    @Test
    void leakingWorkers_areRecycledBeforeTheirLimit_staggered_sawtoothNever() throws Exception {
        int base = IncidentReplay.freePort();
        recyclesEachLeakerBeforeItsLimit(leaky(4, base, policy(2, "50%")), 2, 2);
        assertThat(replay.events("leaky", ServiceEvent.Kind.RECYCLED)).allSatisfy(e ->
                assertThat(e.attributes()).as("each worker's port must be free for its replacement")
                        .containsEntry("mode", "stop-first"));
    }

    @Test
    void portlessWorkers_areRecycledStartFirst() throws Exception {
        // Queue workers: no port, so each replacement runs next to the worker it replaces until it is
        // up, and only then is the old one stopped. The forecast horizon leaves room for that handover.
        MemorySpec p = policy(2, "0");
        MemorySpec wide = new MemorySpec(p.limitBytes(), p.window(), p.warmUp(), p.overLimitSamples(), Duration.ofSeconds(15),
                p.maxAge(), p.maxRecycling(), p.minAvailable(), p.baselineSettle(), p.baselineTolerance());
        recyclesEachLeakerBeforeItsLimit(leaky(2, 0, wide), 2, 0);
        assertThat(replay.events("leaky", ServiceEvent.Kind.RECYCLED)).isNotEmpty().allSatisfy(e ->
                assertThat(e.attributes()).containsEntry("mode", "start-first"));
        assertThat(replay.events("leaky", ServiceEvent.Kind.STOPPED)).isNotEmpty().allSatisfy(e ->
                assertThat(e.message()).contains("after its start-first replacement was up"));
    }
}
