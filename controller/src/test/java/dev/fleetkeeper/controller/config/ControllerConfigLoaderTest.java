package dev.fleetkeeper.controller.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ControllerConfigLoaderTest {

    private static final String SOURCE = "/etc/fleetkeeper/controller.yaml";

    @Test
    void emptyFile_yieldsEveryDefault() {
        ControllerConfig config = ControllerConfigLoader.parse(SOURCE, "");

        assertThat(config).isEqualTo(ControllerConfig.defaults(Path.of("/var/lib/fleetkeeper")));
        assertThat(config.listen()).isEqualTo("0.0.0.0:7700");
        assertThat(config.offlineGrace()).isEqualTo(Duration.ofSeconds(15));
        assertThat(config.heartbeatInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.memoryRetention()).isEqualTo(Duration.ofHours(48));
        assertThat(config.eventRetention()).isEqualTo(Duration.ofDays(14));
        assertThat(config.syncWrites()).isTrue();
        assertThat(config.metricsListen()).isEqualTo("127.0.0.1:7701");
    }

    @Test
    void missingKeys_takeDefaults_setKeysWin() {
        ControllerConfig config = ControllerConfigLoader.parse(SOURCE, "retention:\n  memory: 12h\n");

        assertThat(config.memoryRetention()).isEqualTo(Duration.ofHours(12));
        assertThat(config.eventRetention()).isEqualTo(Duration.ofDays(14));
        assertThat(config.listen()).isEqualTo("0.0.0.0:7700");
    }

    @Test
    void everyKey_isParsed() {
        String yaml = String.join("\n",
                "listen: 10.0.0.5:7800",
                "dataDir: /srv/fleetkeeper",
                "offlineGrace: 40s",
                "scanInterval: 2s",
                "detailInterval: 1m",
                "heartbeatInterval: 10s",
                "checkpointInterval: 20s",
                "memoryResolution: 5s",
                "retention:",
                "  memory: 72h",
                "  events: 30d",
                "store:",
                "  sync: false",
                "metrics:",
                "  listen: \"\"",
                "");

        ControllerConfig config = ControllerConfigLoader.parse(SOURCE, yaml);

        assertThat(config).isEqualTo(new ControllerConfig("10.0.0.5:7800", Path.of("/srv/fleetkeeper"),
                Duration.ofSeconds(40), Duration.ofSeconds(2), Duration.ofMinutes(1), Duration.ofSeconds(10),
                Duration.ofSeconds(20), Duration.ofSeconds(5), Duration.ofHours(72), Duration.ofDays(30), false, ""));
    }

    @Test
    void load_readsTheFile_andNamesItWhenMissing(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("controller.yaml");
        Files.writeString(file, "dataDir: /data\n");

        assertThat(ControllerConfigLoader.load(file).dataDir()).isEqualTo(Path.of("/data"));
        assertThatThrownBy(() -> ControllerConfigLoader.load(dir.resolve("nope.yaml")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(dir.resolve("nope.yaml") + ": no such file");
    }

    @Test
    void malformedYaml_namesSourceLineAndKey() {
        String yaml = "dataDir: /data\nretention: {memory: 48h]\nlisten: 0.0.0.0:7700\n";

        assertThatThrownBy(() -> ControllerConfigLoader.parse(SOURCE, yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":2: ")
                .hasMessageContaining("retention")
                .hasMessageContaining("expected ',' or '}'");
    }

    @Test
    void unknownKey_namesSourceItsOwnLineAndKey() {
        String yaml = "listne: 0.0.0.0:7700\ndataDir: /data\nofflineGrace: 30s\n";

        assertThatThrownBy(() -> ControllerConfigLoader.parse(SOURCE, yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":1: unknown key 'listne'")
                .hasMessageContaining("known keys here: checkpointInterval, dataDir");
    }

    @Test
    void unknownNestedKey_namesItsFullPathAndLine() {
        String yaml = "retention:\n  memroy: 48h\n  events: 14d\n";

        assertThatThrownBy(() -> ControllerConfigLoader.parse(SOURCE, yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":2: unknown key 'retention.memroy'")
                .hasMessageContaining("(known keys here: events, memory)");
    }

    @Test
    void badDuration_namesSourceLineAndKey() {
        assertThatThrownBy(() -> ControllerConfigLoader.parse(SOURCE, "dataDir: /d\nofflineGrace: 5x\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":2: key 'offlineGrace'")
                .hasMessageContaining("'5x' is not a duration");
    }

    @Test
    void wrongType_namesSourceLineAndKey() {
        assertThatThrownBy(() -> ControllerConfigLoader.parse(SOURCE, "dataDir: /d\nstore:\n  sync: maybe\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":3: key 'store.sync'");
        assertThatThrownBy(() -> ControllerConfigLoader.parse(SOURCE, "listen: [a, b]\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":1: key 'listen'");
    }

    @Test
    void offlineGraceNotAboveHeartbeatInterval_isRejected_namingLineAndKey() {
        String equal = "heartbeatInterval: 10s\nofflineGrace: 10s\n";
        String below = "offlineGrace: 3s\n";

        assertThatThrownBy(() -> ControllerConfigLoader.parse(SOURCE, equal))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":2: offlineGrace: 10s (expected: > heartbeatInterval 10s");
        assertThatThrownBy(() -> ControllerConfigLoader.parse(SOURCE, below))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":1: offlineGrace: 3s (expected: > heartbeatInterval 5s");
        assertThat(ControllerConfigLoader.parse(SOURCE, "heartbeatInterval: 10s\nofflineGrace: 11s\n").offlineGrace())
                .isEqualTo(Duration.ofSeconds(11));
    }

    @Test
    void badMetricsAddress_namesSourceLineAndKey() {
        assertThatThrownBy(() -> ControllerConfigLoader.parse(SOURCE, "dataDir: /d\nmetrics:\n  listen: localhost\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(SOURCE + ":3: metrics.listen: 'localhost'");
    }
}
