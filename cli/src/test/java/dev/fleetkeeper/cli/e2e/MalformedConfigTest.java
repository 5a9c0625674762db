package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fleetkeeper-agent} and {@code fleetkeeper-controller}, run as processes, refuse a bad
 * config with exit status 2 and one stderr line naming the file, the line and the key, and an
 * unknown flag with the usage and exit status 2.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MalformedConfigTest {

    private static final String AGENT = "dev.fleetkeeper.agent.AgentMain";
    private static final String CONTROLLER = "dev.fleetkeeper.controller.ControllerMain";

    @TempDir
    Path dir;

    @Test
    void agent_badDurationOnLine4_exits2_withOneLineNamingFileLineAndKey() throws Exception {
        Path config = write("agent.yaml", "controller: 127.0.0.1:7700\n"
                + "stateDir: " + dir.resolve("state") + "\n"
                + "labels: {role: web}\n"
                + "heartbeatInterval: 5 parsecs\n");

        JavaMain.Result r = JavaMain.run(dir, AGENT, "--config", config.toString());

        assertOneLineNaming(r, "fleetkeeper-agent: ", config + ":4:", "heartbeatInterval");
    }

    @Test
    void agent_badNestedDuration_namesTheDottedKeyAndItsLine() throws Exception {
        Path config = write("agent.yaml", "controller: 127.0.0.1:7700\n"
                + "scan:\n"
                + "  detailInterval: 30s\n"
                + "  interval: fast\n");

        JavaMain.Result r = JavaMain.run(dir, AGENT, "--config", config.toString());

        assertOneLineNaming(r, "fleetkeeper-agent: ", config + ":4:", "scan.interval");
    }

    @Test
    void controller_badDurationOnLine3_exits2_withOneLineNamingFileLineAndKey() throws Exception {
        Path config = write("controller.yaml", "listen: 127.0.0.1:0\n"
                + "dataDir: " + dir.resolve("data") + "\n"
                + "offlineGrace: soon\n"
                + "metrics: {listen: \"\"}\n");

        JavaMain.Result r = JavaMain.run(dir, CONTROLLER, "--config", config.toString());

        assertOneLineNaming(r, "fleetkeeper-controller: ", config + ":3:", "offlineGrace");
        assertThat(dir.resolve("data")).doesNotExist();
    }

    @Test
    void controller_negativeDuration_isRefusedWithItsLineToo() throws Exception {
        Path config = write("controller.yaml", "listen: 127.0.0.1:0\n"
                + "dataDir: " + dir.resolve("data") + "\n"
                + "heartbeatInterval: -5s\n");

        JavaMain.Result r = JavaMain.run(dir, CONTROLLER, "--config", config.toString());

        assertOneLineNaming(r, "fleetkeeper-controller: ", config + ":3:", "heartbeatInterval");
    }

    @Test
    void agent_unknownFlag_printsUsage_andExits2() throws Exception {
        JavaMain.Result r = JavaMain.run(dir, AGENT, "--confg", "agent.yaml");

        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains("Unknown option").contains("'--confg'")
                .contains("Usage: fleetkeeper-agent").contains("--config=FILE");
    }

    @Test
    void controller_unknownFlag_printsUsage_andExits2() throws Exception {
        JavaMain.Result r = JavaMain.run(dir, CONTROLLER, "--dataDir", "/tmp/x");

        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains("Unknown option").contains("'--dataDir'")
                .contains("Usage: fleetkeeper-controller").contains("--data=DIR");
    }

    private static void assertOneLineNaming(JavaMain.Result r, String prefix, String fileAndLine, String key) {
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.errLines()).as(r.err()).singleElement().asString()
                .startsWith(prefix + fileAndLine)
                .contains(key);
    }

    private Path write(String name, String text) throws java.io.IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }
}
