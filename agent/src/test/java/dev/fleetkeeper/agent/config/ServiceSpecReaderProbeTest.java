package dev.fleetkeeper.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.probe.ProbeSpec;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The {@code probe:} key of a service entry: the health probe the agent runs on each instance. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ServiceSpecReaderProbeTest {

    private static final String SOURCE = ServiceEntries.SOURCE;

    private static ServiceDeclaration only(String... extraLines) {
        return ServiceEntries.only("web", List.of("driver: builtin", "command: /usr/bin/node"), extraLines);
    }

    @Test
    void anHttpProbe_onAServiceWithPorts_isRead() {
        ServiceDeclaration d = only("ports: [8080]", "probe: http:/healthz");

        assertThat(d.error()).isNull();
        assertThat(d.spec().probe()).isEqualTo(new ProbeSpec(ProbeSpec.Kind.HTTP, "/healthz"));
    }

    @Test
    void noProbeKey_meansNoProbe() {
        assertThat(only("ports: [8080]").spec().probe()).isNull();
    }

    @Test
    void aProbeWithoutPorts_orOfAnUnknownKind_isRejected_withFileLineAndKey() {
        ServiceDeclaration noPorts = only("probe: tcp");
        assertThat(noPorts.isValid()).isFalse();
        assertThat(noPorts.error()).startsWith(SOURCE + ":5:").contains("probe: 'tcp' needs a port to probe");

        ServiceDeclaration shared = only("instances: 2", "ports: [8080]", "portStride: 0", "probe: tcp");
        assertThat(shared.isValid()).isFalse();
        assertThat(shared.error()).contains("probe: 'tcp' cannot tell the instances apart: they share their ports");

        ServiceDeclaration unknown = only("ports: [8080]", "probe: grpc");
        assertThat(unknown.isValid()).isFalse();
        assertThat(unknown.error()).startsWith(SOURCE + ":6:").contains("probe: 'grpc'")
                .contains("\"http:/path\"");
    }
}
