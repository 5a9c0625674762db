package dev.fleetkeeper.agent.doctor;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Real processes for diagnostics tests, started with python3 and stopped by {@link #close()}:
 * every process a test starts, and every descendant it leaves behind (found by the marker
 * {@code FLEETKEEPER_TEST_RUN} in their environment, since orphans leave the test's tree).
 */
final class LiveProcesses {

    private final String run = "run-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    private final List<Process> started = new ArrayList<>();

    /** A free loopback port (bound and released). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts python3 running {@code script} with extra {@code env}. */
    Process python(String script, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/python3", "-c", script)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().putAll(env);
        pb.environment().put("FLEETKEEPER_TEST_RUN", run);
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /** A script that listens on 127.0.0.1:{@code port} and sleeps. */
    static String listener(int port) {
        return "import socket, time\n"
                + "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                + "s.bind(('127.0.0.1', " + port + ")); s.listen(8)\n"
                + "time.sleep(600)\n";
    }

    /**
     * A script whose child listens on {@code port} after its parent exits, so that the child is
     * re-parented (an orphan); writes the child's pid to {@code pidOut}.
     */
    static String orphanListener(int port, Path pidOut) {
        return "import os, socket, time\n"
                + "pid = os.fork()\n"
                + "if pid == 0:\n"
                + "    time.sleep(0.3)\n"
                + "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                + "    s.bind(('127.0.0.1', " + port + ")); s.listen(8)\n"
                + "    open('" + pidOut + "', 'w').write(str(os.getpid()))\n"
                + "    time.sleep(600)\n"
                + "else:\n"
                + "    os._exit(0)\n";
    }

    /** A script that forks a child that exits at once and never reaps it (a zombie). */
    static String zombieParent() {
        return "import os, time\n"
                + "if os.fork() == 0:\n"
                + "    os._exit(3)\n"
                + "time.sleep(600)\n";
    }

    static void awaitListening(int port) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                return s.isConnected();
            } catch (IOException e) {
                return false;
            }
        });
    }

    static int awaitPidFile(Path file) {
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(file) && !Files.readString(file).isBlank());
        try {
            return Integer.parseInt(Files.readString(file).trim());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Pids of live processes carrying this run's marker. */
    Set<Long> markedPids() {
        Set<Long> out = new HashSet<>();
        try (var dirs = Files.list(Path.of("/proc"))) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                String name = d.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String env = new String(Files.readAllBytes(d.resolve("environ")));
                    if (env.contains("FLEETKEEPER_TEST_RUN=" + run)) {
                        out.add(Long.parseLong(name));
                    }
                } catch (IOException e) {
                    // gone or unreadable
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** Stops everything this run started, orphans included. */
    void close() throws InterruptedException {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (long pid : markedPids()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        for (Process p : started) {
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
