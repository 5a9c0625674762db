package dev.fleetkeeper.agent.manage;

import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.doctor.Doctor;
import dev.fleetkeeper.agent.doctor.Finding;
import dev.fleetkeeper.agent.doctor.FindingCode;
import dev.fleetkeeper.agent.doctor.HostFacts;
import dev.fleetkeeper.agent.doctor.Observation;
import dev.fleetkeeper.agent.doctor.ProcessIndex;
import dev.fleetkeeper.agent.doctor.Remedies;
import dev.fleetkeeper.agent.doctor.Severity;
import dev.fleetkeeper.agent.memory.LeakDetector;
import dev.fleetkeeper.agent.memory.LeakVerdict;
import dev.fleetkeeper.agent.memory.MemorySample;
import dev.fleetkeeper.agent.memory.MemoryWindow;
import dev.fleetkeeper.agent.recycle.RecyclePlanner;
import dev.fleetkeeper.agent.probe.InstanceProbes;
import dev.fleetkeeper.agent.probe.ProbeResult;
import dev.fleetkeeper.agent.probe.ProbeSpec;
import dev.fleetkeeper.agent.release.CurrentLink;
import dev.fleetkeeper.agent.release.Release;
import dev.fleetkeeper.agent.release.ReleaseBook;
import dev.fleetkeeper.agent.recycle.RecycleRun;
import dev.fleetkeeper.agent.service.DriverException;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.ServiceDriver;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.MemorySpec;
import dev.fleetkeeper.agent.service.ServiceSpec.RemedyPolicy;
import dev.fleetkeeper.agent.telemetry.HostScan;
import dev.fleetkeeper.agent.telemetry.ProcessId;
import dev.fleetkeeper.agent.telemetry.ProcessSample;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the host's declared services through their drivers and keeps them honest: on every
 * reconciliation it asks each manager for its instances, lays that next to the newest
 * {@code /proc} scan, diagnoses the service ({@link Doctor}) and publishes a
 * {@link ServicesReport}. It is also the pre-flight every driver calls before a start, and it
 * carries out operators' {@link ServiceCommand}s.
 *
 * <h2>Threads</h2>
 * Reconciliation runs on one thread ({@code fleetkeeper-services}); commands and automatic
 * starts on another ({@code fleetkeeper-service-ops}), one at a time, because a restart waits
 * up to the stop timeout and must not stall the reports. Drivers are thread-safe; the
 * pre-flight runs on whichever thread the driver starts from and reads only published state.
 *
 * <h2>Memory and recycling</h2>
 * For a service with a memory policy, each reconciliation appends every running instance's RSS
 * (and private memory where {@code smaps_rollup} was read) to that instance's
 * {@link MemoryWindow}, asks the {@link LeakDetector} for a verdict, and lets the
 * {@link RecyclePlanner} decide which instances to recycle. Each recycle is the driver's graceful
 * restart (stop signal, stop timeout, SIGKILL to the group, pre-flight, start) on the ops thread,
 * the same path as an operator's restart; the instance counts as unavailable until a later
 * reconciliation sees it running with its ports bound ({@link RecycleRun}), or its start timeout
 * passes. All of it is local: it goes on while the controller is unreachable.
 *
 * <h2>Releases</h2>
 * An {@link ServiceCommand.ApplyRelease} moves one instance to a release: the release is
 * recorded in the {@link ReleaseBook} (durably, before anything else), the deploy root's
 * {@code current} is switched if asked ({@link CurrentLink}), and the instance's process is
 * replaced through its driver. From then on the instance's <em>effective</em> spec (the declared
 * one with its release applied, {@link Release#applyTo}) is what every start of it uses: the
 * first starts, the driver's crash restarts ({@link ServiceDriver#applyInstance}), restarts,
 * recycles and repairs. If the replacement fails, the book goes back to what the instance
 * actually runs. The same command with no release moves an instance back to its declared spec
 * (a rollback to what it ran before any release): its record is removed, and with
 * {@code switch_current} {@code current} points at {@code releases/<declared version>} again.
 * Only the built-in driver can run instances of one service on different releases; for
 * supervisord and PM2 the command is rejected.
 *
 * <h2>Never harm what is not ours</h2>
 * The manager signals nothing itself: drivers stop their own instances, and {@link Remedies}
 * stops only processes whose environment proves they belong to the service.
 */
public final class ServiceManager implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ServiceManager.class);
    /** How often the managers' configuration is compared with the specs, in reconciliations. */
    private static final int DRIFT_EVERY = 12;
    /** Most lines of output a Tail command returns. */
    public static final int MAX_TAIL_LINES = 10_000;

    private final List<ServiceDeclaration> declarations;
    private final StartupBaselines baselines;
    /** The release each instance was moved to; written on the ops thread only. */
    private final ReleaseBook releases;
    private final Map<String, ServiceSpec> specs = new LinkedHashMap<>();
    private final DriverFactory factory;
    private final HostFacts facts;
    private final Doctor doctor;
    private final Remedies remedies;
    private final Supplier<HostScan> scans;
    private final InstantSource clock;
    private final Duration interval;
    private final ServiceEvent.Sink events;
    private final Consumer<ServicesReport> reports;
    /** Health probes of the running instances that have one (declared, or their release's). */
    private final InstanceProbes probes;

    private final Map<String, ServiceDriver> drivers = new ConcurrentHashMap<>();
    private final Map<String, String> driverErrors = new ConcurrentHashMap<>();
    private final Map<String, InstanceHistory[]> histories = new ConcurrentHashMap<>();
    private final Map<String, List<InstanceStatus>> lastStatuses = new ConcurrentHashMap<>();
    private final Map<String, List<String>> drift = new ConcurrentHashMap<>();
    private final Set<String> openFindings = new HashSet<>();
    /** Memory series by service; reconcile thread only. */
    private final Map<String, MemoryWindow[]> windows = new HashMap<>();
    /** Leak detectors by service (settings from its memory policy); reconcile thread only. */
    private final Map<String, LeakDetector> detectors = new HashMap<>();
    /** What was last logged as held back, by service; reconcile thread only. */
    private final Map<String, String> lastHeld = new HashMap<>();
    /**
     * How long a start-first replacement must run (not exit, not restart) after the driver's own
     * one-second start check before the process it replaces is stopped: long enough for a worker
     * that dies on loading its code or on its first connection, short enough that a process over
     * its memory limit is not kept much longer.
     */
    static final Duration START_FIRST_UP_FOR = Duration.ofSeconds(3);

    /** Recycles in flight, by "service#instance". */
    private final Map<String, RecycleRun> recycles = new ConcurrentHashMap<>();
    private volatile Set<Integer> managedPids = Set.of();
    /** Whether every spec has been applied once (and the first starts made): repairs wait for it. */
    private volatile boolean applied;
    private volatile ServicesReport lastReport;
    private final AtomicLong failures = new AtomicLong();
    private long reconciliations;

    private ScheduledExecutorService loop;
    private ExecutorService ops;
    private ScheduledFuture<?> task;
    private boolean closed;

    /**
     * @param declarations the config's services, valid or not
     * @param factory      makes the drivers
     * @param facts        host facts shared with the doctor
     * @param scans        the newest scan (null before the first)
     * @param clock        time
     * @param interval     time between reconciliations
     * @param host         how commands in findings name this host
     * @param events       where service events go (must not block)
     * @param reports      where each report goes (must not block)
     */
    public ServiceManager(List<ServiceDeclaration> declarations, DriverFactory factory, HostFacts facts,
                          Supplier<HostScan> scans, InstantSource clock, Duration interval, String host,
                          ServiceEvent.Sink events, Consumer<ServicesReport> reports) {
        this(declarations, factory, facts, scans, clock, interval, host, events, reports, null);
    }

    /**
     * As above, keeping startup memory baselines in {@code baselineDir} (one file per service)
     * across agent restarts; null keeps them in memory only.
     */
    public ServiceManager(List<ServiceDeclaration> declarations, DriverFactory factory, HostFacts facts,
                          Supplier<HostScan> scans, InstantSource clock, Duration interval, String host,
                          ServiceEvent.Sink events, Consumer<ServicesReport> reports, java.nio.file.Path baselineDir) {
        this(declarations, factory, facts, scans, clock, interval, host, events, reports, baselineDir, null);
    }

    /**
     * As above, also keeping each instance's applied release in {@code releaseDir} (one file per
     * service) across agent restarts; null keeps them in memory only.
     */
    public ServiceManager(List<ServiceDeclaration> declarations, DriverFactory factory, HostFacts facts,
                          Supplier<HostScan> scans, InstantSource clock, Duration interval, String host,
                          ServiceEvent.Sink events, Consumer<ServicesReport> reports, Path baselineDir,
                          Path releaseDir) {
        this.baselines = new StartupBaselines(baselineDir);
        this.releases = releaseDir == null ? ReleaseBook.inMemory() : ReleaseBook.open(releaseDir);
        this.declarations = List.copyOf(declarations);
        for (ServiceDeclaration d : declarations) {
            if (d.isValid()) {
                specs.put(d.name(), d.spec());
                histories.put(d.name(), newHistories(d.spec().instances()));
            }
        }
        this.factory = factory;
        this.facts = facts;
        this.scans = scans;
        this.clock = clock;
        this.interval = interval;
        this.events = events;
        this.reports = reports;
        this.doctor = new Doctor(facts, this::isMember, host);
        this.remedies = new Remedies(facts, this::isMember, clock);
        this.probes = new InstanceProbes(clock, InstanceProbes.DEFAULT_EVERY, InstanceProbes.DEFAULT_TIMEOUT);
    }

    private static InstanceHistory[] newHistories(int n) {
        InstanceHistory[] h = new InstanceHistory[n];
        for (int i = 0; i < n; i++) {
            h[i] = new InstanceHistory();
        }
        return h;
    }

    /** Makes the drivers, applies every spec, starts what should run, and starts reconciling. */
    public synchronized void start() {
        if (loop != null) {
            throw new IllegalStateException("service manager already started");
        }
        loop = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "fleetkeeper-services"));
        ops = Executors.newSingleThreadExecutor(r -> daemon(r, "fleetkeeper-service-ops"));
        ops.execute(guarded("apply services", this::applyAll));
        task = loop.scheduleWithFixedDelay(guarded("reconcile", this::reconcile), 0, interval.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private Runnable guarded(String what, Runnable r) {
        return () -> {
            try {
                r.run();
            } catch (RuntimeException | Error e) {
                failures.incrementAndGet();
                log.error("Service manager task '{}' failed; it runs again on schedule", what, e);
            }
        };
    }

    /** Whether {@code id} is a current instance's process (for the scanner's detail cadence). Any thread. */
    public boolean isManaged(ProcessId id) {
        return managedPids.contains(id.pid());
    }

    /** The newest report, or null before the first reconciliation. Any thread. */
    public ServicesReport lastReport() {
        return lastReport;
    }

    /** The declared valid specs, by name, in declaration order. */
    public Map<String, ServiceSpec> specs() {
        return Map.copyOf(specs);
    }

    /** Tasks that threw. */
    public long failures() {
        return failures.get();
    }

    // ---- drivers ----------------------------------------------------------------------------

    /** The driver of {@code spec}, made on first use; throws DriverException when it cannot be made. */
    private ServiceDriver driver(ServiceSpec spec) {
        String endpoint = factory.endpointOf(spec);
        ServiceDriver d = drivers.get(endpoint);
        if (d != null) {
            return d;
        }
        synchronized (drivers) {
            d = drivers.get(endpoint);
            if (d == null) {
                d = factory.create(spec, this::preflight, events);
                drivers.put(endpoint, d);
            }
            return d;
        }
    }

    private boolean isMember(ServiceSpec spec, ProcessId id) {
        Map<String, String> markers = facts.markers(id);
        if (markers.isEmpty()) {
            return false;
        }
        if (spec.name().equals(markers.get("FLEETKEEPER_SERVICE"))) {
            return true;
        }
        try {
            return driver(spec).isMember(spec, markers);
        } catch (DriverException e) {
            return false;
        }
    }

    private void applyAll() {
        // Pre-flight needs a scan: wait for the first one (the agent scans at once on start).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (scans.get() == null && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        for (ServiceSpec spec : specs.values()) {
            try {
                ServiceDriver d = driver(spec);
                d.apply(spec);
                for (int i : releases.of(spec.name()).keySet()) {
                    if (i < spec.instances()) {
                        d.applyInstance(effective(spec, i), i);
                    }
                }
                driverErrors.remove(spec.name());
                autostart(d, spec);
            } catch (DriverException e) {
                driverErrors.put(spec.name(), e.getMessage());
                log.warn("Service '{}': {}", spec.name(), e.getMessage());
            }
        }
        applied = true;
    }

    /**
     * Starts what the agent is responsible for starting, each through pre-flight: the built-in
     * driver's instances that are not running (it adopted those that were), the stopped
     * instances of a supervisord program whose config the agent owns, and PM2 instances PM2 does
     * not know. Programs an operator's supervisord config defines are left to supervisord.
     */
    private void autostart(ServiceDriver d, ServiceSpec spec) {
        if (spec.driver() == DriverKind.SUPERVISOR && spec.supervisor().configFile() == null) {
            return; // the operator's program: supervisord's autostart and supervisorctl decide
        }
        List<InstanceStatus> statuses = d.status(spec);
        for (InstanceStatus st : statuses) {
            boolean start;
            switch (spec.driver()) {
                case BUILTIN:
                    start = !st.state().claimsProcess() && st.state() != ManagerState.BACKOFF;
                    break;
                case SUPERVISOR:
                    // The agent's program is written with autostart=false, so that every start has a pre-flight.
                    start = st.state() == ManagerState.STOPPED;
                    break;
                default:
                    start = st.state() == ManagerState.UNKNOWN;
            }
            if (start) {
                try {
                    d.start(effective(spec, st.instance()), st.instance());
                } catch (DriverException e) {
                    log.warn("Service '{}' instance {} did not start: {}", spec.name(), st.instance(), e.getMessage());
                }
            }
        }
    }

    // ---- reconciliation ---------------------------------------------------------------------

    private void reconcileSoon() {
        ScheduledExecutorService l = loop;
        try {
            l.execute(guarded("reconcile", this::reconcile));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // Closing: nothing to report to.
        }
    }

    private void reconcile() {
        HostScan scan = scans.get();
        if (scan == null) {
            return;
        }
        reconciliations++;
        Instant now = clock.instant();
        facts.retain(scan.processes().keySet());
        boolean checkDrift = reconciliations % DRIFT_EVERY == 1;
        List<ServiceState> states = new ArrayList<>();
        Set<Integer> pids = new HashSet<>();
        Set<String> probed = new HashSet<>();
        for (ServiceDeclaration decl : declarations) {
            if (!decl.isValid()) {
                states.add(new ServiceState(decl.name(), "", "", 0, 0, List.of(),
                        List.of(Doctor.invalidSpec(decl.name(), decl.error())), null, List.of()));
                continue;
            }
            Observation o = observe(decl.spec(), now, checkDrift);
            List<Finding> findings = doctor.diagnose(o, scan, now);
            ServiceState state = state(o, findings, scan, pids, probed);
            heal(o, findings, now);
            if (decl.spec().memory() != null && o.managerError() == null) {
                Map<Integer, InstanceView.MemoryInfo> memory = recycle(decl.spec(), state, o.recentRestarts(), scan,
                        now.toEpochMilli());
                state = baselines.withMemory(decl.spec(), state, memory);
            }
            states.add(state);
        }
        managedPids = Set.copyOf(pids);
        probes.retain(probed);
        ServicesReport report = new ServicesReport(now.toEpochMilli(), states);
        announceNewFindings(report);
        lastReport = report;
        reports.accept(report);
    }

    /** Codes whose automatic remedy unblocks a start. */
    private static final Set<FindingCode> BLOCKING = Set.of(FindingCode.PORT_HELD, FindingCode.STALE_PIDFILE,
            FindingCode.PATH_NOT_WRITABLE, FindingCode.UNEXPECTED_PROCESS);
    /** Least time between two healing attempts on one instance. */
    private static final Duration HEAL_EVERY = Duration.ofSeconds(30);
    private final Map<String, Long> lastHeal = new ConcurrentHashMap<>();

    /**
     * With remedies {@code auto}, repairs what keeps a down instance down even when no start of
     * the agent's is involved: supervisord's and PM2's own restarts after a crash bypass the
     * agent's pre-flight, so an orphan holding the port turns them into a crash loop. For an
     * instance that is not running and has a blocking finding with an automatic remedy, the
     * remedies are applied on the ops thread and, if the manager gave up (FATAL) or stopped
     * trying, the instance is started again (through pre-flight). At most once per
     * {@link #HEAL_EVERY} per instance; works while the controller is unreachable.
     */
    private void heal(Observation o, List<Finding> findings, Instant now) {
        ServiceSpec spec = o.spec();
        if (spec.remedies() != RemedyPolicy.AUTO || o.managerError() != null || !applied) {
            return;
        }
        for (InstanceStatus st : o.statuses()) {
            if (st.state() != ManagerState.FATAL && st.state() != ManagerState.BACKOFF
                    && st.state() != ManagerState.EXITED) {
                // Up, on its way up or down, stopped on purpose, or not known to its manager yet
                // (the agent is still applying its spec): not ours to repair now.
                continue;
            }
            int i = st.instance();
            List<Finding> fixable = findings.stream()
                    .filter(f -> (f.instance() == i || f.instance() == -1) && BLOCKING.contains(f.code())
                            && f.remedy().automatic())
                    .toList();
            if (fixable.isEmpty()) {
                continue;
            }
            String key = spec.name() + "#" + i;
            Long last = lastHeal.get(key);
            if (last != null && now.toEpochMilli() - last < HEAL_EVERY.toMillis()) {
                continue;
            }
            lastHeal.put(key, now.toEpochMilli());
            // FATAL: the manager gave up. EXITED stays as its restart policy left it.
            boolean restart = st.state() == ManagerState.FATAL;
            log.warn("Service '{}' instance {} is {} with {} repairable finding(s): repairing{}", spec.name(), i,
                    st.state(), fixable.size(), restart ? " and starting it" : "");
            ExecutorService e = ops;
            try {
                e.execute(guarded("heal " + key, () -> {
                    for (Finding f : fixable) {
                        reportRemedy(spec, remedies.apply(spec, f));
                    }
                    if (restart) {
                        try {
                            driver(spec).start(effective(spec, i), i);
                        } catch (DriverException ex) {
                            log.warn("Service '{}' instance {} did not start after repair: {}", spec.name(), i,
                                    ex.getMessage());
                        }
                    }
                    reconcileSoon();
                }));
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                return;
            }
        }
    }

    // ---- memory and recycling ---------------------------------------------------------------

    /**
     * Records each instance's memory, finishes the recycles that are over, and starts those the
     * planner decides. Reconcile thread.
     */
    private Map<Integer, InstanceView.MemoryInfo> recycle(ServiceSpec spec, ServiceState state,
                                                          Map<Integer, Integer> restarts, HostScan scan, long now) {
        Map<Integer, InstanceView.MemoryInfo> memory = new HashMap<>();
        MemorySpec policy = spec.memory();
        MemoryWindow[] w = windows.computeIfAbsent(spec.name(), k -> newWindows(spec.instances()));
        LeakDetector detector = detectors.computeIfAbsent(spec.name(), k -> new LeakDetector(detectorSettings(policy, interval)));
        List<RecyclePlanner.Instance> instances = new ArrayList<>();
        Map<Integer, Integer> pids = new HashMap<>();
        for (InstanceView v : state.instances()) {
            InstanceStatus st = v.status();
            int i = st.instance();
            String key = spec.name() + "#" + i;
            RecycleRun run = recycles.get(key);
            if (run != null && finish(spec, run, v, now)) {
                recycles.remove(key);
                run = null;
            }
            ProcessSample p = v.process();
            boolean running = st.state() == ManagerState.RUNNING && p != null && !p.isZombie();
            boolean up = running && v.boundPorts().containsAll(v.expectedPorts());
            boolean looping = restarts.getOrDefault(i, 0) >= spec.crashLoop().restarts()
                    || st.state() == ManagerState.BACKOFF || st.state() == ManagerState.FATAL;
            if (!running) {
                w[i].clear();
                instances.add(new RecyclePlanner.Instance(i, false, looping, run != null, 0, -1, 0, 0, null));
                continue;
            }
            pids.put(i, p.pid());
            long limit = policy.effectiveLimit(p.rssBytes(), scan.host().memAvailableBytes(), spec.instances());
            MemorySample last = w[i].latest();
            if (last == null || !p.id().equals(w[i].owner()) || scan.takenAtMillis() > last.timeMillis()) {
                w[i].record(p.id(), p.startTimeMillis(), new MemorySample(scan.takenAtMillis(), p.rssBytes(),
                        privateBytes(p)), policy.window(), limit);
            }
            LeakVerdict verdict = detector.assess(w[i].samples(), limit, w[i].startedAtMillis(), now);
            memory.put(i, new InstanceView.MemoryInfo(verdict, limit,
                    baselines.baselineOf(spec, versionOf(spec, i), i, p, w[i].samples(), now)));
            instances.add(new RecyclePlanner.Instance(i, up, looping, run != null, w[i].startedAtMillis(),
                    p.rssBytes(), limit, w[i].overLimitSamples(), verdict));
        }
        RecyclePlanner.Plan plan = RecyclePlanner.decide(policy, spec.instances(), instances, now);
        for (RecyclePlanner.Recycle r : plan.recycle()) {
            dispatch(spec, r, pids.getOrDefault(r.instance(), 0), now);
        }
        String held = plan.held().isEmpty() ? "" : plan.held().toString();
        if (!held.equals(lastHeld.getOrDefault(spec.name(), ""))) {
            if (!held.isEmpty()) {
                log.info("Service '{}': recycles held back: {}", spec.name(), plan.held());
            }
            lastHeld.put(spec.name(), held);
        }
        return memory;
    }


    private static MemoryWindow[] newWindows(int n) {
        MemoryWindow[] w = new MemoryWindow[n];
        for (int i = 0; i < n; i++) {
            w[i] = new MemoryWindow();
        }
        return w;
    }

    /** Private memory from smaps_rollup (anonymous where private is not reported), -1 when not read. */
    private static long privateBytes(ProcessSample p) {
        if (p.memory() == null) {
            return -1;
        }
        return p.memory().privateBytes() > 0 ? p.memory().privateBytes() : p.memory().anonymousBytes();
    }

    /** Starts the graceful restart of one instance on the ops thread. Reconcile thread. */
    private void dispatch(ServiceSpec spec, RecyclePlanner.Recycle r, int pidBefore, long now) {
        int i = r.instance();
        String key = spec.name() + "#" + i;
        RecycleRun run = new RecycleRun(spec.name(), r, pidBefore, now);
        recycles.put(key, run);
        histories.get(spec.name())[i].expectRestart();
        log.info("Service '{}' instance {} (pid {}): recycling, {}: {}", spec.name(), i, pidBefore, r.trigger(), r.reason());
        try {
            ops.execute(guarded("recycle " + key, () -> {
                try {
                    boolean startFirst = driver(spec).replace(effective(spec, i), i, START_FIRST_UP_FOR);
                    run.restarted(clock.millis(), startFirst);
                } catch (DriverException e) {
                    run.failed(e.getMessage());
                }
                reconcileSoon();
            }));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            recycles.remove(key);
        }
    }

    /** Moves {@code run} to its end when it got there; true when it is over. Reconcile thread. */
    private boolean finish(ServiceSpec spec, RecycleRun run, InstanceView v, long now) {
        RecyclePlanner.Recycle r = run.decision();
        switch (run.phase()) {
            case REQUESTED:
                return false;
            case FAILED:
                recycleFailed(spec, run, "the restart failed: " + run.error());
                return true;
            case RESTARTED:
                InstanceStatus st = v.status();
                if (st.state() == ManagerState.RUNNING && st.pid() > 0 && st.pid() != run.pidBefore()
                        && v.process() != null && v.boundPorts().containsAll(v.expectedPorts())) {
                    run.done();
                    histories.get(spec.name())[r.instance()].settlePlannedRestarts();
                    Map<String, String> attrs = recycleAttributes(run);
                    attrs.put("pid", Integer.toString(st.pid()));
                    attrs.put("down_ms", Long.toString(now - run.requestedAtMillis()));
                    events.accept(new ServiceEvent(now, spec.name(), r.instance(), ServiceEvent.Kind.RECYCLED,
                            "recycled (" + r.trigger() + ": " + r.reason() + "), pid " + run.pidBefore() + " -> "
                                    + st.pid(), attrs));
                    log.info("Service '{}' instance {}: recycled, pid {} -> {}, up again after {} ms", spec.name(),
                            r.instance(), run.pidBefore(), st.pid(), now - run.requestedAtMillis());
                    return true;
                }
                if (now - run.restartedAtMillis() > spec.startTimeout().toMillis()) {
                    run.timedOut();
                    recycleFailed(spec, run, "not running with its ports bound " + spec.startTimeout().toSeconds()
                            + " s after the restart (state " + st.state() + ")");
                    return true;
                }
                return false;
            default:
                return true;
        }
    }

    private void recycleFailed(ServiceSpec spec, RecycleRun run, String why) {
        histories.get(spec.name())[run.decision().instance()].settlePlannedRestarts();
        Map<String, String> attrs = recycleAttributes(run);
        attrs.put("error", why);
        events.accept(new ServiceEvent(clock.millis(), spec.name(), run.decision().instance(),
                ServiceEvent.Kind.RECYCLE_FAILED, "recycle (" + run.decision().trigger() + ") failed: " + why, attrs));
        log.warn("Service '{}' instance {}: recycle failed: {}", spec.name(), run.decision().instance(), why);
    }

    private static Map<String, String> recycleAttributes(RecycleRun run) {
        RecyclePlanner.Recycle r = run.decision();
        Map<String, String> attrs = new LinkedHashMap<>();
        attrs.put("trigger", r.trigger().name());
        attrs.put("reason", r.reason());
        attrs.put("rss_before", Long.toString(r.rssBytes()));
        attrs.put("limit", Long.toString(r.limitBytes()));
        attrs.put("forecast_ms", r.timeToLimit() == null ? "" : Long.toString(r.timeToLimit().toMillis()));
        attrs.put("pid_before", Integer.toString(run.pidBefore()));
        attrs.put("mode", run.startFirst() ? "start-first" : "stop-first");
        return attrs;
    }

    /**
     * The detector's settings for a policy: its window and warm-up, and the detector's defaults
     * scaled to the samples that window holds at one sample per reconciliation (a verdict needs
     * at least half of them, and a third of the window spanned), never demanding more than the
     * defaults do.
     */
    static LeakDetector.Settings detectorSettings(MemorySpec policy, Duration interval) {
        LeakDetector.Settings d = LeakDetector.Settings.DEFAULTS;
        long expected = policy.window().toMillis() / Math.max(1, interval.toMillis());
        int minSamples = (int) Math.max(d.buckets(), Math.min(d.minSamples(), expected / 2));
        Duration third = policy.window().dividedBy(3);
        Duration minSpan = third.compareTo(d.minSpan()) < 0 ? third : d.minSpan();
        if (minSpan.toMillis() <= 0) {
            minSpan = policy.window();
        }
        return new LeakDetector.Settings(policy.window(), policy.warmUp(), minSamples, minSpan, d.buckets(),
                d.minSlopeBytesPerSecond(), d.minGrowthPercentPerHour(), d.minConfidence(), d.minHalfShare(),
                d.maxPairs());
    }

    /** Asks the manager about {@code spec} and completes it with the history the manager does not keep. */
    private Observation observe(ServiceSpec spec, Instant now, boolean checkDrift) {
        List<InstanceStatus> statuses = List.of();
        String error = driverErrors.get(spec.name());
        try {
            ServiceDriver d = driver(spec);
            statuses = d.status(spec);
            error = null;
            driverErrors.remove(spec.name());
            if (checkDrift || !drift.containsKey(spec.name())) {
                drift.put(spec.name(), d.configDrift(spec));
            }
        } catch (DriverException e) {
            error = e.getMessage();
            driverErrors.put(spec.name(), error);
        }
        lastStatuses.put(spec.name(), statuses);
        InstanceHistory[] h = histories.get(spec.name());
        Map<Integer, Integer> restarts = new HashMap<>();
        Map<Integer, List<String>> lines = new HashMap<>();
        long windowStart = now.toEpochMilli() - spec.crashLoop().window().toMillis();
        for (InstanceStatus st : statuses) {
            if (st.instance() >= h.length) {
                continue;
            }
            int n = h[st.instance()].update(st, now.toEpochMilli(), windowStart);
            restarts.put(st.instance(), n);
            boolean failing = n > 0 || st.state() == ManagerState.FATAL || st.state() == ManagerState.BACKOFF
                    || st.state() == ManagerState.EXITED || st.state() == ManagerState.STARTING;
            if (failing && error == null) {
                try {
                    lines.put(st.instance(), driver(spec).tail(spec, st.instance(), 20));
                } catch (DriverException e) {
                    lines.put(st.instance(), List.of("(output not readable: " + e.getMessage() + ")"));
                }
            }
        }
        return new Observation(spec, statuses, error, error == null ? drift.getOrDefault(spec.name(), List.of())
                : List.of(), restarts, lines);
    }

    private static final Set<FindingCode> INCONSISTENT = Set.of(FindingCode.PROCESS_GONE, FindingCode.PROCESS_DEFUNCT,
            FindingCode.UNEXPECTED_PROCESS, FindingCode.PIDFILE_MISMATCH);

    private ServiceState state(Observation o, List<Finding> findings, HostScan scan, Set<Integer> pids,
                               Set<String> probed) {
        ServiceSpec spec = o.spec();
        ProcessIndex index = doctor.index(scan);
        List<InstanceView> views = new ArrayList<>();
        for (InstanceStatus st : o.statuses()) {
            if (st.instance() >= spec.instances()) {
                continue;
            }
            ProcessSample p = st.pid() > 0 ? index.byPid(st.pid()) : null;
            if (p != null) {
                pids.add(p.pid());
            }
            boolean consistent = findings.stream()
                    .noneMatch(f -> f.instance() == st.instance() && INCONSISTENT.contains(f.code()));
            views.add(new InstanceView(st, p, spec.portsOf(st.instance()),
                    doctor.boundPorts(spec, st.instance(), st.pid(), scan), consistent, null,
                    versionOf(spec, st.instance()), releaseOf(spec, st.instance()), probe(spec, st, probed)));
        }
        return new ServiceState(spec.name(), spec.driver().configName(), spec.version(), spec.instances(),
                spec.declaredFloor(), views, findings, o.managerError(), List.of());
    }

    /**
     * Aims the probe of the instance's effective spec (its release's, else the declared one) at
     * the process it runs now, and returns the newest result for that process; null when it has
     * no probe, is not running, or was not probed since it started. Adds what it aimed to {@code probed}.
     */
    private ProbeResult probe(ServiceSpec declared, InstanceStatus st, Set<String> probed) {
        Release release = releaseOf(declared, st.instance());
        ProbeSpec probe = release == null ? declared.probe() : release.probeOver(declared);
        if (probe == null || st.state() != ManagerState.RUNNING || st.pid() <= 0) {
            return null;
        }
        String key = declared.name() + "#" + st.instance();
        probed.add(key);
        probes.aim(key, probe, st.pid(), declared.portsOf(st.instance()));
        return probes.latest(key, probe, st.pid());
    }

    /** One FINDING event when a finding appears; again only after it cleared. */
    private void announceNewFindings(ServicesReport report) {
        Set<String> now = new HashSet<>();
        for (ServiceState s : report.services()) {
            for (Finding f : s.findings()) {
                String key = f.key();
                now.add(key);
                if (!openFindings.contains(key)) {
                    Map<String, String> attrs = new LinkedHashMap<>();
                    attrs.put("code", f.code().name());
                    attrs.put("severity", f.severity().name());
                    for (int i = 0; i < f.evidence().size(); i++) {
                        attrs.put("evidence." + i + "." + f.evidence().get(i).label(), f.evidence().get(i).value());
                    }
                    events.accept(new ServiceEvent(report.takenAtMillis(), f.service(), f.instance(),
                            ServiceEvent.Kind.FINDING, f.code() + ": " + f.summary(), attrs));
                }
            }
        }
        openFindings.clear();
        openFindings.addAll(now);
    }

    // ---- pre-flight -------------------------------------------------------------------------

    /**
     * The pre-flight of a start of {@code spec}'s instance {@code instance}: null to go on, or
     * the reason to refuse. With remedies {@code auto} the safe remedies are applied first.
     */
    String preflight(ServiceSpec spec, int instance) {
        if (scans.get() == null) {
            return null; // nothing known yet: the first scan runs before any start in practice
        }
        // A scan taken after this moment: a port bound a moment ago must not be missed. Costs at
        // most one scan interval per start.
        HostScan scan = freshScan(clock.millis());
        Observation o = new Observation(spec, lastStatuses.getOrDefault(spec.name(), List.of()), null, List.of(),
                Map.of(), Map.of());
        List<Finding> blocking = doctor.preflight(o, scan, clock.instant(), instance);
        if (blocking.isEmpty()) {
            return null;
        }
        List<String> unresolved = new ArrayList<>();
        for (Finding f : blocking) {
            if (spec.remedies() == RemedyPolicy.AUTO && f.remedy().automatic()) {
                Remedies.Outcome out = remedies.apply(spec, f);
                reportRemedy(spec, out);
                if (out.succeeded()) {
                    continue;
                }
                unresolved.add(f.code() + ": " + f.summary() + " (remedy failed: " + out.action() + ")");
            } else {
                unresolved.add(f.code() + ": " + f.summary());
            }
        }
        if (unresolved.isEmpty()) {
            return null;
        }
        return "pre-flight refused the start of " + spec.name() + "#" + instance + ": " + String.join("; ", unresolved)
                + (spec.remedies() == RemedyPolicy.REFUSE ? " (remedies: refuse; run fleetkeeper doctor --fix, or set "
                + "remedies: auto)" : "");
    }

    private void reportRemedy(ServiceSpec spec, Remedies.Outcome out) {
        Map<String, String> attrs = new LinkedHashMap<>();
        attrs.put("code", out.finding().code().name());
        attrs.put("succeeded", Boolean.toString(out.succeeded()));
        for (int i = 0; i < out.before().size(); i++) {
            attrs.put("before." + i + "." + out.before().get(i).label(), out.before().get(i).value());
        }
        for (int i = 0; i < out.after().size(); i++) {
            attrs.put("after." + i + "." + out.after().get(i).label(), out.after().get(i).value());
        }
        events.accept(new ServiceEvent(clock.millis(), spec.name(), out.finding().instance(),
                ServiceEvent.Kind.REMEDY_APPLIED, out.action(), attrs));
        log.info("Service '{}': remedy for {}: {}", spec.name(), out.finding().code(), out.action());
    }

    // ---- commands ---------------------------------------------------------------------------

    /** Carries out {@code command} on the ops thread. */
    public CompletableFuture<CommandResult> execute(ServiceCommand command) {
        CompletableFuture<CommandResult> done = new CompletableFuture<>();
        ExecutorService e = ops;
        if (e == null) {
            done.complete(CommandResult.failed("the service manager is not running"));
            return done;
        }
        try {
            e.execute(() -> {
                try {
                    CommandResult result = run(command);
                    // Report what the command changed now rather than at the next tick.
                    reconcileSoon();
                    done.complete(result);
                } catch (RuntimeException | Error t) {
                    failures.incrementAndGet();
                    log.error("Service command {} failed", command, t);
                    done.complete(CommandResult.failed(command + " failed: " + t));
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            done.complete(CommandResult.failed("the agent is shutting down"));
        }
        return done;
    }

    private CommandResult run(ServiceCommand command) {
        if (command instanceof ServiceCommand.Doctor d) {
            return doctor(d);
        }
        if (command instanceof ServiceCommand.Restart r) {
            return restart(r);
        }
        if (command instanceof ServiceCommand.Recycle r) {
            return recycle(r);
        }
        if (command instanceof ServiceCommand.ApplyRelease a) {
            return applyRelease(a);
        }
        return tail((ServiceCommand.Tail) command);
    }

    private String unknownService(String name) {
        List<String> known = declarations.stream().map(ServiceDeclaration::name).toList();
        return "no service '" + name + "' on this host (declared: "
                + (known.isEmpty() ? "none" : String.join(", ", known)) + ")";
    }

    private CommandResult doctor(ServiceCommand.Doctor cmd) {
        List<ServiceDeclaration> chosen = declarations.stream()
                .filter(d -> cmd.service().isEmpty() || d.name().equals(cmd.service())).toList();
        if (chosen.isEmpty() && !cmd.service().isEmpty()) {
            return CommandResult.rejected(unknownService(cmd.service()));
        }
        HostScan scan = scans.get();
        if (scan == null) {
            return CommandResult.failed("no scan of /proc yet; try again in a second");
        }
        List<Finding> findings = diagnose(chosen, scan);
        List<Remedies.Outcome> applied = new ArrayList<>();
        List<Finding> remaining = findings;
        if (cmd.fix()) {
            for (Finding f : findings) {
                if (f.remedy().automatic()) {
                    ServiceSpec spec = specs.get(f.service());
                    Remedies.Outcome out = remedies.apply(spec, f);
                    reportRemedy(spec, out);
                    applied.add(out);
                }
            }
            if (!applied.isEmpty()) {
                remaining = diagnose(chosen, freshScan(clock.millis()));
            }
        }
        List<String> names = chosen.stream().map(ServiceDeclaration::name).toList();
        String message = findings.isEmpty() ? "no findings on " + names.size() + " service(s)"
                : findings.size() + " finding(s)" + (cmd.fix() ? ", " + applied.stream().filter(Remedies.Outcome::succeeded)
                .count() + " remedied, " + remaining.size() + " left" : "");
        return new CommandResult(CommandResult.Status.SUCCEEDED, message,
                new CommandResult.DoctorResult(names, findings, applied, remaining), null);
    }

    private List<Finding> diagnose(List<ServiceDeclaration> chosen, HostScan scan) {
        Instant now = clock.instant();
        List<Finding> out = new ArrayList<>();
        for (ServiceDeclaration d : chosen) {
            if (!d.isValid()) {
                out.add(Doctor.invalidSpec(d.name(), d.error()));
                continue;
            }
            out.addAll(doctor.diagnose(observe(d.spec(), now, true), scan, now));
        }
        return out;
    }

    /** A scan taken after {@code afterMillis}, waiting up to three scan intervals; else the newest. */
    private HostScan freshScan(long afterMillis) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        HostScan s = scans.get();
        while (s.takenAtMillis() <= afterMillis && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            s = scans.get();
        }
        return s;
    }

    private CommandResult restart(ServiceCommand.Restart cmd) {
        ServiceSpec spec = specs.get(cmd.service());
        if (spec == null) {
            return CommandResult.rejected(unknownService(cmd.service()));
        }
        if (cmd.instance() < -1 || cmd.instance() >= spec.instances()) {
            return CommandResult.rejected("service '" + spec.name() + "' has no instance " + cmd.instance() + " (it has "
                    + spec.instances() + ": 0 to " + (spec.instances() - 1) + ")");
        }
        List<Integer> which = new ArrayList<>();
        if (cmd.instance() == -1) {
            for (int i = 0; i < spec.instances(); i++) {
                which.add(i);
            }
        } else {
            which.add(cmd.instance());
        }
        List<String> done = new ArrayList<>();
        for (int i : which) {
            try {
                ServiceDriver d = driver(spec);
                int before = pidOf(d.status(spec), i);
                d.restart(effective(spec, i), i);
                int after = pidOf(d.status(spec), i);
                done.add(spec.name() + "#" + i + " (pid " + (before > 0 ? before : "-") + " -> " + (after > 0 ? after : "-") + ")");
            } catch (DriverException e) {
                String ok = done.isEmpty() ? "" : " (restarted before it: " + String.join(", ", done) + ")";
                return CommandResult.failed("restart of " + spec.name() + "#" + i + " failed: " + e.getMessage() + ok);
            }
        }
        return new CommandResult(CommandResult.Status.SUCCEEDED, "restarted " + String.join(", ", done), null, null);
    }

    /** One instance, restarted as {@link #restart} does, and told as a RECYCLED event. */
    private CommandResult recycle(ServiceCommand.Recycle cmd) {
        ServiceSpec spec = specs.get(cmd.service());
        if (spec == null) {
            return CommandResult.rejected(unknownService(cmd.service()));
        }
        if (cmd.instance() < 0 || cmd.instance() >= spec.instances()) {
            return CommandResult.rejected("service '" + spec.name() + "' has no instance " + cmd.instance() + " (it has "
                    + spec.instances() + ": 0 to " + (spec.instances() - 1) + ")");
        }
        String who = spec.name() + "#" + cmd.instance();
        int before = 0;
        try {
            ServiceDriver d = driver(spec);
            before = pidOf(d.status(spec), cmd.instance());
            boolean startFirst = d.replace(effective(spec, cmd.instance()), cmd.instance(), START_FIRST_UP_FOR);
            int after = pidOf(d.status(spec), cmd.instance());
            events.accept(new ServiceEvent(clock.millis(), spec.name(), cmd.instance(), ServiceEvent.Kind.RECYCLED,
                    "recycled (pid " + (before > 0 ? before : "-") + " -> " + (after > 0 ? after : "-") + ", "
                            + (startFirst ? "start-first" : "stop-first") + "): " + cmd.reason(),
                    Map.of("old_pid", Integer.toString(before), "new_pid", Integer.toString(after),
                            "reason", cmd.reason(), "job_id", cmd.jobId(),
                            "mode", startFirst ? "start-first" : "stop-first")));
            log.info("Recycled {} (pid {} -> {}) for job {}: {}", who, before, after, cmd.jobId(), cmd.reason());
            return new CommandResult(CommandResult.Status.SUCCEEDED, "recycled " + who + " (pid "
                    + (before > 0 ? before : "-") + " -> " + (after > 0 ? after : "-") + ")", null, null,
                    new CommandResult.Recycled(before, after));
        } catch (DriverException e) {
            return new CommandResult(CommandResult.Status.FAILED, "recycle of " + who + " failed: " + e.getMessage(),
                    null, null, new CommandResult.Recycled(before, 0));
        }
    }

    // ---- releases ---------------------------------------------------------------------------

    /**
     * What instance {@code instance} of {@code declared} runs: the declared spec with the
     * instance's applied release, if any. Drivers other than the built-in one run every instance
     * from one definition, so for them it is always the declared spec.
     */
    private ServiceSpec effective(ServiceSpec declared, int instance) {
        if (declared.driver() != DriverKind.BUILTIN) {
            return declared;
        }
        Release r = releases.get(declared.name(), instance);
        return r == null ? declared : r.applyTo(declared);
    }

    /** The version label instance {@code instance} runs: its release's, else the declared one. */
    private String versionOf(ServiceSpec declared, int instance) {
        Release r = releaseOf(declared, instance);
        return r == null ? declared.version() : r.version();
    }

    /** The release instance {@code instance} runs, or null when it runs the declared spec. */
    private Release releaseOf(ServiceSpec declared, int instance) {
        return declared.driver() != DriverKind.BUILTIN ? null : releases.get(declared.name(), instance);
    }

    /**
     * Moves one instance to a release, or back to its declared spec. Checks first and changes
     * nothing on a rejection; then records the release (durably; back to the declared spec: the
     * record is removed), switches {@code current} if asked, and replaces the instance's process
     * through its driver with the effective spec: start-first where the spec allows it, else
     * stop-first, and in both cases the new process must stay up for {@link #START_FIRST_UP_FOR}.
     * If it does not, the book, the driver's spec for the instance and {@code current} go back to
     * what they were, and an instance that the stop-first replacement took down is started again
     * on its old release.
     */
    private CommandResult applyRelease(ServiceCommand.ApplyRelease cmd) {
        ServiceSpec spec = specs.get(cmd.service());
        if (spec == null) {
            return CommandResult.rejected(unknownService(cmd.service()));
        }
        int i = cmd.instance();
        if (i < 0 || i >= spec.instances()) {
            return CommandResult.rejected("service '" + spec.name() + "' has no instance " + i + " (it has "
                    + spec.instances() + ": 0 to " + (spec.instances() - 1) + ")");
        }
        Release release = cmd.release();
        // The version the instance runs afterwards: the release's, or back on the declared spec, the declared one.
        String v = release == null ? spec.version() : release.version();
        String target = release == null ? "its declared spec" + (v.isEmpty() ? "" : " (version '" + v + "')")
                : "release '" + v + "'";
        String who = spec.name() + "#" + i;
        if (spec.driver() != DriverKind.BUILTIN) {
            return CommandResult.rejected("cannot move " + who + " alone to " + target + ": " + spec.driver().configName()
                    + " runs every instance of '" + spec.name() + "' from one "
                    + (spec.driver() == DriverKind.PM2 ? "app" : "program") + " definition, so instances cannot run "
                    + "different releases. Roll out on this host by changing the service's declaration (command, args, "
                    + "version, or what its workingDir points to) and restarting it, or run the service with driver: builtin");
        }
        if (release != null && release.probe() != null && !spec.probeable()) {
            return CommandResult.rejected("cannot probe " + who + " with '" + release.probe() + "': service '"
                    + spec.name() + "' " + (spec.ports().isEmpty() ? "declares no ports"
                            : "shares its ports among its instances (portStride 0), so a probe could reach any of them")
                    + "; declare ports of its own for each instance in agent.yaml, or send the release without a probe");
        }
        Path root = spec.releases();
        if (cmd.switchCurrent() && root == null) {
            return CommandResult.rejected("cannot switch 'current' for " + who + ": service '" + spec.name()
                    + "' declares no deploy root; declare 'releases: /srv/app' in agent.yaml, or send the release "
                    + "without switch_current");
        }
        CurrentLink link = root == null ? null : new CurrentLink(root);
        // A release runs from releases/<version>; the declared spec from its declared workingDir, so its
        // version needs a directory only when `current` is to point there.
        // A rollback may name exactly where `current` pointed before the rollout.
        boolean exactTarget = cmd.switchCurrent() && !cmd.currentTarget().isEmpty();
        if (exactTarget) {
            String refusal = link.refusalToPoint(cmd.currentTarget());
            if (refusal != null) {
                return CommandResult.rejected("cannot point 'current' back at " + cmd.currentTarget() + " for " + who
                        + ": " + refusal + "; the instance stays where it is. Point 'current' yourself and send this "
                        + "without switch_current");
            }
        }
        if (root != null && (release != null || (cmd.switchCurrent() && !exactTarget))) {
            if (!Release.isDirectoryName(v)) {
                String expected = "letters, digits, '.', '_', '+' and '-', not starting with '.', at most 128";
                return CommandResult.rejected(release != null
                        ? "version '" + v + "' of " + who + " cannot name a directory under " + root.resolve("releases")
                                + " (expected: " + expected + ")"
                        : "cannot point 'current' back for " + who + ": service '" + spec.name() + "' declares "
                                + (v.isEmpty() ? "no version" : "version '" + v + "', which cannot name a directory")
                                + ", so the agent cannot tell which " + root.resolve("releases") + "/<version> its "
                                + "declared spec runs (expected: 'version:' in agent.yaml naming that directory: "
                                + expected + "); the instance stays where it is. Set it, or point 'current' yourself "
                                + "and send this without switch_current");
            }
            if (!Release.directoryExists(spec, v)) {
                return CommandResult.rejected("release directory " + spec.releaseDir(v) + " does not exist"
                        + (release == null ? " (the declared version of " + who + ", where 'current' was to point "
                                + "back); the instance stays on its release. Deploy it there, or point 'current' yourself "
                                + "and send this without switch_current"
                                : "; the agent never creates releases: deploy the release there first, then apply it"));
            }
            String refusal = cmd.switchCurrent() && !exactTarget ? link.refusal(v) : null;
            if (refusal != null) {
                return CommandResult.rejected("cannot switch 'current' for " + who + ": " + refusal);
            }
        }
        ServiceDriver d;
        int oldPid;
        try {
            d = driver(spec);
            oldPid = pidOf(d.status(spec), i);
        } catch (DriverException e) {
            return CommandResult.failed("cannot move " + who + " to " + target + ": " + e.getMessage());
        }
        Release previous = releases.get(spec.name(), i);
        ServiceSpec before = effective(spec, i);
        ServiceSpec after = release == null ? spec : release.applyTo(spec);

        try {
            releases.put(spec.name(), i, release);
        } catch (UncheckedIOException e) {
            return CommandResult.failed("cannot move " + who + " to " + target + ": " + e.getMessage()
                    + "; nothing changed");
        }
        Path previousTarget = null;
        boolean switched = false;
        if (cmd.switchCurrent()) {
            try {
                previousTarget = exactTarget ? link.pointTo(Path.of(cmd.currentTarget())) : link.switchTo(v);
                switched = true;
            } catch (IOException e) {
                String back = restoreRecord(spec, i, previous);
                return CommandResult.failed("cannot point " + link.path() + " at "
                        + (exactTarget ? cmd.currentTarget() : "releases/" + v) + " for " + who + ": "
                        + e.getMessage() + "; the instance was not touched" + back);
            }
        }

        histories.get(spec.name())[i].expectRestart();
        boolean startFirst = false;
        String error;
        int newPid = 0;
        try {
            startFirst = d.replace(after, i, START_FIRST_UP_FOR);
            newPid = pidOf(d.status(spec), i);
            error = startFirst ? null : stayedUp(d, spec, i, newPid);
        } catch (DriverException e) {
            error = e.getMessage();
        }
        // A driver that threw tried start-first where the spec allows it and the instance was up.
        boolean triedStartFirst = startFirst || (error != null && after.startFirstPossible() && oldPid > 0);
        String mode = triedStartFirst ? "start-first" : "stop-first";
        Map<String, String> attrs = new LinkedHashMap<>();
        attrs.put("rollout_id", cmd.rolloutId());
        attrs.put("old_version", before.version());
        attrs.put("new_version", v);
        attrs.put("to_declared", Boolean.toString(release == null));
        attrs.put("old_pid", Integer.toString(oldPid));
        attrs.put("mode", mode);
        if (error == null) {
            attrs.put("new_pid", Integer.toString(newPid));
            attrs.put("switched_current", Boolean.toString(switched));
            String message = "moved to " + target + " from '" + before.version() + "' (pid " + pidText(oldPid)
                    + " -> " + pidText(newPid) + ", " + mode + (switched ? ", current -> "
                    + (exactTarget ? cmd.currentTarget() : "releases/" + v) : "") + ")";
            events.accept(new ServiceEvent(clock.millis(), spec.name(), i, ServiceEvent.Kind.RELEASE_APPLIED, message,
                    attrs));
            log.info("{} {} for rollout '{}'", who, message, cmd.rolloutId());
            return new CommandResult(CommandResult.Status.SUCCEEDED, who + " " + message, null, null, null,
                    new CommandResult.Released(oldPid, newPid, before.version(), v, startFirst,
                            switched && previousTarget != null ? previousTarget.toString() : ""));
        }

        // Back to what the instance runs.
        histories.get(spec.name())[i].settlePlannedRestarts();
        StringBuilder back = new StringBuilder(restoreRecord(spec, i, previous));
        try {
            d.applyInstance(before, i);
        } catch (DriverException | IllegalArgumentException e) {
            back.append("; the driver keeps the new spec for its restarts: ").append(e.getMessage());
        }
        if (switched) {
            try {
                if (previousTarget != null) {
                    link.pointTo(previousTarget);
                    back.append("; ").append(link.path()).append(" points at ").append(previousTarget).append(" again");
                } else {
                    back.append("; ").append(link.path()).append(" did not exist before and stays at releases/").append(v);
                }
            } catch (IOException e) {
                back.append("; ").append(link.path()).append(" could not be pointed back at ").append(previousTarget)
                        .append(": ").append(e.getMessage());
            }
        }
        int pidNow = 0;
        try {
            List<InstanceStatus> now = d.status(spec);
            pidNow = pidOf(now, i);
            boolean oldRuns = oldPid > 0 && pidNow == oldPid && stateOf(now, i).claimsProcess();
            if (oldPid > 0 && !oldRuns) {
                // Stop-first: the old process is gone. Bring the instance back on its old release.
                d.restart(before, i);
                pidNow = pidOf(d.status(spec), i);
                back.append("; started again on release '").append(before.version()).append("' as pid ")
                        .append(pidText(pidNow));
            } else if (oldRuns) {
                back.append("; pid ").append(oldPid).append(" keeps running release '").append(before.version())
                        .append("'");
            }
        } catch (DriverException e) {
            back.append("; could not start it again on release '").append(before.version()).append("': ")
                    .append(e.getMessage());
        }
        attrs.put("pid", Integer.toString(pidNow));
        attrs.put("error", error);
        String message = "move to " + target + " failed (" + mode + "): " + error + back;
        events.accept(new ServiceEvent(clock.millis(), spec.name(), i, ServiceEvent.Kind.RELEASE_FAILED, message, attrs));
        log.warn("{}: {} (rollout '{}')", who, message, cmd.rolloutId());
        return new CommandResult(CommandResult.Status.FAILED, who + ": " + message, null, null, null,
                new CommandResult.Released(oldPid, pidNow, before.version(), before.version(), startFirst));
    }

    /** Puts {@code previous} back as the instance's release; "" or what went wrong, for a message. */
    private String restoreRecord(ServiceSpec spec, int instance, Release previous) {
        try {
            releases.put(spec.name(), instance, previous);
            return "";
        } catch (UncheckedIOException e) {
            log.error("{}#{}: the release record could not be reverted: {}", spec.name(), instance, e.getMessage());
            return "; the release record could not be reverted (" + e.getMessage() + ")";
        }
    }

    /**
     * Null when instance {@code instance} runs as {@code pid} after its start check and
     * {@link #START_FIRST_UP_FOR} later; else why not (it exited, or runs as another pid).
     */
    private String stayedUp(ServiceDriver d, ServiceSpec spec, int instance, int pid) {
        if (pid <= 0) {
            return "no process after the start (state " + stateOf(d.status(spec), instance) + ")";
        }
        long deadline = System.nanoTime() + START_FIRST_UP_FOR.plusSeconds(1).toNanos();
        while (true) {
            List<InstanceStatus> now = d.status(spec);
            ManagerState state = stateOf(now, instance);
            int p = pidOf(now, instance);
            if (p != pid || !state.claimsProcess()) {
                String detail = now.stream().filter(s -> s.instance() == instance).map(InstanceStatus::detail)
                        .findFirst().orElse("");
                return "the new process (pid " + pid + ") did not stay up: " + state
                        + (detail.isEmpty() ? "" : " (" + detail + ")");
            }
            if (System.nanoTime() > deadline) {
                return state == ManagerState.RUNNING ? null : "the new process (pid " + pid + ") is still " + state;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted while the new process (pid " + pid + ") was starting";
            }
        }
    }

    private static ManagerState stateOf(List<InstanceStatus> statuses, int instance) {
        return statuses.stream().filter(s -> s.instance() == instance).map(InstanceStatus::state).findFirst()
                .orElse(ManagerState.UNKNOWN);
    }

    private static String pidText(int pid) {
        return pid > 0 ? Integer.toString(pid) : "-";
    }

    private static int pidOf(List<InstanceStatus> statuses, int instance) {
        return statuses.stream().filter(s -> s.instance() == instance).mapToInt(InstanceStatus::pid).findFirst().orElse(0);
    }

    private CommandResult tail(ServiceCommand.Tail cmd) {
        ServiceSpec spec = specs.get(cmd.service());
        if (spec == null) {
            return CommandResult.rejected(unknownService(cmd.service()));
        }
        if (cmd.instance() < 0 || cmd.instance() >= spec.instances()) {
            return CommandResult.rejected("service '" + spec.name() + "' has no instance " + cmd.instance());
        }
        int n = Math.max(1, Math.min(MAX_TAIL_LINES, cmd.lines()));
        try {
            List<String> lines = driver(spec).tail(spec, cmd.instance(), n);
            return new CommandResult(CommandResult.Status.SUCCEEDED, lines.size() + " line(s) of " + spec.name() + "#"
                    + cmd.instance(), null, lines);
        } catch (DriverException e) {
            return CommandResult.failed("cannot read the output of " + spec.name() + "#" + cmd.instance() + ": "
                    + e.getMessage());
        }
    }

    // ---- lifecycle --------------------------------------------------------------------------

    /**
     * Stops every instance of every service through its driver, gracefully, waits, and closes
     * the manager. For owners of throwaway services (dev mode, tests); a real agent leaves them
     * running when it stops, to adopt them when it starts again. Reconciliation, repairs and
     * commands are stopped first, so that nothing starts an instance again meanwhile.
     */
    public synchronized void stopAll() {
        quiesce();
        for (ServiceSpec spec : specs.values()) {
            try {
                driver(spec).remove(spec);
            } catch (DriverException e) {
                log.warn("Stopping service '{}': {}", spec.name(), e.getMessage());
            }
        }
        close();
    }

    /** Stops reconciling and closes the drivers. Built-in instances keep running, to be adopted. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        quiesce();
        probes.close();
        for (ServiceDriver d : drivers.values()) {
            try {
                d.close();
            } catch (RuntimeException e) {
                log.warn("Closing a {} driver failed", d.kind().configName(), e);
            }
        }
    }

    /** Stops the reconciliation and the ops thread and waits for a task in progress. Idempotent. */
    private void quiesce() {
        if (loop == null) {
            return;
        }
        task.cancel(false);
        loop.shutdownNow();
        ops.shutdownNow();
        try {
            loop.awaitTermination(10, TimeUnit.SECONDS);
            ops.awaitTermination(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Restarts seen of one instance, from its manager's counter or, without one, from pid changes. */
    private static final class InstanceHistory {
        private int lastPid;
        private int lastRestarts = -1;
        private final ArrayDeque<Long> restarts = new ArrayDeque<>();
        /** Restarts the manager itself asked for (recycles): not failures, so not counted. */
        private int planned;

        /** The next restart seen is a recycle's. */
        synchronized void expectRestart() {
            planned++;
        }

        /** A recycle is over: any restart still expected will not come. */
        synchronized void settlePlannedRestarts() {
            planned = 0;
        }

        /** Records what {@code st} shows and returns the restarts since {@code windowStart}. */
        synchronized int update(InstanceStatus st, long now, long windowStart) {
            if (st.restarts() >= 0) {
                if (lastRestarts >= 0 && st.restarts() > lastRestarts) {
                    for (int k = 0; k < Math.min(100, st.restarts() - lastRestarts); k++) {
                        countRestart(now);
                    }
                }
                lastRestarts = st.restarts();
            } else if (lastPid > 0 && st.pid() > 0 && st.pid() != lastPid) {
                countRestart(now);
            }
            if (st.pid() > 0) {
                lastPid = st.pid();
            }
            while (!restarts.isEmpty() && restarts.peekFirst() < windowStart) {
                restarts.removeFirst();
            }
            while (restarts.size() > 1000) {
                restarts.removeFirst();
            }
            return restarts.size();
        }

        private void countRestart(long now) {
            if (planned > 0) {
                planned--;
            } else {
                restarts.addLast(now);
            }
        }
    }

    @Override
    public String toString() {
        return "ServiceManager" + specs.keySet().stream().collect(Collectors.joining(", ", "[", "]"));
    }
}
