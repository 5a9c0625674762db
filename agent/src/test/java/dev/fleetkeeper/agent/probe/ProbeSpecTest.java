package dev.fleetkeeper.agent.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ProbeSpecTest {

    @Test
    void parse_readsTcpHttpAndAPath_andWritesThemBackTheSame() {
        assertThat(ProbeSpec.parse("tcp")).isEqualTo(new ProbeSpec(ProbeSpec.Kind.TCP, ""));
        assertThat(ProbeSpec.parse(" HTTP ")).isEqualTo(new ProbeSpec(ProbeSpec.Kind.HTTP, "/"));
        assertThat(ProbeSpec.parse("http:/healthz?deep=1")).hasToString("http:/healthz?deep=1");
        assertThat(ProbeSpec.parse("")).isNull();
    }

    @Test
    void parse_refusesWhatIsNotAProbe_sayingWhatIsExpected() {
        assertThatThrownBy(() -> ProbeSpec.parse("grpc")).hasMessageContaining("'grpc'").hasMessageContaining("\"tcp\"");
        assertThatThrownBy(() -> ProbeSpec.parse("http:healthz")).hasMessageContaining("starting with '/'");
        assertThatThrownBy(() -> ProbeSpec.parse("http:/a b")).hasMessageContaining("without spaces");
    }
}
