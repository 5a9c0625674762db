package dev.fleetkeeper.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AgentConfigLoaderTest {

    private static final String SOURCE = "/etc/fleetkeeper/agent.yaml";

    @Test
    void emptyFile_yieldsEveryDefault() {
        AgentConfig config = AgentConfigLoader.parse(SOURCE, "\n");

        assertThat(config).isEqualTo(AgentConfig.defaults(Path.of("/var/lib/fleetkeeper-agent")));
        assertThat(config.controller()).isEqualTo("127.0.0.1:7700");
        assertThat(config.hostId()).isEmpty();
        assertThat(config.labels()).isEmpty();
        assertThat(config.procRoot()).isEqualTo(Path.of("/proc"));
        assertThat(config.scanInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.detailInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.heartbeatInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.reconnectInitialBackoff()).isEqualTo(Duration.ofMillis(500));
        assertThat(config.reconnectMaxBackoff()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void missingKeys_takeDefaults_setKeysWin() {
        AgentConfig config = AgentConfigLoader.parse(SOURCE, "scan:\n  interval: 2s\n");

        AgentConfig defaults = AgentConfig.defaults(Path.of("/var/lib/fleetkeeper-agent"));
        assertThat(config.scanInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.detailInterval()).isEqualTo(defaults.detailInterval());
        assertThat(config.controller()).isEqualTo(defaults.controller());
        assertThat(config.reconnectMaxBackoff()).isEqualTo(defaults.reconnectMaxBackoff());
    }

    @Test
    void everyKey_isParsed() {
        String yaml = String.join("\n",
                "controller: ctl.example.net:7800",
                "hostId: web-1",
                "stateDir: /srv/agent-state",
                "labels: {role: worker, env: prod}",
                "procRoot: /host/proc",
                "scan:",
                "  interval: 250ms",
                "  detailInterval: 2m",
                "heartbeatInterval: 7s",
                "reconnect:",
                "  initialBackoff: 1s",
                "  maxBackoff: 1h",
                "");

        AgentConfig config = AgentConfigLoader.parse(SOURCE, yaml);

        assertThat(config).isEqualTo(new AgentConfig("ctl.example.net:7800", "web-1", Path.of("/srv/agent-state"),
                Map.of("role", "worker", "env", "prod"), Path.of("/host/proc"), Duration.ofMillis(250),
                Duration.ofMinutes(2), Duration.ofSeconds(7), Duration.ofSeconds(1), Duration.ofHours(1), Duration.ofSeconds(5), java.util.List.of()));
    }

    @Test
    void load_readsTheFile_andNamesItWhenMissing(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("agent.yaml");
        Files.writeString(file, "hostId: from-file\n");

        assertThat(AgentConfigLoader.load(file).hostId()).isEqualTo("from-file");
        Path missing = dir.resolve("nope.yaml");
        assertThatThrownBy(() -> AgentConfigLoader.load(missing))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(missing + ": no such file");
    }

    @Test
    void malformedYaml_namesSourceLineAndKey_andWhatTheParserExpected() {
        String yaml = "hostId: a\nlabels: {role: worker\nprocRoot: /proc\n";

        // The unclosed mapping is detected where the next key starts.
        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":3: key 'labels': ")
                .hasMessageContaining("expected ',' or '}'");
    }

    @Test
    void unknownTopLevelKey_namesSourceLineAndKey_andListsKnownKeys() {
        String yaml = "hostId: a\ncontroler: 10.0.0.1:7700\n";

        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":2: unknown key 'controler'")
                .hasMessageContaining("controller");
    }

    @Test
    void unknownKeyBeforeOtherKeys_namesItsOwnLine() {
        String yaml = "controler: 10.0.0.1:7700\nhostId: a\nlabels: {}\nscan:\n  interval: 1s\n";

        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":1: unknown key 'controler'");
    }

    @Test
    void unknownNestedKey_namesItsFullPathAndLine() {
        String yaml = "hostId: a\nscan:\n  interval: 1s\n  intervall: 2s\n";

        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":4: unknown key 'scan.intervall'")
                .hasMessageContaining("detailInterval, interval");
    }

    @Test
    void badDuration_namesSourceLineKeyAndTheExpectedSyntax() {
        String yaml = "hostId: a\nreconnect:\n  initialBackoff: 5x\n";

        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":3: key 'reconnect.initialBackoff'")
                .hasMessageContaining("'5x' is not a duration")
                .hasMessageContaining("30s");
    }

    @Test
    void durationWithoutUnit_isRejected() {
        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, "heartbeatInterval: 5\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":1: key 'heartbeatInterval'")
                .hasMessageContaining("'5' is not a duration");
    }

    @Test
    void wrongType_namesSourceLineAndKey() {
        String yaml = "hostId: a\n\nlabels:\n  - worker\n  - prod\n";

        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":4: key 'labels'");
    }

    @Test
    void sectionGivenAsScalar_namesTheSection() {
        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, "hostId: a\nscan: 1s\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":2: key 'scan'");
        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, "hostId: [a, b]\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":1: key 'hostId'");
    }

    @Test
    void maxBackoffBelowInitialBackoff_namesSourceLineAndKey() {
        String yaml = "hostId: a\nreconnect:\n  initialBackoff: 5s\n  maxBackoff: 1s\n";

        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":4: reconnect.maxBackoff: 1s")
                .hasMessageContaining("expected: >= reconnect.initialBackoff 5s");
    }

    @Test
    void maxBackoffBelowTheDefaultInitialBackoff_isRejectedToo() {
        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, "reconnect:\n  maxBackoff: 100ms\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":2: reconnect.maxBackoff: 100ms");
    }

    @Test
    void zeroInterval_namesSourceLineAndKey() {
        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, "hostId: a\nscan:\n  interval: 0s\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":3: scan.interval: 0s (expected: > 0)");
    }

    @Test
    void controllerWithoutPort_namesSourceLineAndKey() {
        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, "controller: ctl.example.net\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":1: controller: 'ctl.example.net' (expected: host:port");
    }

    @Test
    void commentsOnly_yieldsEveryDefault() {
        AgentConfig config = AgentConfigLoader.parse(SOURCE, "# controller: 10.0.0.1:7700\n#scan:\n#  interval: 2s\n");

        assertThat(config).isEqualTo(AgentConfig.defaults(Path.of("/var/lib/fleetkeeper-agent")));
    }

    @Test
    void labelWithoutValue_namesSourceLineAndKey() {
        assertThatThrownBy(() -> AgentConfigLoader.parse(SOURCE, "hostId: a\nlabels:\n  role: web\n  env:\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":4: key 'labels.env': expected a label value");
    }
}
