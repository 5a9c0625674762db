package dev.fleetkeeper.cli.e2e;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A controller in its own JVM ({@code ControllerMain}), so that a test can kill it with SIGKILL
 * and start it again on the same data. {@link #close()} kills it if it still runs.
 */
final class ControllerProcess implements AutoCloseable {

    private final Path dir;
    private final int port;
    private final int metricsPort;
    private Process process;

    ControllerProcess(Path dir) throws IOException {
        this(dir, dir.resolve("data"), false);
    }

    /** Keeps its data in {@code dataDir}; with {@code metrics}, serves /metrics on loopback. */
    ControllerProcess(Path dir, Path dataDir, boolean metrics) throws IOException {
        this.dir = dir;
        this.port = freePort();
        this.metricsPort = metrics ? freePort() : -1;
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("controller.yaml"), "listen: 127.0.0.1:" + port + "\n"
                + "dataDir: " + dataDir + "\n"
                + "offlineGrace: 3s\n"
                + "heartbeatInterval: 500ms\n"
                + "checkpointInterval: 1s\n"
                + "metrics: {listen: \"" + (metrics ? "127.0.0.1:" + metricsPort : "") + "\"}\n");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The value of a counter on /metrics (Prometheus name), or -1 when it is not there yet. */
    double metric(String prometheusName) throws IOException {
        java.net.URL url = java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics").toURL();
        String text;
        try (java.io.InputStream in = url.openStream()) {
            text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        for (String line : text.split("\n")) {
            if (line.startsWith(prometheusName + " ") || line.startsWith(prometheusName + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return -1;
    }

    boolean isAlive() {
        return process != null && process.isAlive();
    }

    String target() {
        return "127.0.0.1:" + port;
    }

    /** Starts the controller and waits until it accepts connections. */
    void start() throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        process = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), "dev.fleetkeeper.controller.ControllerMain",
                "--config", dir.resolve("controller.yaml").toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("controller.log").toFile()))
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("controller exited with " + process.exitValue() + ":\n"
                        + Files.readString(dir.resolve("controller.log")));
            }
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        throw new IOException("controller did not listen on " + target() + " within 60 s");
    }

    /** SIGKILL: no shutdown hook, no flush, no close. */
    void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    String log() throws IOException {
        return Files.readString(dir.resolve("controller.log"));
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            kill();
        }
    }
}
