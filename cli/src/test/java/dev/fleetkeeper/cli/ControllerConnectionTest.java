package dev.fleetkeeper.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class ControllerConnectionTest {
    private FakeController controller;

    @BeforeEach
    void start() throws IOException {
        controller = new FakeController();
    }

    @AfterEach
    void stop() {
        controller.close();
    }

    /** A loopback port nothing listens on: bound, then released. */
    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @Test
    void unreachableController_exits2_withOneStderrLineNamingTheAddress() throws IOException {
        String address = "127.0.0.1:" + closedPort();

        CliRun.Result result = CliRun.run(address, "hosts");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.out()).isEmpty();
        assertThat(result.errLines()).hasSize(1);
        assertThat(result.err())
                .startsWith("fleetkeeper: cannot reach the controller at " + address + " (connection refused).")
                .contains("fleetkeeper dev", "--controller HOST:PORT", "FLEETKEEPER_CONTROLLER")
                .doesNotContain("Exception", "\tat ");
    }

    @Test
    void unreachableController_whileFollowingEvents_exits2_withOneLine() throws IOException {
        String address = "127.0.0.1:" + closedPort();

        CliRun.Result result = CliRun.run(address, "events", "--follow", "--json");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.errLines()).singleElement().asString().contains("cannot reach the controller at " + address);
    }

    @Test
    void silentController_exits2_afterTheTimeout_sayingSo() throws IOException {
        // Something listens but never speaks HTTP/2: the call can only end by its deadline.
        try (ServerSocket silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            List<Socket> accepted = new CopyOnWriteArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        accepted.add(silent.accept());
                    }
                } catch (IOException closed) {
                    // The test is over.
                }
            });
            acceptor.start();
            String address = "127.0.0.1:" + silent.getLocalPort();

            CliRun.Result result = CliRun.run(address, "hosts", "--timeout", "300ms");

            assertThat(result.exitCode()).isEqualTo(2);
            assertThat(result.errLines()).singleElement().asString()
                    .isEqualTo("fleetkeeper: the controller at " + address + " did not answer within 300ms. "
                            + "Is it running and reachable from here? "
                            + "Pass --timeout for a slow link, or --controller HOST:PORT / set FLEETKEEPER_CONTROLLER.");
            for (Socket socket : accepted) {
                socket.close();
            }
        }
    }

    @Test
    void unknownHost_exits1_withTheServersMessageOnOneLine() {
        CliRun.Result result = CliRun.run(controller.address(), "ps", "nope");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.out()).isEmpty();
        assertThat(result.errLines()).containsExactly(
                "fleetkeeper: no host 'nope' (known: db-1, web-1); list them with 'fleetkeeper hosts'");
    }

    @Test
    void unknownFlag_exits2_withUsageOnStderr() {
        CliRun.Result result = CliRun.run(controller.address(), "ps", "web-1", "--bogus");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.out()).isEmpty();
        assertThat(result.err()).contains("Unknown option: '--bogus'").contains("Usage: fleetkeeper ps");
    }

    @Test
    void badOptionValue_exits2_sayingWhatWasExpected() {
        CliRun.Result result = CliRun.run(controller.address(), "ps", "web-1", "--sort", "size");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("'size' (expected: one of mem, cpu, pid)").contains("Usage:");
    }

    @Test
    void negativeLimit_isAUsageError() {
        CliRun.Result result = CliRun.run(controller.address(), "top", "-n", "-1");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("-n: -1 (expected: >= 0").contains("Usage: fleetkeeper top");
    }

    @Test
    void noCommand_exits2_withUsage() {
        CliRun.Result result = CliRun.run(controller.address());

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("Usage: fleetkeeper").contains("hosts").contains("events");
    }

    @Test
    void controllerOption_afterTheCommand_winsOverTheOneBefore_andTheEnvironment() throws IOException {
        String dead = "127.0.0.1:" + closedPort();

        CliRun.Result result = CliRun.run(Map.of(CliEnvironment.CONTROLLER_VARIABLE, dead),
                "--controller", dead, "hosts", "--controller", controller.address());

        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).contains("web-1");
    }

    @Test
    void controllerOption_beforeTheCommand_winsOverTheEnvironment() throws IOException {
        String dead = "127.0.0.1:" + closedPort();

        CliRun.Result result = CliRun.run(Map.of(CliEnvironment.CONTROLLER_VARIABLE, dead),
                "--controller", controller.address(), "hosts");

        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).contains("web-1");
    }

    @Test
    void withoutOptionOrEnvironment_theDefaultAddressIsNamed() {
        // Nothing is expected to listen on 127.0.0.1:7700 on a build machine; if something does, the
        // call still must not say another address.
        CliRun.Result result = CliRun.run(Map.of(), "hosts", "--timeout", "2s");

        if (result.exitCode() != 0) {
            assertThat(result.err()).contains("127.0.0.1:7700");
        }
    }

    @Test
    void malformedEnvironmentAddress_exits2_namingTheVariable() {
        CliRun.Result result = CliRun.run(Map.of(CliEnvironment.CONTROLLER_VARIABLE, "web-1:http"), "hosts");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.errLines()).singleElement().asString()
                .startsWith("fleetkeeper: FLEETKEEPER_CONTROLLER: 'web-1:http' is not a controller address");
    }

    @Test
    void version_printsTheNameAndTheJvm() {
        CliRun.Result result = CliRun.run(controller.address(), "--version");

        assertThat(result.exitCode()).isZero();
        assertThat(result.lines().get(0)).startsWith("fleetkeeper ");
        assertThat(result.out()).contains("JVM: ");
    }

    @Test
    void help_listsEveryCommand_includingDevAndBench() {
        CliRun.Result result = CliRun.run(controller.address(), "--help");

        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).contains("hosts", "ps", "ports", "top", "events", "dev", "bench", "Exit status");
    }
}
