package dev.fleetkeeper.cli.dev;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * The demo service that {@code fleetkeeper dev} starts: a tiny HTTP server on a loopback port
 * that answers with its name and version. Run as its own process ({@code java -cp ... DemoWorker
 * PORT NAME}) so that the agent sees a real service process and its listener.
 *
 * <p>A rollout can give it a release that misbehaves, through its environment:
 * {@code DEMO_FAIL_ON_START=1} exits at once (a broken build: the canary fails),
 * {@code DEMO_EXTRA_MIB=N} holds N MiB more from the start (a release whose memory baseline
 * regressed), {@code DEMO_UNHEALTHY=1} starts and listens but answers 503 on {@code /healthz}
 * (a release that cannot reach its database). {@code GET /healthz} answers 200 otherwise.
 */
public final class DemoWorker {

    private DemoWorker() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        // Under the built-in driver: DEMO_BASE_PORT plus this instance's index; else PORT [NAME].
        String base = System.getenv("DEMO_BASE_PORT");
        String index = System.getenv("FLEETKEEPER_INSTANCE");
        int port = base != null && index != null ? Integer.parseInt(base) + Integer.parseInt(index)
                : Integer.parseInt(args[0]);
        String name = base != null && index != null ? "demo-web#" + index : args.length > 1 ? args[1] : "demo";
        if ("1".equals(System.getenv("DEMO_FAIL_ON_START"))) {
            System.err.println(name + ": DEMO_FAIL_ON_START=1: failing at start-up, as a broken release would");
            System.exit(3);
        }
        String extra = System.getenv("DEMO_EXTRA_MIB");
        if (extra != null && !extra.isBlank()) {
            holdForever(Integer.parseInt(extra.trim()));
        }
        String version = System.getenv().getOrDefault("FLEETKEEPER_VERSION", "");
        String dir = System.getenv("DEMO_DIR");
        if (dir != null && index != null) {
            // The pidfile the service declares, as a daemon would write it.
            java.nio.file.Path pidfile = java.nio.file.Path.of(dir, "demo-web-" + index + ".pid");
            java.nio.file.Files.writeString(pidfile, ProcessHandle.current().pid() + "\n");
            // A well-behaved daemon removes it when stopped; one that crashes leaves it stale.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> pidfile.toFile().delete()));
        }
        boolean unhealthy = "1".equals(System.getenv("DEMO_UNHEALTHY"));
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        server.createContext("/healthz", exchange -> {
            byte[] body = (unhealthy ? "unhealthy: DEMO_UNHEALTHY=1\n" : "ok\n").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(unhealthy ? 503 : 200, body.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(body);
            }
        });
        server.createContext("/", exchange -> {
            byte[] body = (name + (version.isEmpty() ? "" : " v" + version) + " ok\n").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(body);
            }
        });
        server.start();
        System.out.println(name + " listening on 127.0.0.1:" + port);
        String leak = System.getenv("DEMO_LEAK_INSTANCE");
        if (leak != null && leak.equals(index)) {
            leakForever(name);
        }
        CountDownLatch forever = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop(0);
            forever.countDown();
        }));
        forever.await();
    }

    /** Allocates and touches {@code mib} MiB that stay resident for the life of the process. */
    private static final java.util.List<byte[]> HELD = new java.util.ArrayList<>();

    private static void holdForever(int mib) {
        for (int i = 0; i < mib; i++) {
            byte[] b = new byte[1 << 20];
            java.util.Arrays.fill(b, (byte) 1);
            HELD.add(b);
        }
    }

    /** Keeps every request's "session" forever: 1 MiB a second, the slow leak of incident 2. */
    private static void leakForever(String name) {
        java.util.List<byte[]> sessions = new java.util.ArrayList<>();
        Thread t = new Thread(() -> {
            try {
                for (int n = 1; ; n++) {
                    byte[] b = new byte[1 << 20];
                    java.util.Arrays.fill(b, (byte) n); // touch every page: resident
                    sessions.add(b);
                    if (n % 30 == 0) {
                        System.out.println(name + " keeps " + n + " MiB of sessions it never frees");
                    }
                    Thread.sleep(1000);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "leak");
        t.setDaemon(true);
        t.start();
    }
}
