package dev.fleetkeeper.agent.manage;

import dev.fleetkeeper.agent.service.DriverKind;
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
    }
}
