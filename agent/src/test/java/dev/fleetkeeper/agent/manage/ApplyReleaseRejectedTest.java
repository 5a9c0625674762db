package dev.fleetkeeper.agent.manage;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.release.Release;
import dev.fleetkeeper.agent.release.ReleaseBook;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.SupervisorSpec;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * ApplyRelease requests the agent refuses before touching anything: an unknown service, and a
 * service whose manager holds one definition for all its instances (supervisord here; PM2 alike).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ApplyReleaseRejectedTest {

    @TempDir
    Path tmp;

    private final IncidentReplay replay = new IncidentReplay();
    private final String name = IncidentReplay.unique("rel-sup");

    @AfterEach
    void tearDown() throws Exception {
        replay.close(Set.of(name));
    }

    @Test
    void aSupervisordService_cannotRunMixedReleases_soApplyReleaseIsRejected_withWhatToDo() throws Exception {
        // No supervisord behind the socket: the request must be refused before the driver is asked anything.
        ServiceSpec spec = ServiceSpec.builder(name, DriverKind.SUPERVISOR).instances(2).command("/usr/bin/node", "server.js")
                .supervisor(new SupervisorSpec("unix://" + tmp.resolve("supervisor.sock"), "", "", name, null)).build();
        ServiceManager m = replay.start(List.of(ServiceDeclaration.valid(spec)),
                new StandardDrivers(tmp.resolve("state"), Path.of("/proc"), InstantSource.system()), null,
                tmp.resolve("state/releases"));

        CommandResult r = m.execute(new ServiceCommand.ApplyRelease(name, 0, new Release("2", "", List.of(), false,
                Map.of()), false, "ro-1")).get(30, TimeUnit.SECONDS);

        assertThat(r.status()).isEqualTo(CommandResult.Status.REJECTED);
        assertThat(r.message()).contains("supervisor runs every instance of '" + name + "' from one program definition")
                .contains("driver: builtin");
        assertThat(ReleaseBook.open(tmp.resolve("state/releases")).get(name, 0)).isNull();

        CommandResult unknown = m.execute(new ServiceCommand.ApplyRelease("nope-" + name, 0, new Release("2", "",
                List.of(), false, Map.of()), false, "ro-1")).get(30, TimeUnit.SECONDS);
        assertThat(unknown.status()).isEqualTo(CommandResult.Status.REJECTED);
        assertThat(unknown.message()).contains("no service 'nope-" + name + "'");
    }
}
