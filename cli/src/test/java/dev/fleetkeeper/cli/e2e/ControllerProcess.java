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
    private Process process;

    ControllerProcess(Path dir) throws IOException {
        this.dir = dir;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            this.port = s.getLocalPort();
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("controller.yaml"), "listen: 127.0.0.1:" + port + "\n"
                + "dataDir: " + dir.resolve("data") + "\n"
                + "offlineGrace: 3s\n"
                + "heartbeatInterval: 500ms\n"
                + "checkpointInterval: 1s\n"
                + "metrics: {listen: \"\"}\n");
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
