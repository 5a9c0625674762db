package dev.fleetkeeper.agent.probe;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The prober against real sockets and a real HTTP server on loopback. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProberTest {

    private final Prober prober = new Prober(Duration.ofMillis(500));

    @Test
    void tcp_passesWhenEveryPortAccepts_andNamesThePortThatRefuses() throws Exception {
        try (ServerSocket a = listen(); ServerSocket b = listen()) {
            Prober.Outcome ok = prober.run(ProbeSpec.parse("tcp"), List.of(a.getLocalPort(), b.getLocalPort()));
            assertThat(ok.ok()).as(ok.detail()).isTrue();
            assertThat(ok.detail()).contains(":" + a.getLocalPort()).contains(":" + b.getLocalPort());

            int closed = closedPort();
            Prober.Outcome refused = prober.run(ProbeSpec.parse("tcp"), List.of(a.getLocalPort(), closed));
            assertThat(refused.ok()).isFalse();
            assertThat(refused.detail()).isEqualTo("connection refused on :" + closed);
        }
    }

    @Test
    void http_passesOn2xx_failsOn5xxAnd404_onTheFirstPortAndThePath() throws Exception {
        AtomicInteger status = new AtomicInteger(200);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            int code = ex.getRequestURI().getPath().equals("/healthz") ? status.get() : 404;
            ex.sendResponseHeaders(code, -1);
            ex.close();
        });
        server.start();
        try {
            int port = server.getAddress().getPort();
            Prober.Outcome ok = prober.run(ProbeSpec.parse("http:/healthz"), List.of(port, closedPort()));
            assertThat(ok).isEqualTo(new Prober.Outcome(true, "HTTP 200 from :" + port + "/healthz"));

            status.set(503);
            assertThat(prober.run(ProbeSpec.parse("http:/healthz"), List.of(port)))
                    .isEqualTo(new Prober.Outcome(false, "HTTP 503 from :" + port + "/healthz"));
            assertThat(prober.run(ProbeSpec.parse("http:/other"), List.of(port)).ok()).isFalse();
        } finally {
            server.stop(0);
        }
    }

    @Test
    void http_givesUpAfterTheTimeout_onAnInstanceThatAcceptsButNeverAnswers() throws Exception {
        try (ServerSocket silent = listen()) {
            Prober.Outcome o = prober.run(ProbeSpec.parse("http:/healthz"), List.of(silent.getLocalPort()));
            assertThat(o.ok()).isFalse();
            assertThat(o.detail()).isEqualTo("no answer on :" + silent.getLocalPort() + " within 500 ms (GET /healthz)");
        }
    }

    @Test
    void anInstanceWithoutPorts_failsItsProbe_sayingWhy() {
        assertThat(prober.run(ProbeSpec.parse("tcp"), List.of()))
                .isEqualTo(new Prober.Outcome(false, "no port declared to probe"));
    }

    private static ServerSocket listen() throws Exception {
        return new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }

    private static int closedPort() throws Exception {
        try (ServerSocket s = listen()) {
            return s.getLocalPort();
        }
    }
}
