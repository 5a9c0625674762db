package dev.fleetkeeper.agent.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Checks the scanner against {@code ss} and {@code ps} on this very machine, with real
 * listeners: inherited by a forked child, held by the parent of a zombie, UDP, and IPv6.
 */
@Timeout(120)
class ProcScannerLiveTest {

    private static final Pattern PID = Pattern.compile("pid=(\\d+)");

    private final List<Process> started = new ArrayList<>();
    private ProcScanner scanner;

    @BeforeEach
    void setUp() {
        assumeTrue(onPath("ss"), "ss (iproute2) is not installed: the live socket check needs it");
        assumeTrue(onPath("ps"), "ps (procps) is not installed: the live zombie check needs it");
        assumeTrue(onPath("perl"), "perl is not installed: the live test spawns perl listeners");
        scanner = ProcScanner.forThisHost(InstantSource.system());
    }

    @AfterEach
    void stopEverythingStarted() throws InterruptedException {
        if (scanner != null) {
            scanner.close();
        }
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : started) {
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Starts a perl script that prints "PORT n" (or "NONE") and returns n (or -1). */
    private int startPerl(String script) throws IOException {
        Process p = new ProcessBuilder("perl", "-MIO::Socket::INET", "-MIO::Socket::IP", "-e",
                "$| = 1; " + script).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        started.add(p);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertThat(line).as("perl output").isNotNull();
        return line.startsWith("PORT ") ? Integer.parseInt(line.substring(5).trim()) : -1;
    }

    private static List<String> run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> lines;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            lines = r.lines().collect(Collectors.toList());
        }
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return lines;
    }

    /** "tcp|127.0.0.1|41234|[123, 124]" for each socket {@code ss -ltnup -H} lists. */
    private static Set<String> fromSs() throws IOException, InterruptedException {
        Set<String> out = new TreeSet<>();
        for (String line : run("ss", "-ltnup", "-H")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 5) {
                continue;
            }
            String local = f[4];
            int colon = local.lastIndexOf(':');
            String addr = local.substring(0, colon);
            int port = Integer.parseInt(local.substring(colon + 1));
            if (addr.startsWith("[")) {
                addr = addr.substring(1, addr.length() - 1);
            }
            int pct = addr.indexOf('%');
            if (pct >= 0) {
                addr = addr.substring(0, pct); // "127.0.0.53%lo": bound to a device
            }
            if (addr.equals("*")) {
                addr = "::";
            }
            String proto = f[0] + (addr.contains(":") ? "6" : "");
            TreeSet<Integer> pids = new TreeSet<>();
            Matcher m = PID.matcher(line);
            while (m.find()) {
                pids.add(Integer.parseInt(m.group(1)));
            }
            out.add(proto + "|" + addr + "|" + port + "|" + pids);
        }
        return out;
    }

    private static Set<String> fromScan(HostScan scan) {
        Set<String> out = new TreeSet<>();
        for (SocketSample s : scan.sockets().values()) {
            TreeSet<Integer> pids = s.owners().stream().map(ProcessId::pid).collect(Collectors.toCollection(TreeSet::new));
            out.add(s.protocol().procFile() + "|" + s.address() + "|" + s.port() + "|" + pids);
        }
        return out;
    }

    private static Set<String> withPorts(Set<String> entries, Set<Integer> ports) {
        return entries.stream().filter(e -> ports.contains(Integer.parseInt(e.split("\\|")[2])))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void scan_agreesWithSsOnOwnersOfRealListeners_andWithPsOnZombies() throws Exception {
        Set<Integer> ports = new TreeSet<>();
        // (a) a listener inherited by a forked child: two owners.
        ports.add(startPerl("my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,"
                + " Listen => 5, ReuseAddr => 1) or die $!; defined(fork) or die; "
                + "print 'PORT ', $s->sockport, \"\\n\" if 1; sleep 600;"));
        // (b) a listener held by the parent of a zombie it never reaps.
        ports.add(startPerl("my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,"
                + " Listen => 5, ReuseAddr => 1) or die $!; my $c = fork // die; exit 0 unless $c; "
                + "print 'PORT ', $s->sockport, \"\\n\"; sleep 600;"));
        // (c) a bound, unconnected UDP socket.
        ports.add(startPerl("my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,"
                + " Proto => 'udp') or die $!; print 'PORT ', $s->sockport, \"\\n\"; sleep 600;"));
        // (d) IPv6 on ::1, where the machine has it.
        int v6 = startPerl("my $s = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 5);"
                + " if ($s) { print 'PORT ', $s->sockport, \"\\n\" } else { print \"NONE\\n\" } sleep 600;");
        if (v6 > 0) {
            ports.add(v6);
        }
        // (a) prints from both parent and child: the PORT line of either is the same port.

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            HostScan scan = scanner.scan();
            Set<String> ours = withPorts(fromScan(scan), ports);
            Set<String> theirs = withPorts(fromSs(), ports);
            assertThat(ours).hasSize(ports.size()).isEqualTo(theirs);
        });
        Set<String> ours = withPorts(fromScan(scanner.scan()), ports);
        assertThat(ours).anyMatch(e -> e.startsWith("tcp|127.0.0.1|") && e.matches(".*\\[\\d+, \\d+]$"));
        assertThat(ours).anyMatch(e -> e.startsWith("udp|127.0.0.1|"));
        if (v6 > 0) {
            assertThat(ours).anyMatch(e -> e.startsWith("tcp6|::1|" + v6 + "|"));
        }

        // The whole system, which other work on this machine may change under us: retry.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
                assertThat(fromScan(scanner.scan())).isEqualTo(fromSs()));

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            Set<Integer> zombies = scanner.scan().processes().values().stream()
                    .filter(ProcessSample::isZombie).map(ProcessSample::pid)
                    .collect(Collectors.toCollection(TreeSet::new));
            Set<Integer> psZombies = new TreeSet<>();
            for (String line : run("ps", "-eo", "pid=,stat=")) {
                String[] f = line.trim().split("\\s+");
                if (f.length == 2 && f[1].startsWith("Z")) {
                    psZombies.add(Integer.parseInt(f[0]));
                }
            }
            assertThat(zombies).isNotEmpty().isEqualTo(psZombies);
        });
    }

    @Test
    void scan_seesListenerClosedByOneOfTwoOwners() throws Exception {
        // Parent and child share a listener; the child then closes its copy.
        int port = startPerl("my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,"
                + " Listen => 5, ReuseAddr => 1) or die $!; my $c = fork // die; "
                + "if (!$c) { sleep 2; close($s); sleep 600 } print 'PORT ', $s->sockport, \"\\n\"; sleep 600;");
        Process parent = started.get(started.size() - 1);

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            List<Integer> owners = scanner.scan().sockets().values().stream()
                    .filter(s -> s.port() == port).findFirst().orElseThrow()
                    .owners().stream().map(ProcessId::pid).collect(Collectors.toList());
            assertThat(owners).containsExactly((int) parent.pid());
        });
    }

    @Test
    void scan_seesAListenerOpenedAndClosedByALongRunningProcess_onTheVeryNextScan() throws Exception {
        // This JVM: no process comes or goes, so only the sockstat counts can tell the scanner
        // that its TCP tables changed (before the 5 s re-read).
        long self = ProcessHandle.current().pid();
        scanner.scan();
        int port;
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
            List<Integer> owners = scanner.scan().sockets().values().stream()
                    .filter(x -> x.port() == port).findFirst().orElseThrow()
                    .owners().stream().map(ProcessId::pid).collect(Collectors.toList());
            assertThat(owners).containsExactly((int) self);
        }
        assertThat(scanner.scan().sockets().values()).noneMatch(x -> x.port() == port);
    }

    @Test
    void scan_holdsOneStatFilePerProcessOnProcfs_andCloseReleasesThem() {
        HostScan scan = scanner.scan();

        assertThat(scanner.heldFiles()).isPositive().isEqualTo(scan.processes().size());
        scanner.close();
        assertThat(scanner.heldFiles()).isZero();
        assertThat(scanner.scan().processes()).isNotEmpty();
        assertThat(scanner.heldFiles()).isZero();
        scanner.close(); // idempotent
    }

    @Test
    void scan_dropsReapedProcessWhoseStatItHeld() throws Exception {
        Process child = new ProcessBuilder("sleep", "600").start();
        started.add(child);
        ProcessId id = await().atMost(Duration.ofSeconds(10)).until(() -> scanner.scan().processes()
                .keySet().stream().filter(p -> p.pid() == child.pid()).findFirst().orElse(null), p -> p != null);

        child.destroyForcibly();
        assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();

        HostScan after = scanner.scan();
        assertThat(after.processes()).doesNotContainKey(id);
        assertThat(scanner.heldFiles()).isEqualTo(after.processes().size());
    }

    @Test
    void scan_seesAProcessStartedSinceTheLastScan_atOnce() throws Exception {
        scanner.scan();
        scanner.scan(); // the listing of /proc may be reused from here on
        Process child = new ProcessBuilder("sleep", "600").start();
        started.add(child);

        assertThat(scanner.scan().processes().keySet()).anyMatch(p -> p.pid() == child.pid());
    }

    @Test
    void scan_seesExecThroughHeldStat_asSameIdentityWithNewComm() throws Exception {
        Process child = new ProcessBuilder("sh", "-c", "read x; exec sleep 600").start();
        started.add(child);
        ProcessSample before = await().atMost(Duration.ofSeconds(10)).until(() -> scanner.scan().processes()
                .values().stream().filter(p -> p.pid() == child.pid()).findFirst().orElse(null), p -> p != null);
        assertThat(before.comm()).isEqualTo("sh");

        try (OutputStream in = child.getOutputStream()) {
            in.write('\n');
        }

        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            ProcessSample after = scanner.scan().processes().get(before.id());
            assertThat(after).isNotNull();
            assertThat(after.comm()).isEqualTo("sleep");
            assertThat(after.cmdline()).containsExactly("sleep", "600");
        });
    }

    @Test
    void scan_findsEveryListener_ofTablesThatTakeManyReads() throws Exception {
        // 151 listeners and 150 connections (301 rows) make /proc/net/tcp6 (the JDK's sockets are
        // dual-stack: "::ffff:127.0.0.1") about 50 KiB: many page-sized reads, the last of them
        // short, which ends the table without an EOF read.
        List<AutoCloseable> open = new ArrayList<>();
        try {
            Set<Integer> ports = new TreeSet<>();
            InetAddress loopback = InetAddress.getByName("127.0.0.1");
            for (int i = 0; i < 150; i++) {
                ServerSocket s = new ServerSocket(0, 50, loopback);
                open.add(s);
                ports.add(s.getLocalPort());
            }
            ServerSocket target = new ServerSocket(0, 200, loopback);
            open.add(target);
            ports.add(target.getLocalPort());
            for (int i = 0; i < 75; i++) {
                open.add(new Socket(loopback, target.getLocalPort()));
                open.add(target.accept());
            }

            HostScan scan = scanner.scan();
            ProcessId self = scan.processes().keySet().stream()
                    .filter(p -> p.pid() == ProcessHandle.current().pid()).findFirst().orElseThrow();
            Set<Integer> found = new TreeSet<>();
            for (SocketSample s : scan.sockets().values()) {
                if (s.protocol().isTcp() && ports.contains(s.port())) {
                    assertThat(s.owners()).contains(self);
                    found.add(s.port());
                }
            }
            assertThat(found).isEqualTo(ports);
            assertThat(Files.readAllBytes(Path.of("/proc/net/tcp")).length
                    + Files.readAllBytes(Path.of("/proc/net/tcp6")).length).isGreaterThan(8 * 4096);
        } finally {
            for (AutoCloseable c : open) {
                c.close();
            }
        }
    }
}
