package dev.fleetkeeper.agent.service.pm2;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The command line and environment pm2 runs with; no pm2 is run. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class Pm2CliTest {

    private static final Path BIN = Path.of("/opt/pm2/node_modules/.bin/pm2");

    @Test
    void anotherUser_runsPm2ThroughRunuser_withThatUsersHomeAndPm2Home() {
        Pm2Cli cli = new Pm2Cli(BIN, Path.of("/home/app/.pm2"), "app", Path.of("/home/app"), Path.of("/tmp"));

        assertThat(cli.commandLine(List.of("jlist")))
                .containsExactly("runuser", "-u", "app", "--", BIN.toString(), "jlist");
        assertThat(cli.environment()).containsEntry("PM2_HOME", "/home/app/.pm2").containsEntry("HOME", "/home/app")
                .containsEntry("USER", "app");
    }

    @Test
    void ownUser_runsPm2Directly_withAFreshEnvironment_notTheAgents() {
        Pm2Cli cli = new Pm2Cli(BIN, Path.of("/var/lib/pm2"), "", Path.of("/root"), Path.of("/tmp"));

        assertThat(cli.commandLine(List.of("restart", "3"))).containsExactly(BIN.toString(), "restart", "3");
        assertThat(cli.environment()).containsOnlyKeys("PATH", "LANG", "HOME", "PM2_HOME")
                .containsEntry("PM2_HOME", "/var/lib/pm2");
        assertThat(cli.environment().get("PATH")).startsWith("/opt/pm2/node_modules/.bin:");
    }
}
