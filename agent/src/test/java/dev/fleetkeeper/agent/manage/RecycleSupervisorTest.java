package dev.fleetkeeper.agent.manage;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.SupervisorSpec;
import dev.fleetkeeper.agent.service.supervisor.Supervisord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Recycling of real leaking workers under a real supervisord (the agent owns the programs'
 * files): 3 workers with their own ports, one at a time, floor 2.
 */
@Timeout(90)
class RecycleSupervisorTest extends AbstractRecycleTest {

    private Supervisord supervisord;

    @BeforeEach
    void startSupervisord() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/supervisord")), "needs supervisord (deploy/src/test/deps/supervisor.sh)");
        supervisord = Supervisord.start(Files.createDirectories(tmp.resolve("supervisord")), false);
    }

    @AfterEach
    void stopSupervisord() throws Exception {
        tearDownWorkers(); // before supervisord goes: stopAll() removes the programs through it
        if (supervisord != null) {
            supervisord.close();
        }
    }

    @Override
    ServiceSpec.Builder builder(String name) {
        return ServiceSpec.builder(name, DriverKind.SUPERVISOR)
                .supervisor(new SupervisorSpec(supervisord.unixUrl(), "", "", name, supervisord.confD().resolve(name + ".conf")));
    }

    @Override
    DriverFactory drivers() {
        return new StandardDrivers(tmp.resolve("agent-state"), Path.of("/proc"), InstantSource.system());
    }

    @Test
    void leakingWorkers_areRecycledBeforeTheirLimit_staggered_sawtoothNever() throws Exception {
        int base = IncidentReplay.freePort();
        recyclesEachLeakerBeforeItsLimit(leaky(3, base, policy(1, "2")), 1, 2);
    }
}
