package dev.fleetkeeper.agent.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ScanDeltaTest {

    private static final ProcessId A = new ProcessId(10, 100);
    private static final ProcessId B = new ProcessId(11, 110);
    private static final ProcessId C = new ProcessId(12, 120);

    private static ProcessSample process(ProcessId id, long rss, List<String> cmdline) {
        return new ProcessSample(id, 1, id.pid(), id.pid(), 1000, 1000, "app", ProcState.SLEEPING,
                1_000L, "node", cmdline, "/usr/bin/node", 1, rss, 10_000, null, 0, 0, 0f, "/app");
    }

    private static ProcessSample process(ProcessId id, long rss) {
        return process(id, rss, List.of("node", "app.js"));
    }

    private static SocketSample socket(long inode, ProcessId... owners) {
        return new SocketSample(SocketProtocol.TCP, "127.0.0.1", 3000, inode, 1000, List.of(owners));
    }

    private static HostSample host(long at) {
        return new HostSample(at, 1, 1, 0, 0, 0, 0, 0, null, 0, at, 0, 2,
                new ScanStats(0, 0, 0, 0));
    }

    private static HostScan scan(long at, List<ProcessSample> processes, List<SocketSample> sockets) {
        Map<ProcessId, ProcessSample> p = new HashMap<>();
        processes.forEach(s -> p.put(s.id(), s));
        Map<Long, SocketSample> s = new HashMap<>();
        sockets.forEach(x -> s.put(x.inode(), x));
        return new HostScan(at, host(at), p, s);
    }

    @Test
    void between_listsAddedChangedAndRemovedProcesses() {
        HostScan base = scan(1, List.of(process(A, 100), process(B, 200)), List.of());
        HostScan current = scan(2, List.of(process(A, 100), process(B, 300), process(C, 1)), List.of());

        ScanDelta d = ScanDelta.between(base, current);

        assertThat(d.added()).extracting(ProcessSample::id).containsExactly(C);
        assertThat(d.changed()).extracting(ProcessSample::id).containsExactly(B);
        assertThat(d.removed()).isEmpty();
        assertThat(d.host()).isEqualTo(current.host());
        assertThat(d.mergedScans()).isEqualTo(1);
        assertThat(ScanDelta.between(current, base).removed()).containsExactly(C);
    }

    @Test
    void between_sendsProcessInFullWhenItsCmdlineChanged() {
        HostScan base = scan(1, List.of(process(A, 100)), List.of());
        HostScan current = scan(2, List.of(process(A, 100, List.of("nginx: worker process"))), List.of());

        assertThat(ScanDelta.between(base, current).added()).extracting(ProcessSample::id).containsExactly(A);
    }

    @Test
    void between_upsertsNewSocketsAndSocketsWhoseOwnersChanged_andRemovesClosedOnes() {
        HostScan base = scan(1, List.of(), List.of(socket(1, A), socket(2, A), socket(3, B)));
        HostScan current = scan(2, List.of(), List.of(socket(1, A), socket(2, A, B), socket(4, C)));

        ScanDelta d = ScanDelta.between(base, current);

        assertThat(d.socketsUpserted()).extracting(SocketSample::inode).containsExactly(2L, 4L);
        assertThat(d.socketsRemoved()).containsExactly(3L);
        assertThat(d.isEmpty()).isFalse();
    }

    @Test
    void between_ofIdenticalScans_isEmpty() {
        HostScan base = scan(1, List.of(process(A, 100)), List.of(socket(1, A)));

        assertThat(ScanDelta.between(base, scan(2, List.of(process(A, 100)), List.of(socket(1, A)))).isEmpty())
                .isTrue();
    }

    @Test
    void applyTo_ofBetween_reproducesCurrent() {
        HostScan base = scan(1, List.of(process(A, 100), process(B, 200)), List.of(socket(1, A), socket(3, B)));
        HostScan current = scan(2, List.of(process(A, 150), process(C, 1)), List.of(socket(1, A, C), socket(4, C)));

        assertThat(ScanDelta.between(base, current).applyTo(base)).isEqualTo(current);
    }

    @Test
    void between_acrossSkippedScans_equalsApplyingSuccessiveDeltas() {
        HostScan s1 = scan(1, List.of(process(A, 100), process(B, 200)), List.of(socket(1, A)));
        HostScan s2 = scan(2, List.of(process(A, 120), process(C, 5)), List.of(socket(1, A, C), socket(2, C)));
        HostScan s3 = scan(3, List.of(process(A, 120), process(B, 7)), List.of(socket(2, B)));

        HostScan stepwise = ScanDelta.between(s2, s3).applyTo(ScanDelta.between(s1, s2).applyTo(s1));
        ScanDelta merged = ScanDelta.between(s1, s3).withMergedScans(2);

        assertThat(merged.applyTo(s1)).isEqualTo(stepwise).isEqualTo(s3);
        assertThat(merged.mergedScans()).isEqualTo(2);
        // B left and came back as the same identity across the skipped scan: a change.
        assertThat(merged.changed()).extracting(ProcessSample::id).containsExactly(A, B);
        assertThat(merged.socketsRemoved()).containsExactly(1L);
    }

    @Test
    void withMergedScans_rejectsLessThanOne() {
        ScanDelta d = ScanDelta.between(scan(1, List.of(), List.of()), scan(2, List.of(), List.of()));

        assertThatThrownBy(() -> d.withMergedScans(0)).hasMessage("mergedScans: 0 (expected: >= 1)");
    }
}
