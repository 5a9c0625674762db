package dev.fleetkeeper.cli.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ControllerAddressTest {
    @Test
    void parse_acceptsHostPort_bracketedIpv6_andABareHost() {
        assertThat(ControllerAddress.parse("10.0.0.5:7700")).isEqualTo(new ControllerAddress("10.0.0.5", 7700));
        assertThat(ControllerAddress.parse("ctl.example.org:9000")).isEqualTo(new ControllerAddress("ctl.example.org", 9000));
        assertThat(ControllerAddress.parse("[::1]:7701")).isEqualTo(new ControllerAddress("::1", 7701));
        assertThat(ControllerAddress.parse("ctl")).isEqualTo(new ControllerAddress("ctl", 7700));
    }

    @Test
    void toString_isTheGrpcTarget_bracketingIpv6() {
        assertThat(new ControllerAddress("::1", 7700)).hasToString("[::1]:7700");
        assertThat(ControllerAddress.DEFAULT).hasToString("127.0.0.1:7700");
    }

    @Test
    void parse_rejectsMalformedAddresses_sayingWhatWasExpected() {
        for (String bad : new String[] {"", ":7700", "host:", "host:http", "host:70000", "::1", "[::1", "a b:1"}) {
            assertThatThrownBy(() -> ControllerAddress.parse(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("(expected: HOST:PORT");
        }
    }
}
