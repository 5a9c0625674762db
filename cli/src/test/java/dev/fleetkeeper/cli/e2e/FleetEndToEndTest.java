package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.proto.v1.HostSummary;
import dev.fleetkeeper.proto.v1.ListHostsResponse;
import dev.fleetkeeper.proto.v1.ListPortsResponse;
import dev.fleetkeeper.proto.v1.ListProcessesResponse;
import dev.fleetkeeper.proto.v1.PortEntry;
import dev.fleetkeeper.proto.v1.ProcessEntry;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.SocketProtocol;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The foundation end to end: a real agent scanning this machine streams to a real controller,
 * and the real CLI reads the controller's view. What it shows must agree with {@code ss} and
 * {@code ps} run at the same moment.
 */
@Timeout(120)
class FleetEndToEndTest {

    private static final Pattern SS_LINE = Pattern.compile("^\\S+\\s+\\d+\\s+\\d+\\s+(\\S+):(\\d+)\\s+\\S+\\s*(.*)$");
    private static final Pattern SS_PID = Pattern.compile("pid=(\\d+)");

    @TempDir
    Path dir;

    private MiniFleet fleet;
    private final Procs procs = new Procs();

    @BeforeEach
    void start() {
        fleet = MiniFleet.start(dir, Duration.ofSeconds(3));
        fleet.startAgent("e2e-host");
        // Every test reads the host's state: wait for its first snapshot.
        await().atMost(Duration.ofSeconds(30)).until(() -> onlyHost(), h -> h != null && h.getProcessCount() > 0);
    }

    @AfterEach
    void stop() throws Exception {
        procs.close();
        fleet.close();
    }

    @Test
    void hosts_showsTheAgentsHostOnlineWithItsProcesses() {
        HostSummary host = await().atMost(Duration.ofSeconds(30)).until(() -> onlyHost(), h -> h != null
                && h.getOnline() && h.getProcessCount() > 0);

        assertThat(host.getHostId()).isEqualTo("e2e-host");
        assertThat(host.getLabelsMap()).containsEntry("fleet", "mini");
        assertThat(host.getStats().getMemTotalBytes()).isPositive();
        CliRun.Result table = CliRun.run(fleet.target(), "hosts");
        assertThat(table.exitCode()).isZero();
        assertThat(table.out()).contains("yes").contains("fleet=mini");
    }

    @Test
    void ports_agreesWithSs_includingASocketInheritedByAChild() throws Exception {
        assumeTrue(Procs.available("ss") && Procs.available("perl"), "needs ss (iproute2) and perl");
        Process listener = procs.start("perl", "-MIO::Socket::INET", "-e",
                "$s=IO::Socket::INET->new(Listen=>5,LocalAddr=>'127.0.0.1',LocalPort=>0,Proto=>'tcp',ReuseAddr=>1)"
                        + " or die $!; $|=1; print $s->sockport, \"\\n\"; if (fork()==0) { sleep 300; exit }"
                        + " sleep 300;");
        int port = Integer.parseInt(Procs.firstLine(listener));

        // Our listener, held by the perl parent and its forked child, reaches the CLI.
        PortEntry ours = await().atMost(Duration.ofSeconds(30)).until(() -> ports().getPortsList().stream()
                .filter(p -> p.getSocket().getPort() == port).findFirst().orElse(null), p -> p != null
                && p.getSocket().getOwnersCount() == 2);
        assertThat(ours.getSocket().getOwnersList()).extracting(ProcessKey::getPid).contains((int) listener.pid());
        assertThat(ours.getOwnersList()).extracting(o -> o.getComm()).containsOnly("perl");

        // And the whole TCP listener table agrees with ss, owners included.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(ourTcpListeners())
                .isEqualTo(ssTcpListeners()));
    }

    @Test
    void psZombies_agreesWithPs_andNamesTheParentThatDoesNotReap() throws Exception {
        // sh forks 'sleep 0' and execs 'sleep 300', which never reaps the child: a zombie.
        Process parent = procs.start("sh", "-c", "sleep 0 & exec sleep 300");

        ListProcessesResponse zombies = await().atMost(Duration.ofSeconds(30)).until(() -> zombies(),
                z -> z.getProcessesList().stream().anyMatch(e -> e.getProcess().getPpid() == parent.pid()));
        ProcessEntry ours = zombies.getProcessesList().stream()
                .filter(e -> e.getProcess().getPpid() == parent.pid()).findFirst().orElseThrow();
        assertThat(ours.getParent().getKey().getPid()).isEqualTo((int) parent.pid());
        assertThat(ours.getParent().getComm()).isEqualTo("sleep");
        CliRun.Result table = CliRun.run(fleet.target(), "ps", "e2e-host", "--zombies");
        assertThat(table.out()).contains(Long.toString(parent.pid()));

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(ourZombies()).isEqualTo(psZombies()));
    }

    private HostSummary onlyHost() throws InvalidProtocolBufferException {
        CliRun.Result r = CliRun.run(fleet.target(), "hosts", "--json");
        ListHostsResponse.Builder b = ListHostsResponse.newBuilder();
        JsonFormat.parser().merge(r.out(), b);
        return b.getHostsCount() == 1 ? b.getHosts(0) : null;
    }

    private ListPortsResponse ports() throws InvalidProtocolBufferException {
        CliRun.Result r = CliRun.run(fleet.target(), "ports", "e2e-host", "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        ListPortsResponse.Builder b = ListPortsResponse.newBuilder();
        JsonFormat.parser().merge(r.out(), b);
        return b.build();
    }

    private ListProcessesResponse zombies() throws InvalidProtocolBufferException {
        CliRun.Result r = CliRun.run(fleet.target(), "ps", "e2e-host", "--zombies", "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        ListProcessesResponse.Builder b = ListProcessesResponse.newBuilder();
        JsonFormat.parser().merge(r.out(), b);
        return b.build();
    }

    private Set<Integer> ourZombies() throws InvalidProtocolBufferException {
        Set<Integer> out = new TreeSet<>();
        for (ProcessEntry e : zombies().getProcessesList()) {
            out.add(e.getProcess().getKey().getPid());
        }
        return out;
    }

    /** "port pid,pid" per listening TCP socket, as the CLI shows them. */
    private Set<String> ourTcpListeners() throws InvalidProtocolBufferException {
        Set<String> out = new TreeSet<>();
        for (PortEntry p : ports().getPortsList()) {
            SocketProtocol proto = p.getSocket().getProtocol();
            if (proto == SocketProtocol.SOCKET_PROTOCOL_TCP || proto == SocketProtocol.SOCKET_PROTOCOL_TCP6) {
                out.add(p.getSocket().getPort() + " " + p.getSocket().getOwnersList().stream()
                        .map(k -> Integer.toString(k.getPid())).sorted().collect(Collectors.joining(",")));
            }
        }
        return out;
    }

    /** The same from {@code ss -ltnpH}. */
    private static Set<String> ssTcpListeners() throws Exception {
        Set<String> out = new TreeSet<>();
        for (String line : Procs.run("ss", "-ltnpH").split("\n")) {
            Matcher m = SS_LINE.matcher(line.trim());
            if (!m.matches()) {
                continue;
            }
            Set<String> pids = new TreeSet<>();
            Matcher pid = SS_PID.matcher(m.group(3));
            while (pid.find()) {
                pids.add(pid.group(1));
            }
            out.add(m.group(2) + " " + String.join(",", pids));
        }
        return out;
    }

    private static Set<Integer> psZombies() throws Exception {
        Set<Integer> out = new TreeSet<>();
        for (String line : Procs.run("ps", "-eo", "pid=,stat=").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 2 && f[1].startsWith("Z")) {
                out.add(Integer.parseInt(f[0]));
            }
        }
        return out;
    }
}
