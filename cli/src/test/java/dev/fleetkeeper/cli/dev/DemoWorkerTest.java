package dev.fleetkeeper.cli.dev;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The dev demo worker as a rollout sees it: it tells its version, and a bad release fails at start. */
@Timeout(60)
class DemoWorkerTest {

    private static Process start(int port, Map<String, String> env) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                DemoWorker.class.getName(), Integer.toString(port), "demo-web#0")
                .redirectErrorStream(true);
        pb.environment().putAll(env);
        return pb.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void answersWithItsNameAndTheVersionItWasStartedWith() throws Exception {
        int port = freePort();
        Process p = start(port, Map.of("FLEETKEEPER_VERSION", "2"));
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            String body = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (body == null && System.nanoTime() < deadline) {
                try {
                    body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).build(),
                            HttpResponse.BodyHandlers.ofString()).body();
                } catch (IOException notYet) {
                    Thread.sleep(100);
                }
            }
            assertThat(body).isEqualTo("demo-web#0 v2 ok\n");
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aBrokenReleaseFailsAtStartUp_withAReason() throws Exception {
        Process p = start(freePort(), Map.of("DEMO_FAIL_ON_START", "1"));
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(3);
        assertThat(new String(p.getInputStream().readAllBytes())).contains("failing at start-up");
    }
}
