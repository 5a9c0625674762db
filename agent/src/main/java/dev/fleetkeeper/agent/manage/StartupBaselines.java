package dev.fleetkeeper.agent.manage;

import dev.fleetkeeper.agent.doctor.Doctor;
import dev.fleetkeeper.agent.doctor.Finding;
import dev.fleetkeeper.agent.memory.BaselineBook;
import dev.fleetkeeper.agent.memory.Baselines;
import dev.fleetkeeper.agent.memory.MemorySample;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.telemetry.ProcessId;
import dev.fleetkeeper.agent.telemetry.ProcessSample;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service manager's startup baselines: when each instance's memory settles after a start,
 * the level is recorded for the spec's version (one {@link BaselineBook} per service, on disk
 * under {@code dir}, or in memory when {@code dir} is null), and a version an instance runs
 * (its applied release's, else the declared one) settling above the previous one beyond the
 * tolerance becomes a finding. Reconcile thread only.
 */
final class StartupBaselines {

    private static final Logger log = LoggerFactory.getLogger(StartupBaselines.class);

    private final Path dir;
    private final Map<String, BaselineBook> books = new ConcurrentHashMap<>();
    /** The settled baseline of each instance ("service#i"), for the process identity it was taken of. */
    private final Map<String, Settled> settled = new HashMap<>();

    private record Settled(ProcessId process, long bytes) {
    }

    StartupBaselines(Path dir) {
        this.dir = dir;
    }

    private BaselineBook book(ServiceSpec spec) {
        return books.computeIfAbsent(spec.name(), name -> BaselineBook.open(dir, name));
    }

    /**
     * Instance {@code i}'s settled startup memory, 0 until it settled. The first time a process
     * identity settles, its baseline is recorded for {@code version}, the version the instance
     * runs (its applied release's, else the declared one); {@code spec} is the declared service.
     */
    long baselineOf(ServiceSpec spec, String version, int i, ProcessSample p, List<MemorySample> series, long now) {
        String key = spec.name() + "#" + i;
        Settled known = settled.get(key);
        if (known != null && known.process().equals(p.id())) {
            return known.bytes();
        }
        OptionalLong b = Baselines.settled(series, p.startTimeMillis(), now,
                new Baselines.Settings(spec.memory().baselineSettle(), 0.05));
        if (b.isEmpty()) {
            return 0;
        }
        settled.put(key, new Settled(p.id(), b.getAsLong()));
        try {
            book(spec).record(version, b.getAsLong(), now);
        } catch (UncheckedIOException e) {
            log.warn("Service '{}': {}", spec.name(), e.getMessage());
        }
        return b.getAsLong();
    }

    /** {@code state} with each instance's memory, the baselines by version, and a regression finding if any. */
    ServiceState withMemory(ServiceSpec spec, ServiceState state, Map<Integer, InstanceView.MemoryInfo> memory) {
        List<InstanceView> views = new ArrayList<>();
        for (InstanceView v : state.instances()) {
            views.add(v.withMemory(memory.get(v.status().instance())));
        }
        BaselineBook book = book(spec);
        List<Finding> findings = new ArrayList<>(state.findings());
        for (String version : runningVersions(state)) {
            book.regression(version, spec.memory().baselineTolerance()).ifPresent(r -> findings.add(
                    Doctor.baselineRegressed(spec.name(), r.current().version(), r.current().rssBytes(),
                            r.previous().version(), r.previous().rssBytes(), r.ratio(),
                            spec.memory().baselineTolerance())));
        }
        return new ServiceState(state.name(), state.driver(), state.version(), state.declared(),
                state.minAvailable(), views, findings, state.managerError(), book.baselines());
    }

    /**
     * The versions the instances run (an instance moved to a release runs the release's, not the
     * declared one), in instance order; the declared version when no instance says. A version
     * no instance runs any more (a release rolled back) is not a finding.
     */
    static Set<String> runningVersions(ServiceState state) {
        Set<String> out = new LinkedHashSet<>();
        for (InstanceView v : state.instances()) {
            out.add(v.version().isEmpty() ? state.version() : v.version());
        }
        if (out.isEmpty()) {
            out.add(state.version());
        }
        return out;
    }
}
