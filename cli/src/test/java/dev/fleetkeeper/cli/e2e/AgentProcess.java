package dev.fleetkeeper.cli.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * An agent in its own JVM ({@code AgentMain --config}), so that a test can SIGKILL it and start
 * it again on the same state directory. Its output goes to {@code agent.log} in its directory.
 * {@link #close()} kills it if it still runs.
 */
final class AgentProcess implements AutoCloseable {

    private final Path dir;
    private final Path config;
    private Process process;

    /** Writes a config for {@code controller} with state in {@code dir/state} and short intervals; no hostId. */
    AgentProcess(Path dir, String controller) throws IOException {
        this(dir, controller, "");
    }

    /** Like {@link #AgentProcess(Path, String)}, with {@code extraYaml} (e.g. a {@code services:} block) appended. */
    AgentProcess(Path dir, String controller, String extraYaml) throws IOException {
        this.dir = dir;
        this.config = dir.resolve("agent.yaml");
        Files.createDirectories(dir);
        Files.writeString(config, "controller: " + controller + "\n"
                + "stateDir: " + stateDir() + "\n"
                + "labels: {fleet: killed}\n"
                + "scan:\n"
                + "  interval: 500ms\n"
                + "heartbeatInterval: 500ms\n"
                + "reconnect:\n"
                + "  initialBackoff: 100ms\n"
                + "  maxBackoff: 500ms\n"
                + extraYaml);
    }

    Path stateDir() {
        return dir.resolve("state");
    }

    void start() throws IOException {
        process = new ProcessBuilder(JavaMain.command("dev.fleetkeeper.agent.AgentMain", "--config", config.toString()))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("agent.log").toFile()))
                .start();
    }

    boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** SIGKILL: no shutdown hook runs, nothing is flushed or closed. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("agent " + process.pid() + " survived SIGKILL for 20 s");
        }
    }

    String log() throws IOException {
        Path log = dir.resolve("agent.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Override
    public void close() {
        if (isAlive()) {
            try {
                kill();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
