package dev.fleetkeeper.agent.manage;

import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.doctor.Finding;
import dev.fleetkeeper.agent.doctor.HostFacts;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.telemetry.HostScan;
import dev.fleetkeeper.agent.telemetry.ProcScanner;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The pieces of incident 1, for real, and an agent's service manager scanning {@code /proc}
 * every 200 ms: helpers shared by the replays under each driver. Stops everything it started,
 * orphans included (found by the run marker in their environment).
 */
final class IncidentReplay {

    static final String PYTHON = "/usr/bin/python3";
    private static final java.util.concurrent.atomic.AtomicInteger NAMES = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * A service name no other process on this machine carries: tests of other checkouts may run
     * at the same time, and a service's marker is what makes a process the service's.
     */
    static String unique(String base) {
        return base + "-" + ProcessHandle.current().pid() + "-" + NAMES.incrementAndGet();
    }

    final String run = "replay-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    final List<Process> started = new ArrayList<>();
    final List<ServiceEvent> events = new CopyOnWriteArrayList<>();
    final AtomicReference<HostScan> scan = new AtomicReference<>();
    private final ProcScanner scanner = ProcScanner.forThisHost(InstantSource.system());
    private final ScheduledExecutorService scans = Executors.newSingleThreadScheduledExecutor();
    ServiceManager manager;

    IncidentReplay() {
        scans.scheduleWithFixedDelay(() -> scan.set(scanner.scan()), 0, 200, TimeUnit.MILLISECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> scan.get() != null);
    }

    ServiceManager start(List<ServiceDeclaration> declarations, DriverFactory drivers) {
        return start(declarations, drivers, null);
    }

    /** As above, keeping memory baselines in {@code baselineDir}. */
    ServiceManager start(List<ServiceDeclaration> declarations, DriverFactory drivers, Path baselineDir) {
        return start(declarations, drivers, baselineDir, null);
    }

    /** As above, also keeping each instance's release in {@code releaseDir}. */
    ServiceManager start(List<ServiceDeclaration> declarations, DriverFactory drivers, Path baselineDir,
                         Path releaseDir) {
        manager = new ServiceManager(declarations, drivers, new HostFacts(Path.of("/proc")), scan::get,
                InstantSource.system(), Duration.ofMillis(300), "web-1", events::add, r -> { }, baselineDir, releaseDir);
        manager.start();
        return manager;
    }

    /** Instances of the first service running with a process, in {@code m}'s newest report. */
    static int running(ServiceManager m) {
        ServicesReport r = m.lastReport();
        return r == null ? 0 : (int) r.services().get(0).instances().stream()
                .filter(v -> v.status().state() == ManagerState.RUNNING && v.process() != null).count();
    }

    /** Instance {@code instance} of the first service in {@code m}'s newest report, or null before one. */
    static InstanceView view(ServiceManager m, int instance) {
        ServicesReport r = m.lastReport();
        return r == null ? null : r.services().get(0).instances().stream()
                .filter(v -> v.status().instance() == instance).findFirst().orElse(null);
    }

    /** The service's program: writes into its app dir and pidfile, listens, leaves a zombie child. */
    static Path writeWorker(Path dir) throws IOException {
        Path script = dir.resolve("worker.py");
        Files.writeString(script, String.join("\n",
                "import os, socket, sys, time",
                "app, port = sys.argv[1], int(sys.argv[2])",
                "open(os.path.join(app, 'started'), 'w').write('ok')",
                "open(os.path.join(app, 'web.pid'), 'w').write(str(os.getpid()))",
                "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
                "s.bind(('127.0.0.1', port)); s.listen(8)",
                "if os.fork() == 0:",
                "    os._exit(0)  # never reaped: a zombie under the instance",
                "print('web listening on', port, flush=True)",
                "time.sleep(600)",
                ""));
        return script;
    }

    /** An "old release" process of {@code service}: its child listens on {@code port} after the parent exits. */
    int oldReleaseOrphan(String service, Map<String, String> markers, int port, Path dir) throws IOException {
        Path pidOut = dir.resolve("orphan-" + port + ".pid");
        String script = "import os, socket, time\n"
                + "if os.fork() == 0:\n"
                + "    time.sleep(0.2)\n"
                + "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                + "    s.bind(('127.0.0.1', " + port + ")); s.listen(8)\n"
                + "    open('" + pidOut + "', 'w').write(str(os.getpid()))\n"
                + "    time.sleep(600)\n"
                + "else:\n"
                + "    os._exit(0)\n";
        Process p = python(script, markers);
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(pidOut) && !Files.readString(pidOut).isBlank());
        awaitListening(port);
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Integer.parseInt(Files.readString(pidOut).trim());
    }

    /** A process with no marker listening on {@code port}. */
    Process foreignListener(int port) throws IOException {
        Process p = python("import socket, time\n"
                + "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                + "s.bind(('127.0.0.1', " + port + ")); s.listen(8)\n"
                + "time.sleep(600)\n", Map.of());
        awaitListening(port);
        return p;
    }

    /** A pid that was just used and is now free. */
    int deadPid() throws IOException, InterruptedException {
        Process p = python("pass", Map.of());
        p.waitFor();
        return (int) p.pid();
    }

    Process python(String script, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(PYTHON, "-c", script)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().putAll(env);
        pb.environment().put("FLEETKEEPER_TEST_RUN", run);
        Process p = pb.start();
        started.add(p);
        return p;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static void awaitListening(int port) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> listening(port));
    }

    static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return s.isConnected();
        } catch (IOException e) {
            return false;
        }
    }

    static boolean isRunning(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }

    List<ServiceEvent> events(String service, ServiceEvent.Kind kind) {
        return events.stream().filter(e -> e.service().equals(service) && e.kind() == kind).toList();
    }

    static List<Finding> findings(ServiceManager m, String service) {
        ServicesReport r = m.lastReport();
        if (r == null) {
            return List.of();
        }
        return r.services().stream().filter(s -> s.name().equals(service)).flatMap(s -> s.findings().stream()).toList();
    }

    /** Stops the manager, then every process this run started (marked) and every service process of {@code services}. */
    void close(Set<String> services) throws InterruptedException {
        if (manager != null) {
            manager.stopAll(); // the service's instances, gracefully, through their drivers
        }
        scans.shutdownNow();
        scans.awaitTermination(5, TimeUnit.SECONDS);
        scanner.close();
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        Set<Long> doomed = new HashSet<>();
        try (var dirs = Files.list(Path.of("/proc"))) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                String name = d.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String env = new String(Files.readAllBytes(d.resolve("environ")));
                    boolean ours = env.contains("FLEETKEEPER_TEST_RUN=" + run);
                    for (String s : services) {
                        ours |= env.contains("FLEETKEEPER_SERVICE=" + s + "\0")
                                && env.contains("FLEETKEEPER_TEST_RUN_SERVICE=" + run);
                    }
                    if (ours) {
                        doomed.add(Long.parseLong(name));
                    }
                } catch (IOException e) {
                    // gone or unreadable
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        doomed.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }
}
