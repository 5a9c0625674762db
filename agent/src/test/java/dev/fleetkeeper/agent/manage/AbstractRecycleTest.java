package dev.fleetkeeper.agent.manage;

import static dev.fleetkeeper.agent.manage.LeakingWorkers.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.Capacity;
import dev.fleetkeeper.agent.service.ServiceSpec.MemorySpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Incident 2 with real leaking workers under one driver (extended per driver): a pool whose
 * workers grow at 5 to 8 MiB/s and die at 100 MiB, and a worker with a 40 MiB sawtooth and no
 * growth, under a service manager reconciling every 300 ms with the leak detector on a 12 s
 * window. Time is compressed (MiB/s instead of MiB/h); the rules are the agent's own.
 */
abstract class AbstractRecycleTest {

    static final long LIMIT = 100 * MIB;
    static final double[] RATES = {5, 6, 7, 8};
    static final Duration RUN = Duration.ofSeconds(26);

    @TempDir
    Path tmp;

    IncidentReplay replay;
    Path dir;
    Path worker;
    Path dead;

    @BeforeEach
    void setUpWorkers() throws Exception {
        assumeTrue(Files.isExecutable(Path.of(IncidentReplay.PYTHON)), "needs " + IncidentReplay.PYTHON);
        dir = Files.createDirectories(tmp.resolve("srv"));
        Files.setAttribute(tmp, "unix:mode", 0755);
        Files.setAttribute(dir, "unix:mode", 0755);
        dead = Files.createDirectories(dir.resolve("dead"));
        Files.setAttribute(dead, "unix:mode", 0777);
        worker = LeakingWorkers.write(dir);
        Files.setAttribute(worker, "unix:mode", 0644);
        replay = new IncidentReplay();
    }

    /** Stops the services' processes, the manager and the scans; idempotent (a subclass calls it before its manager goes). */
    @AfterEach
    void tearDownWorkers() throws Exception {
        IncidentReplay r = replay;
        replay = null;
        if (r != null) {
            if (r.manager != null) {
                r.manager.stopAll();
            }
            r.close(Set.of("leaky", "sawtooth"));
        }
    }

    /** The driver-specific part of a spec: the driver and its settings. */
    abstract ServiceSpec.Builder builder(String name);

    abstract DriverFactory drivers();

    /** The compressed memory policy: detector window 12 s, warm-up 1 s, forecast 5 s. */
    static MemorySpec policy(int maxRecycling, String minAvailable) {
        return new MemorySpec(LIMIT, Duration.ofSeconds(12), Duration.ofSeconds(1), 2, Duration.ofSeconds(5),
                Duration.ZERO, maxRecycling, Capacity.parse(minAvailable), MemorySpec.DEFAULT_BASELINE_SETTLE, MemorySpec.DEFAULT_BASELINE_TOLERANCE);
    }

    ServiceSpec leaky(int instances, int basePort, MemorySpec policy) {
        StringBuilder rates = new StringBuilder();
        for (int i = 0; i < instances; i++) {
            rates.append(i == 0 ? "" : ",").append(RATES[i % RATES.length]);
        }
        return builder("leaky")
                .instances(instances)
                .command(IncidentReplay.PYTHON, worker.toString(), rates.toString(), "0", "1", Long.toString(LIMIT),
                        Integer.toString(basePort), dead.toString())
                .ports(portsOf(basePort), 1)
                .stopTimeout(Duration.ofSeconds(3))
                .startTimeout(Duration.ofSeconds(10))
                .memory(policy)
                .build();
    }

    ServiceSpec sawtooth() {
        return builder("sawtooth")
                .command(IncidentReplay.PYTHON, worker.toString(), "0", "40", "1", Long.toString(LIMIT), "0",
                        dead.toString())
                .stopTimeout(Duration.ofSeconds(3))
                .memory(policy(1, "0"))
                .build();
    }

    private static List<Integer> portsOf(int base) {
        return base == 0 ? List.of() : List.of(base);
    }

    /**
     * Runs {@code leaky} and the sawtooth worker for {@link #RUN} and checks everything the issue
     * asks of recycling.
     */
    void recyclesEachLeakerBeforeItsLimit(ServiceSpec leaky, int maxRecycling, int floor) throws Exception {
        ServiceManager m = replay.start(List.of(ServiceDeclaration.valid(leaky), ServiceDeclaration.valid(sawtooth())),
                drivers());
        await().atMost(Duration.ofSeconds(20)).until(() -> up(m, "leaky") == leaky.instances() && up(m, "sawtooth") == 1);
        int sawtoothPid = pids(m, "sawtooth").get(0);

        try (LeakingWorkers.Watcher watcher = new LeakingWorkers.Watcher(m, List.of("leaky", "sawtooth"))) {
            Thread.sleep(RUN.toMillis());
            List<ServiceEvent> recycled = replay.events("leaky", ServiceEvent.Kind.RECYCLED);
            report(leaky, recycled);

            try (Stream<Path> deaths = Files.list(dead)) {
                assertThat(deaths.map(p -> p.getFileName().toString()))
                        .as("no worker reached its limit and died").isEmpty();
            }
            assertThat(replay.events("leaky", ServiceEvent.Kind.RECYCLE_FAILED)).isEmpty();
            assertThat(recycled).extracting(e -> e.instance()).as("every leaking worker was recycled")
                    .containsAll(java.util.stream.IntStream.range(0, leaky.instances()).boxed().toList());
            for (ServiceEvent e : recycled) {
                long rss = Long.parseLong(e.attributes().get("rss_before"));
                assertThat(rss).as("recycled below its limit: %s", e.message()).isLessThan(LIMIT);
                assertThat(e.attributes()).containsEntry("limit", Long.toString(LIMIT)).containsKeys("pid", "pid_before");
                assertThat(e.attributes().get("pid")).isNotEqualTo(e.attributes().get("pid_before"));
                if (e.attributes().get("trigger").equals("FORECAST")) {
                    double rate = RATES[e.instance() % RATES.length] * MIB;
                    double truth = (LIMIT - rss) / rate * 1000;
                    long forecast = Long.parseLong(e.attributes().get("forecast_ms"));
                    assertThat((double) forecast).as("forecast of %s vs the worker's real rate", e.message())
                            .isBetween(truth * 0.5, truth * 2.0);
                }
            }
            assertThat(LeakingWorkers.mostAtOnce(recycled)).as("recycles in flight at once")
                    .isBetween(1, maxRecycling);
            assertThat(watcher.fewestUp("leaky")).as("fewest leaky instances up at once").isGreaterThanOrEqualTo(floor);

            assertThat(replay.events("sawtooth", ServiceEvent.Kind.RECYCLED)).as("the sawtooth is not a leak").isEmpty();
            assertThat(pids(m, "sawtooth")).containsExactly(sawtoothPid);
            assertThat(watcher.distinctPids("sawtooth")).isEqualTo(1);
            assertThat(watcher.fewestUp("sawtooth")).isEqualTo(1);
        }
    }

    private static void report(ServiceSpec spec, List<ServiceEvent> recycled) {
        for (ServiceEvent e : recycled) {
            long rss = Long.parseLong(e.attributes().get("rss_before"));
            double rate = RATES[e.instance() % RATES.length] * MIB;
            String forecast = e.attributes().get("forecast_ms");
            System.out.printf(Locale.ROOT, "recycle %s %s#%d %s: rss %.1f MiB, %.1f MiB / %.1f s before the limit,"
                            + " forecast %s ms, down %s ms%n", spec.driver().configName(), spec.name(), e.instance(),
                    e.attributes().get("trigger"), rss / (double) MIB, (LIMIT - rss) / (double) MIB,
                    (LIMIT - rss) / rate, forecast, e.attributes().get("down_ms"));
        }
    }

    static int up(ServiceManager m, String service) {
        ServicesReport r = m.lastReport();
        if (r == null) {
            return 0;
        }
        return (int) r.services().stream().filter(s -> s.name().equals(service))
                .flatMap(s -> s.instances().stream())
                .filter(v -> v.status().state() == ManagerState.RUNNING && v.boundPorts().containsAll(v.expectedPorts()))
                .count();
    }

    static List<Integer> pids(ServiceManager m, String service) {
        return m.lastReport().services().stream().filter(s -> s.name().equals(service))
                .flatMap(s -> s.instances().stream()).map(v -> v.status().pid()).toList();
    }
}
