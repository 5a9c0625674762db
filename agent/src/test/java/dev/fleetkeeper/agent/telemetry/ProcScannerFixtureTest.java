package dev.fleetkeeper.agent.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class ProcScannerFixtureTest {

    private static final long BOOT_MILLIS = 1_700_000_000_000L;

    @TempDir
    Path temp;

    private ProcFixture fixture;
    private FakeClock clock;
    private ProcScanner scanner;

    @BeforeEach
    void setUp() throws Exception {
        fixture = new ProcFixture(temp);
        clock = new FakeClock(Instant.ofEpochMilli(1_700_000_500_000L));
        scanner = new ProcScanner(fixture.root, fixture.passwd, clock, Duration.ofSeconds(30),
                Duration.ofMinutes(5));
    }

    private static ProcessSample byPid(HostScan scan, int pid) {
        return scan.processes().values().stream().filter(p -> p.pid() == pid).findFirst().orElseThrow();
    }

    private static List<Integer> ownerPids(HostScan scan, long inode) {
        return scan.sockets().get(inode).owners().stream().map(ProcessId::pid).collect(Collectors.toList());
    }

    @Test
    void scan_readsCommWithSpacesAndParens() {
        assertThat(byPid(scanner.scan(), 100).comm()).isEqualTo("my app) (x");
    }

    @Test
    void scan_readsStatStatusCmdlineExeAndCgroup() {
        ProcessSample p = byPid(scanner.scan(), 100);

        assertThat(p.id()).isEqualTo(new ProcessId(100, 1000));
        assertThat(p.state()).isEqualTo(ProcState.RUNNING);
        assertThat(p.ppid()).isEqualTo(1);
        assertThat(p.pgid()).isEqualTo(100);
        assertThat(p.sid()).isEqualTo(100);
        assertThat(p.threads()).isEqualTo(4);
        assertThat(p.cpuUserMillis()).isEqualTo(2500);
        assertThat(p.cpuSystemMillis()).isEqualTo(500);
        assertThat(p.cpuPercent()).isZero();
        assertThat(p.vsizeBytes()).isEqualTo(1_048_576_000L);
        assertThat(p.rssBytes()).isEqualTo(25_600L * 4096);
        assertThat(p.startTimeMillis()).isEqualTo(BOOT_MILLIS + 10_000);
        assertThat(p.uid()).isEqualTo(1000);
        assertThat(p.euid()).isEqualTo(1000);
        assertThat(p.user()).isEqualTo("app");
        assertThat(p.cmdline()).containsExactly("node", "/srv/app/server.js", "--port", "8080");
        assertThat(p.exe()).isEqualTo("/usr/bin/node");
        assertThat(p.cgroup()).isEqualTo("/system.slice/app.service");
        assertThat(p.memory()).isEqualTo(new MemoryDetail(90_000L * 1024, 80_000L * 1024,
                78_000L * 1024, 512L * 1024, 1_700_000_500_000L));
    }

    @Test
    void scan_reportsZombieAndKernelThreadWithEmptyIdentityFacts() {
        HostScan scan = scanner.scan();

        ProcessSample zombie = byPid(scan, 102);
        assertThat(zombie.isZombie()).isTrue();
        assertThat(zombie.ppid()).isEqualTo(100);
        assertThat(zombie.cmdline()).isEmpty();
        assertThat(zombie.exe()).isEmpty();
        assertThat(zombie.memory()).isNull();
        ProcessSample kthread = byPid(scan, 2);
        assertThat(kthread.cmdline()).isEmpty();
        assertThat(kthread.exe()).isEmpty();
        assertThat(kthread.cgroup()).isEqualTo("/");
        assertThat(scan.processes()).hasSize(6);
    }

    @Test
    void scan_namesUnknownUidByNumber() {
        assertThat(byPid(scanner.scan(), 103).user()).isEqualTo("4242");
    }

    @Test
    void scan_mapsEachListeningInodeToEveryProcessHoldingIt() {
        HostScan scan = scanner.scan();

        assertThat(ownerPids(scan, 1001)).containsExactly(100, 101);
        assertThat(ownerPids(scan, 1003)).containsExactly(1);
        assertThat(ownerPids(scan, 1004)).containsExactly(103);
        assertThat(ownerPids(scan, 1002)).containsExactly(103);
    }

    @Test
    void scan_formatsAddressesLikeSs_andKeepsOnlyListeningAndUnconnectedBound() {
        Map<Long, SocketSample> sockets = scanner.scan().sockets();

        assertThat(sockets.keySet()).containsExactlyInAnyOrder(1001L, 1002L, 1003L, 1004L, 1006L);
        assertThat(sockets.get(1001L)).extracting(SocketSample::protocol, SocketSample::address,
                SocketSample::port, SocketSample::uid).containsExactly(SocketProtocol.TCP, "127.0.0.1", 8080, 1000);
        assertThat(sockets.get(1002L)).extracting(SocketSample::protocol, SocketSample::address,
                SocketSample::port).containsExactly(SocketProtocol.TCP6, "::1", 9090);
        assertThat(sockets.get(1003L)).extracting(SocketSample::address, SocketSample::port)
                .containsExactly("::", 22);
        assertThat(sockets.get(1006L)).extracting(SocketSample::address, SocketSample::port)
                .containsExactly("::ffff:127.0.0.1", 7000);
        assertThat(sockets.get(1004L)).extracting(SocketSample::protocol, SocketSample::address,
                SocketSample::port).containsExactly(SocketProtocol.UDP, "0.0.0.0", 5353);
    }

    @Test
    void scan_skipsMalformedSocketLineAndCountsIt() {
        HostScan scan = scanner.scan();

        assertThat(scan.host().scan().malformed()).isEqualTo(1);
        assertThat(scan.host().scan().vanished()).isZero();
    }

    @Test
    void scan_readsTcpTableOnlyUntilItsEstablishedPass() throws Exception {
        // The kernel lists every listener before any other row. A SYN_RECV row (a request,
        // listed under its listener before Linux 4.4) does not end the listeners; the first
        // other row does, and nothing after it is read: not a listener, not a malformed line.
        fixture.write("net/tcp", fixture.read("net/tcp").replace("   1: this line is malformed\n",
                "   1: 0100007F:1F90 0100007F:C351 03 00000000:00000000 00:00000000 00000000  1000        0 0 1 0000000000000000 20 4 30 10 -1\n"
                + "   3: 00000000:0051 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1502 1 0000000000000000 100 0 0 10 0\n")
                + "   4: 00000000:0052 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1503 1 0000000000000000 100 0 0 10 0\n"
                + "   5: this line is malformed\n");

        HostScan scan = scanner.scan();

        assertThat(scan.sockets()).containsKeys(1001L, 1502L).doesNotContainKey(1503L);
        assertThat(scan.host().scan().malformed()).isZero();
    }

    @Test
    void scan_readsHostFiguresAndHostInfo() {
        HostSample h = scanner.scan().host();

        assertThat(h.memTotalBytes()).isEqualTo(2_048_000L * 1024);
        assertThat(h.memAvailableBytes()).isEqualTo(1_024_000L * 1024);
        assertThat(h.swapTotalBytes()).isEqualTo(512_000L * 1024);
        assertThat(h.swapFreeBytes()).isEqualTo(256_000L * 1024);
        assertThat(h.load1()).isEqualTo(0.5);
        assertThat(h.load5()).isEqualTo(1.25);
        assertThat(h.load15()).isEqualTo(2.0);
        assertThat(h.memoryPressure()).isEqualTo(
                new MemoryPressure(1.5f, 0.75f, 0.1f, 0.5f, 0.25f, 0.05f, 123_456, 65_432));
        assertThat(h.oomKills()).isEqualTo(3);
        assertThat(h.uptimeMillis()).isEqualTo(12_345_670);
        assertThat(h.processCount()).isEqualTo(6);
        assertThat(h.cpuCount()).isEqualTo(2);
        assertThat(scanner.hostInfo()).isEqualTo(new HostInfo("fixture-host", "6.1.0-fixture",
                "0f8fad5b-d9cb-469f-a165-70867728950e", BOOT_MILLIS, 100, 2));
    }

    @Test
    void scan_reportsNoPressureWhereTheKernelHasNoPsi() throws Exception {
        fixture.delete("pressure/memory");

        assertThat(scanner.scan().host().memoryPressure()).isNull();
    }

    @Test
    void scan_computesCpuPercentFromTickDeltaOverWallTime() throws Exception {
        scanner.scan();
        fixture.write("100/stat", fixture.read("100/stat").replace(" 250 50 ", " 300 50 "));
        clock.advance(Duration.ofSeconds(1));

        // 50 ticks = 500 ms of CPU in 1,000 ms of wall time: half a core.
        assertThat(byPid(scanner.scan(), 100).cpuPercent()).isEqualTo(50f);
    }

    @Test
    void scan_readsSmapsOnDetailCadence_butEveryScanForManagedIdentities() throws Exception {
        scanner.scan();
        fixture.write("100/smaps_rollup", fixture.read("100/smaps_rollup").replace("Pss:                90000", "Pss:                91000"));
        fixture.write("101/smaps_rollup", fixture.read("101/smaps_rollup").replace("Pss:                40000", "Pss:                41000"));
        scanner.setDetailEveryScan(id -> id.pid() == 100);
        clock.advance(Duration.ofSeconds(1));

        HostScan second = scanner.scan();
        assertThat(byPid(second, 100).memory().pssBytes()).isEqualTo(91_000L * 1024);
        assertThat(byPid(second, 101).memory().pssBytes()).isEqualTo(40_000L * 1024);

        clock.advance(Duration.ofSeconds(30));
        assertThat(byPid(scanner.scan(), 101).memory().pssBytes()).isEqualTo(41_000L * 1024);
    }

    @Test
    void scan_reusesIdentityFactsOfKnownProcess_untilItsCommChanges() throws Exception {
        scanner.scan();
        fixture.write("101/cmdline", "python3\0job.py\0");
        clock.advance(Duration.ofSeconds(1));
        assertThat(byPid(scanner.scan(), 101).cmdline()).containsExactly("node", "/srv/app/worker.js");

        fixture.write("101/stat", fixture.read("101/stat").replace("(node)", "(python3)"));
        clock.advance(Duration.ofSeconds(1));
        assertThat(byPid(scanner.scan(), 101).cmdline()).containsExactly("python3", "job.py");
    }

    @Test
    void scan_treatsReusedPidAsNewIdentity() throws Exception {
        HostScan first = scanner.scan();
        fixture.write("103/stat", fixture.read("103/stat").replace(" 1400 ", " 9000 "));
        fixture.write("103/cmdline", "other\0");
        clock.advance(Duration.ofSeconds(1));

        HostScan second = scanner.scan();
        assertThat(first.processes()).containsKey(new ProcessId(103, 1400));
        assertThat(second.processes()).doesNotContainKey(new ProcessId(103, 1400));
        assertThat(second.processes().get(new ProcessId(103, 9000)).cmdline()).containsExactly("other");
        assertThat(ownerPids(second, 1004)).containsExactly(103);
        assertThat(second.sockets().get(1004L).owners()).containsExactly(new ProcessId(103, 9000));
    }

    @Test
    void scan_findsForkedChildAsNewOwnerWithoutFullWalk() throws Exception {
        scanner.scan();
        long walks = scanner.fullWalks();
        fixture.cloneProcess(101, 104, 5000);
        fixture.link("104/fd/5", "socket:[1001]");
        clock.advance(Duration.ofSeconds(1));

        HostScan second = scanner.scan();
        assertThat(ownerPids(second, 1001)).containsExactly(100, 101, 104);
        assertThat(scanner.fullWalks()).isEqualTo(walks);
    }

    @Test
    void scan_dropsOwnerThatClosedItsFd() throws Exception {
        scanner.scan();
        fixture.delete("101/fd/5");
        clock.advance(Duration.ofSeconds(1));

        assertThat(ownerPids(scanner.scan(), 1001)).containsExactly(100);
    }

    @Test
    void scan_findsOwnerThatMovedItsFd() throws Exception {
        scanner.scan();
        fixture.delete("101/fd/5");
        fixture.link("101/fd/12", "socket:[1001]");
        clock.advance(Duration.ofSeconds(1));

        assertThat(ownerPids(scanner.scan(), 1001)).containsExactly(100, 101);
    }

    @Test
    void scan_walksAllFdsWhenAnExistingProcessOpensANewListener() throws Exception {
        scanner.scan();
        long walks = scanner.fullWalks();
        fixture.write("net/tcp", fixture.read("net/tcp").replace("   1: this line is malformed\n",
                "   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1500 1 0000000000000000 100 0 0 10 0\n"));
        fixture.link("1/fd/8", "socket:[1500]");
        clock.advance(Duration.ofSeconds(1));

        HostScan second = scanner.scan();
        assertThat(ownerPids(second, 1500)).containsExactly(1);
        assertThat(second.sockets().get(1500L).address()).isEqualTo("0.0.0.0");
        assertThat(scanner.fullWalks()).isEqualTo(walks + 1);
    }

    private static final String SOCKSTAT = """
            sockets: used 120
            TCP: inuse %d orphan 0 tw 3 alloc %d mem 4
            UDP: inuse 2 mem 1
            """;
    private static final String NEW_LISTENER =
            "   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1500 1 0000000000000000 100 0 0 10 0\n";

    /** Process 1 starts listening on :80 (inode 1500) between two scans; sockstat not touched. */
    private void listenOn80WithoutTouchingSockstat() throws Exception {
        fixture.write("net/tcp", fixture.read("net/tcp").replace("   1: this line is malformed\n", NEW_LISTENER));
        fixture.link("1/fd/8", "socket:[1500]");
    }

    @Test
    void scan_reusesTcpListeners_whileSockstatAndProcessesStayTheSame() throws Exception {
        fixture.write("net/sockstat", SOCKSTAT.formatted(5, 7));
        fixture.write("net/sockstat6", "TCP6: inuse 2\nUDP6: inuse 0\n");
        scanner.scan();
        long reads = scanner.tcpTableReads();
        listenOn80WithoutTouchingSockstat();
        clock.advance(Duration.ofSeconds(1));

        HostScan unchanged = scanner.scan();
        assertThat(unchanged.sockets()).doesNotContainKey(1500L).containsKey(1001L);
        assertThat(scanner.tcpTableReads()).isEqualTo(reads);

        // listen() hashed a socket: TCP inuse and alloc went up.
        fixture.write("net/sockstat", SOCKSTAT.formatted(6, 8));
        clock.advance(Duration.ofSeconds(1));
        assertThat(ownerPids(scanner.scan(), 1500)).containsExactly(1);
        assertThat(scanner.tcpTableReads()).isEqualTo(reads + 1);
    }

    @Test
    void scan_rereadsTcpTablesWhenOnlyTcp6CountsChange() throws Exception {
        fixture.write("net/sockstat", SOCKSTAT.formatted(5, 7));
        fixture.write("net/sockstat6", "TCP6: inuse 2\nUDP6: inuse 0\n");
        scanner.scan();
        listenOn80WithoutTouchingSockstat();
        fixture.write("net/sockstat6", "TCP6: inuse 3\nUDP6: inuse 0\n");
        clock.advance(Duration.ofSeconds(1));

        assertThat(ownerPids(scanner.scan(), 1500)).containsExactly(1);
    }

    @Test
    void scan_rereadsTcpTablesWhenAProcessAppears() throws Exception {
        fixture.write("net/sockstat", SOCKSTAT.formatted(5, 7));
        scanner.scan();
        listenOn80WithoutTouchingSockstat();
        fixture.cloneProcess(101, 104, 5000);
        clock.advance(Duration.ofSeconds(1));

        assertThat(ownerPids(scanner.scan(), 1500)).containsExactly(1);
    }

    @Test
    void scan_rereadsTcpTablesAfterAtMostFiveSeconds_evenWhenNothingSeemsToChange() throws Exception {
        fixture.write("net/sockstat", SOCKSTAT.formatted(5, 7));
        scanner.scan();
        listenOn80WithoutTouchingSockstat();
        clock.advance(Duration.ofMillis(SocketTables.TCP_REREAD_MILLIS - 1000));
        assertThat(scanner.scan().sockets()).doesNotContainKey(1500L);

        clock.advance(Duration.ofSeconds(1));
        assertThat(ownerPids(scanner.scan(), 1500)).containsExactly(1);
    }

    @Test
    void scan_readsTcpTablesEveryTime_whereSockstatCannotBeRead() throws Exception {
        // The fixture has no net/sockstat.
        scanner.scan();
        listenOn80WithoutTouchingSockstat();
        clock.advance(Duration.ofSeconds(1));

        assertThat(ownerPids(scanner.scan(), 1500)).containsExactly(1);
    }

    @Test
    void scan_doesNotRepeatFullWalkForAnInodeNobodyCanBeFoundFor() throws Exception {
        fixture.delete("1/fd/3"); // :22 held by a process whose fds we may not read
        scanner.scan();
        long walks = scanner.fullWalks();
        clock.advance(Duration.ofSeconds(1));

        HostScan second = scanner.scan();
        assertThat(second.sockets().get(1003L).owners()).isEmpty();
        assertThat(scanner.fullWalks()).isEqualTo(walks);

        clock.advance(ProcScanner.DEFAULT_FULL_WALK_INTERVAL);
        fixture.link("1/fd/3", "socket:[1003]");
        assertThat(ownerPids(scanner.scan(), 1003)).containsExactly(1);
    }

    @Test
    void scan_findsLongRunningParentOfNewChildHoldingNewListener() throws Exception {
        scanner.scan();
        long walks = scanner.fullWalks();
        // 103 opened :8081 and forked 105 between two scans: both hold it.
        fixture.write("net/tcp", fixture.read("net/tcp").replace("   1: this line is malformed\n",
                "   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  4242        0 1501 1 0000000000000000 100 0 0 10 0\n"));
        fixture.link("103/fd/9", "socket:[1501]");
        fixture.cloneProcess(103, 105, 6000);
        fixture.link("105/fd/9", "socket:[1501]");
        clock.advance(Duration.ofSeconds(1));

        assertThat(ownerPids(scanner.scan(), 1501)).containsExactly(103, 105);
        assertThat(scanner.fullWalks()).isEqualTo(walks);
    }

    @Test
    void scan_countsProcessThatVanishedMidScan_insteadOfThrowing() throws Exception {
        // Listed in /proc, but gone by the time its stat is read.
        fixture.write("200/cmdline", "");
        fixture.cloneProcess(101, 201, 7000);
        fixture.write("201/stat", ""); // empty stat: a task being reaped

        HostScan scan = scanner.scan();
        assertThat(scan.host().scan().vanished()).isEqualTo(2);
        assertThat(scan.processes()).hasSize(6);
    }

    @Test
    void scan_countsMalformedStatAndKeepsScanning() throws Exception {
        fixture.cloneProcess(101, 202, 7000);
        fixture.write("202/stat", "202 (broken\n");

        HostScan scan = scanner.scan();
        assertThat(scan.host().scan().malformed()).isEqualTo(2); // this stat and the tcp line
        assertThat(scan.processes()).hasSize(6);
    }

    @Test
    void scan_keepsUnchangedSamplesAsTheSameObjects() {
        HostScan first = scanner.scan();
        clock.advance(Duration.ofSeconds(1));
        HostScan second = scanner.scan();

        assertThat(second.processes().get(new ProcessId(101, 1200)))
                .isSameAs(first.processes().get(new ProcessId(101, 1200)));
        assertThat(second.sockets().get(1001L)).isSameAs(first.sockets().get(1001L));
    }

    @Test
    void scan_holdsNoStatFilesOnAPlainFileTree_soAReplacedStatIsReadAnew() throws Exception {
        // A held plain file would go on showing the replaced file's old content; only procfs
        // makes a held stat fail once its process is gone.
        scanner.scan();
        String stat = fixture.read("103/stat").replace(" 1400 ", " 9000 ");
        fixture.delete("103/stat");
        fixture.write("103/stat", stat);
        clock.advance(Duration.ofSeconds(1));

        HostScan second = scanner.scan();
        assertThat(scanner.heldFiles()).isZero();
        assertThat(second.processes()).containsKey(new ProcessId(103, 9000))
                .doesNotContainKey(new ProcessId(103, 1400));
    }

    /** First sight and the staggered first repeat (within 30 s): the two unconditional reads. */
    private void scanPastFirstRepeat() {
        scanner.scan();
        clock.advance(Duration.ofSeconds(30));
        scanner.scan();
    }

    private void changeDetailsOf100() throws Exception {
        fixture.write("100/cmdline", "node\0/srv/app/server.js\0--port\0009090\0");
        fixture.write("100/smaps_rollup", fixture.read("100/smaps_rollup")
                .replace("Pss:                90000", "Pss:                95000"));
    }

    @Test
    void scan_skipsDetailReadsOfQuietProcess_butReadsThemAfterTenIntervals() throws Exception {
        scanPastFirstRepeat();
        changeDetailsOf100();

        clock.advance(Duration.ofSeconds(30)); // due, but no tick, fault or size change since
        ProcessSample quiet = byPid(scanner.scan(), 100);
        assertThat(quiet.cmdline()).containsExactly("node", "/srv/app/server.js", "--port", "8080");
        assertThat(quiet.memory().pssBytes()).isEqualTo(90_000L * 1024);

        clock.advance(Duration.ofSeconds(270)); // 10 intervals since the last read
        ProcessSample reread = byPid(scanner.scan(), 100);
        assertThat(reread.cmdline()).containsExactly("node", "/srv/app/server.js", "--port", "9090");
        assertThat(reread.memory().pssBytes()).isEqualTo(95_000L * 1024);
    }

    @Test
    void scan_readsDetailsOfProcessThatFaulted_onItsNextInterval() throws Exception {
        scanPastFirstRepeat();
        changeDetailsOf100();
        fixture.write("100/stat", fixture.read("100/stat").replace(" 4194304 10 0 0 0 ", " 4194304 11 0 0 0 "));

        clock.advance(Duration.ofSeconds(30));
        ProcessSample p = byPid(scanner.scan(), 100);
        assertThat(p.cmdline()).containsExactly("node", "/srv/app/server.js", "--port", "9090");
        assertThat(p.memory().pssBytes()).isEqualTo(95_000L * 1024);
    }

    @Test
    void scan_readsDetailsOfProcessThatRanOrChangedSize_onItsNextInterval() throws Exception {
        scanPastFirstRepeat();
        changeDetailsOf100();
        fixture.write("100/stat", fixture.read("100/stat").replace(" 250 50 ", " 251 50 "));
        clock.advance(Duration.ofSeconds(30));
        assertThat(byPid(scanner.scan(), 100).memory().pssBytes()).isEqualTo(95_000L * 1024);

        fixture.write("100/smaps_rollup", fixture.read("100/smaps_rollup")
                .replace("Pss:                95000", "Pss:                96000"));
        fixture.write("100/stat", fixture.read("100/stat").replace(" 25600 ", " 25601 "));
        clock.advance(Duration.ofSeconds(30));
        assertThat(byPid(scanner.scan(), 100).memory().pssBytes()).isEqualTo(96_000L * 1024);
    }

    @Test
    void scan_readsDetailsOfQuietManagedProcess_onEveryScan() throws Exception {
        scanPastFirstRepeat();
        changeDetailsOf100();
        scanner.setDetailEveryScan(id -> id.pid() == 100);

        clock.advance(Duration.ofSeconds(1));
        assertThat(byPid(scanner.scan(), 100).memory().pssBytes()).isEqualTo(95_000L * 1024);
    }
}
