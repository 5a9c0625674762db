package dev.fleetkeeper.agent.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The probe thread's results against a real listener, on a fake clock: nothing passes before it
 * ran, a result is for one process only, and a result too old to trust fails.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class InstanceProbesTest {

    private static final ProbeSpec TCP = ProbeSpec.parse("tcp");

    private final AtomicLong now = new AtomicLong(1_700_000_000_000L);
    private final InstantSource clock = () -> Instant.ofEpochMilli(now.get());
    /** The thread's rounds wait an hour: the test runs each round itself and decides when time passes. */
    private final InstanceProbes probes = new InstanceProbes(clock, Duration.ofHours(1), Duration.ofMillis(500),
            Duration.ofHours(1));

    @AfterEach
    void close() {
        probes.close();
    }

    @Test
    void beforeItsFirstRun_anInstanceFailsAsNotProbedYet_thenPassesForItsProcessOnly() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            ProbeResult pending = pendingThenAim(100, s.getLocalPort());
            assertThat(pending.ok()).isFalse();
            assertThat(pending.detail()).isEqualTo("not probed yet (pid 100)");
            assertThat(pending.checkedAtMillis()).isZero();

            probes.probeAll();
            ProbeResult ok = probes.latest("web#0", TCP, 100);
            assertThat(ok.ok()).as(ok.detail()).isTrue();
            assertThat(ok.detail()).isEqualTo("accepts connections on :" + s.getLocalPort());

            // The instance restarted as pid 101: the result of pid 100 does not count for it.
            probes.aim("web#0", TCP, 101, List.of(s.getLocalPort()));
            assertThat(probes.latest("web#0", TCP, 101).ok()).isFalse();
            assertThat(probes.latest("web#0", TCP, 101).detail()).isEqualTo("not probed yet (pid 101)");
        }
    }

    @Test
    void aResultOlderThanThreePeriodsAndTwoTimeouts_failsAndSaysTheProbeThreadIsBehind() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            pendingThenAim(7, s.getLocalPort());
            probes.probeAll();
            assertThat(probes.latest("web#0", TCP, 7).ok()).isTrue();

            now.addAndGet(Duration.ofHours(3).plusSeconds(2).toMillis());

            ProbeResult stale = probes.latest("web#0", TCP, 7);
            assertThat(stale.ok()).isFalse();
            assertThat(stale.detail()).startsWith("no result for 10802 s (the agent's probe thread is behind; last: "
                    + "accepts connections on :");
        }
    }

    @Test
    void retain_forgetsWhatTheReconciliationNoLongerAimsAt() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            pendingThenAim(7, s.getLocalPort());
            probes.probeAll();
            assertThat(probes.latest("web#0", TCP, 7).ok()).isTrue();

            probes.retain(Set.of("other#0"));

            assertThat(probes.latest("web#0", TCP, 7).detail()).isEqualTo("not probed yet (pid 7)");
        }
    }

    private ProbeResult pendingThenAim(int pid, int port) {
        probes.aim("web#0", TCP, pid, List.of(port));
        return probes.latest("web#0", TCP, pid);
    }
}
