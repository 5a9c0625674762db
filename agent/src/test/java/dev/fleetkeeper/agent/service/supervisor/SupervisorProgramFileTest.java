package dev.fleetkeeper.agent.service.supervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetkeeper.agent.service.DriverException;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The program section the agent writes: what supervisord must be told, and what it cannot be told. */
@Timeout(10)
class SupervisorProgramFileTest {

    private static ServiceSpec.Builder web() {
        return ServiceSpec.builder("web", DriverKind.SUPERVISOR)
                .supervisor(new ServiceSpec.SupervisorSpec("unix:///run/s.sock", "", "", "web", Path.of("/etc/s/web.conf")));
    }

    @Test
    void render_carriesStopPolicyRestartPolicyAndInstanceEnvironment() {
        String conf = ProgramFile.render(web().instances(3).command("node", "server.js", "--max=50%")
                .env(Map.of("NODE_ENV", "production")).stopSignal("INT").stopTimeout(Duration.ofSeconds(30))
                .restart(ServiceSpec.RestartPolicy.ON_FAILURE).workingDir(Path.of("/srv/web")).user("www-data").build());

        assertThat(conf).contains("[program:web]\n", "command=node server.js --max=50%%\n", "numprocs=3\n",
                "process_name=%(program_name)s_%(process_num)02d\n", "directory=/srv/web\n", "user=www-data\n",
                "environment=FLEETKEEPER_SERVICE=\"web\",NODE_ENV=\"production\",FLEETKEEPER_INSTANCE=\"%(process_num)d\"\n",
                "stopsignal=INT\n", "stopwaitsecs=30\n", "stopasgroup=true\n", "killasgroup=true\n",
                "autorestart=unexpected\n", "redirect_stderr=true\n");
    }

    @Test
    void render_refusesValuesSupervisordWouldMisread_namingTheKey() {
        ServiceSpec bothQuotes = web().command("sleep", "1").env(Map.of("MOTD", "it's \"fine\" here")).build();
        assertThatThrownBy(() -> ProgramFile.render(bothQuotes))
                .isInstanceOf(DriverException.class)
                .hasMessageContaining("service 'web'")
                .hasMessageContaining("env MOTD");
        ServiceSpec comment = web().command("sh", "-c", "echo a ;echo b").build();
        assertThatThrownBy(() -> ProgramFile.render(comment))
                .isInstanceOf(DriverException.class)
                .hasMessageContaining("start of a comment");
    }

    @Test
    void splitCommand_readsWhatCommandLineWrites() {
        ServiceSpec spec = web().command("sh", "-c", "echo \"$0\"", "a b", "it's", "").build();
        assertThat(ProgramFile.splitCommand(ProgramFile.commandLine(spec)))
                .isEqualTo(List.of("sh", "-c", "echo \"$0\"", "a b", "it's", ""));
    }
}
