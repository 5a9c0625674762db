package dev.fleetkeeper.agent.service.builtin;

import dev.fleetkeeper.agent.service.DriverException;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.PreStartCheck;
import dev.fleetkeeper.agent.service.ServiceDriver;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.service.ServiceSpec;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent as its own process supervisor: starts each instance in its own session and process
 * group, writes its output to rotated files, stops the whole group gracefully, restarts after a
 * crash with exponential backoff, gives up on a crash loop, and re-adopts running instances
 * after an agent restart. Thread-safe; owned by the agent's main wiring, which closes it.
 *
 * <h2>Processes</h2>
 * An instance is started as {@code setsid [setpriv --reuid U --regid G --init-groups] COMMAND
 * ARGS}: setsid (util-linux, without {@code --fork}) and setpriv exec in place, so the pid Java
 * sees is the command's, and it is the leader of a new session and process group
 * (pid == pgid == sid, checked after every start). Its environment is a clean one (PATH, LANG,
 * LC_ALL, TZ from the agent; HOME, USER, LOGNAME of the service user), then
 * {@code spec.env()}, then the markers {@code FLEETKEEPER_SERVICE}, {@code FLEETKEEPER_INSTANCE},
 * {@code FLEETKEEPER_VERSION}, which a spec cannot override: they are the proof of membership
 * ({@link #isMember}). Not the agent's own environment, so that the agent's settings
 * ({@code JAVA_TOOL_OPTIONS}, credentials) do not leak into services.
 *
 * <p>Stdout and stderr go, merged, to a file the child opens itself ({@code O_APPEND}), so an
 * instance survives the agent (see {@link OutputLog} for rotation and its loss window).
 *
 * <p>Direct children are reaped by the JVM (the driver waits on {@link Process#onExit}).
 * Grandchildren that outlive the instance's leader are re-parented to the nearest subreaper or
 * PID 1, which reaps them; the agent does not become a subreaper. Such leftovers stay in the
 * instance's process group, so before the instance is started again (automatically or on
 * request) and on stop, the driver stops what remains of the old group, gracefully then with
 * SIGKILL: a worker orphaned by its crashed parent cannot keep the port the new instance
 * needs. Zombies count as gone: they hold no port and cannot be killed.
 *
 * <h2>Safety</h2>
 * A process group is signalled only after {@code /proc} proved it is the instance's: its leader
 * still has the recorded pid and start time, or (leader gone) a live member of the group, in
 * the session of that id, carries this service's and instance's markers. Process group ids are
 * not reused while any member lives, so the proof holds until the group is empty.
 *
 * <h2>Threading</h2>
 * Each instance's state is guarded by the instance's own monitor; no thread holds it while it
 * waits for a process to die, so a 30 s stop of one instance blocks only callers that act on
 * the same instance. Public methods run on the caller's thread and block as
 * {@link ServiceDriver} says. A scheduler (given, or created and then owned) only fires timers;
 * the work they trigger (promotion to RUNNING after one second, automatic restarts including
 * the pre-start check, exits of children and of polled adopted processes) runs on the driver's
 * own worker pool ({@code fleetkeeper-builtin-worker-N}, daemon threads), whose uncaught
 * failures are logged and counted ({@link #taskFailures()}).
 *
 * <p>Time: decisions (uptimes, backoff reset, crash-loop windows, event and status times) use
 * the injected {@link InstantSource}; delays are scheduled on the scheduler.
 */
public final class BuiltinDriver implements ServiceDriver {

    private static final Logger log = LoggerFactory.getLogger(BuiltinDriver.class);

    /** How long an instance is STARTING before it counts as RUNNING (supervisord's startsecs=1). */
    static final Duration STARTSECS = Duration.ofSeconds(1);
    /** Default interval of adopted-process polls and log size checks. */
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
    /** How long after SIGKILL a group may take to disappear before the stop is reported as failed. */
    private static final Duration KILL_WAIT = Duration.ofSeconds(5);
    /** How long a new child may take to become a session leader (setsid runs right after exec). */
    private static final Duration SESSION_WAIT = Duration.ofSeconds(2);
    private static final long GROUP_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(25);
    private static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    static final String ENV_SERVICE = "FLEETKEEPER_SERVICE";
    static final String ENV_INSTANCE = "FLEETKEEPER_INSTANCE";
    static final String ENV_VERSION = "FLEETKEEPER_VERSION";

    private final Path stateDir;
    private final ProcFs proc;
    private final InstantSource clock;
    private final PreStartCheck check;
    private final ServiceEvent.Sink events;
    private final ScheduledExecutorService timer;
    private final boolean ownsTimer;
    private final ExecutorService workers;
    private final Duration pollInterval;
    private final String bootId;
    private final int selfUid;
    private final Map<String, Map<Integer, Instance>> services = new ConcurrentHashMap<>();
    private final AtomicLong taskFailures = new AtomicLong();
    private final ScheduledFuture<?> housekeeping;
    private volatile boolean closed;

    /** A driver with its own scheduler and the default poll interval. */
    public BuiltinDriver(Path stateDir, Path procRoot, InstantSource clock, PreStartCheck check,
                         ServiceEvent.Sink events) {
        this(stateDir, procRoot, clock, check, events, null, DEFAULT_POLL_INTERVAL);
    }

    /**
     * @param stateDir     where instance records ({@code services/}) and default logs ({@code logs/}) live
     * @param procRoot     {@code /proc}
     * @param timer        the scheduler for timers, not closed by this driver; null: the driver
     *                     creates one thread ({@code fleetkeeper-builtin-timer}) and owns it
     * @param pollInterval how often adopted processes are checked and log files measured
     */
    public BuiltinDriver(Path stateDir, Path procRoot, InstantSource clock, PreStartCheck check,
                         ServiceEvent.Sink events, ScheduledExecutorService timer, Duration pollInterval) {
        this.stateDir = Objects.requireNonNull(stateDir, "stateDir");
        this.proc = new ProcFs(Objects.requireNonNull(procRoot, "procRoot"));
        this.clock = Objects.requireNonNull(clock, "clock");
        this.check = Objects.requireNonNull(check, "check");
        this.events = Objects.requireNonNull(events, "events");
        if (pollInterval.isNegative() || pollInterval.isZero()) {
            throw new IllegalArgumentException("pollInterval: " + pollInterval + " (expected: > 0)");
        }
        this.pollInterval = pollInterval;
        this.ownsTimer = timer == null;
        this.timer = timer != null ? timer : Executors.newSingleThreadScheduledExecutor(threads("timer"));
        this.workers = Executors.newCachedThreadPool(threads("worker"));
        this.bootId = proc.bootId();
        this.selfUid = proc.selfEffectiveUid();
        this.housekeeping = this.timer.scheduleWithFixedDelay(this::rotateLogs, pollInterval.toMillis(),
                pollInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static ThreadFactory threads(String role) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, "fleetkeeper-builtin-" + role + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public DriverKind kind() {
        return DriverKind.BUILTIN;
    }

    /** Uncaught failures of the driver's background tasks so far (each one is also logged). */
    public long taskFailures() {
        return taskFailures.get();
    }

    // ---------------------------------------------------------------- contract

    /** Remembers {@code spec}, adopts instances a previous agent left running, stops instances beyond the pool size. */
    @Override
    public void apply(ServiceSpec spec) {
        checkSpec(spec);
        for (int i = 0; i < spec.instances(); i++) {
            Instance in = instance(spec, i);
            synchronized (in) {
                if (!in.state.claimsProcess()) {
                    in.spec = spec;
                }
                if (in.state == ManagerState.STOPPED && in.process == null && in.stopDone == null) {
                    adoptLocked(in, spec);
                }
            }
        }
        // A smaller pool: the instances beyond it, known to this driver or recorded by a previous one.
        for (int i : knownIndexes(spec.name())) {
            if (i >= spec.instances()) {
                Instance in = instance(spec, i);
                synchronized (in) {
                    if (in.state == ManagerState.STOPPED && in.process == null && in.stopDone == null) {
                        adoptLocked(in, spec);
                    }
                }
                stopInstance(spec, in);
                services.get(spec.name()).remove(i);
            }
        }
    }

    /**
     * Makes {@code spec} the instance's spec: its next start, also an automatic restart after a
     * crash, runs it. The process running now, if any, is left alone.
     */
    @Override
    public void applyInstance(ServiceSpec spec, int instance) {
        checkSpec(spec);
        Instance in = instance(spec, checkIndex(spec, instance));
        synchronized (in) {
            in.spec = spec;
        }
    }

    /** Stops every instance of the service (also recorded ones a previous agent left running) and forgets it. */
    @Override
    public void remove(ServiceSpec spec) {
        checkSpec(spec);
        for (int i : knownIndexes(spec.name())) {
            Instance in = instance(spec, i);
            synchronized (in) {
                if (in.state == ManagerState.STOPPED && in.process == null && in.stopDone == null) {
                    adoptLocked(in, spec);
                }
            }
            stopInstance(spec, in);
        }
        services.remove(spec.name());
    }

    @Override
    public List<InstanceStatus> status(ServiceSpec spec) {
        checkSpec(spec);
        Map<Integer, Instance> known = services.getOrDefault(spec.name(), Map.of());
        List<InstanceStatus> out = new ArrayList<>(spec.instances());
        for (int i = 0; i < spec.instances(); i++) {
            Instance in = known.get(i);
            if (in == null) {
                out.add(new InstanceStatus(i, managerName(spec.name(), i), ManagerState.STOPPED, 0, 0, -1, "", 0, ""));
                continue;
            }
            synchronized (in) {
                boolean up = in.state.claimsProcess();
                out.add(new InstanceStatus(i, managerName(spec.name(), i), in.state, up ? in.pid : 0,
                        in.startedAtMillis, in.exitCode, in.exitSignal, in.restarts, in.detail));
            }
        }
        return List.copyOf(out);
    }

    /**
     * Starts the instance (a no-op if it is up), after the pre-start check. A refusal or a failed
     * start leaves it FATAL, emits START_REFUSED or START_FAILED, and throws. Clears a crash loop.
     */
    @Override
    public void start(ServiceSpec spec, int instance) {
        checkOpen();
        checkSpec(spec);
        Instance in = instance(spec, checkIndex(spec, instance));
        awaitStop(in, spec);
        Target leftovers;
        synchronized (in) {
            if (in.state.claimsProcess()) {
                return;
            }
            leftovers = in.leftovers;
        }
        if (leftovers != null) {
            terminateGroup(spec, in, leftovers);
        }
        synchronized (in) {
            if (in.state.claimsProcess()) {
                return;
            }
            cancelTimer(in);
            in.history = RestartPlanner.History.EMPTY;
            in.leftovers = null;
            startLocked(in, spec, true);
        }
    }

    @Override
    public void stop(ServiceSpec spec, int instance) {
        checkOpen();
        checkSpec(spec);
        stopInstance(spec, instance(spec, checkIndex(spec, instance)));
    }

    @Override
    public void restart(ServiceSpec spec, int instance) {
        Instance in = instance(spec, checkIndex(spec, instance));
        boolean wasUp;
        synchronized (in) {
            wasUp = in.state.claimsProcess();
        }
        stop(spec, instance);
        if (wasUp) {
            synchronized (in) {
                in.restarts++;
            }
        }
        start(spec, instance);
    }

    /**
     * Start-first, for a spec that {@link ServiceSpec#startFirstPossible allows it} and a RUNNING
     * instance: after the pre-start check, a new process becomes the instance's run (RUNNING ->
     * STARTING) while the old one keeps serving as {@link Instance#retiring}. Once the new run
     * has been RUNNING for {@code upFor}, the old group gets the stop signal, then SIGKILL after
     * the stop timeout. If the new run exits first, the old one takes the instance back
     * ({@link #reinstateLocked}) and this throws; a refused pre-start check leaves it untouched.
     * Anything else falls back to {@link #restart}.
     */
    @Override
    public boolean replace(ServiceSpec spec, int instance, Duration upFor) {
        checkOpen();
        checkSpec(spec);
        Instance in = instance(spec, checkIndex(spec, instance));
        if (!spec.startFirstPossible()) {
            restart(spec, instance);
            return false;
        }
        awaitStop(in, spec);
        Retiring old = null;
        long run = 0;
        synchronized (in) {
            if (in.state == ManagerState.RUNNING && in.retiring == null && in.stopDone == null) {
                String reason = preStartCheck(spec, in.index);
                if (reason != null) {
                    emit(in, ServiceEvent.Kind.START_REFUSED, "start-first replacement of " + in.service + ":"
                            + in.index + " refused: " + reason, Map.of("findings", reason));
                    throw new DriverException("service '" + in.service + "' instance " + in.index
                            + ": replacement refused by the pre-start check: " + reason + "; pid " + in.pid
                            + " keeps running");
                }
                Retiring was = new Retiring(in.target(), in.process, in.startedAt, in.restarts);
                ScheduledFuture<?> watch = in.watch;
                in.spec = spec;
                spawnLocked(in, spec); // throws before touching the instance: the old run stays
                if (watch != null) {
                    watch.cancel(false);
                    in.watch = null;
                }
                in.retiring = was;
                in.restarts = was.restarts() + 1;
                old = was;
                run = in.run;
            }
        }
        if (old == null) {
            restart(spec, instance);
            return false;
        }
        long deadline = System.nanoTime() + STARTSECS.plus(upFor).plus(spec.startTimeout()).toNanos();
        while (true) {
            synchronized (in) {
                if (in.retiring != old) {
                    // Given back (the new run exited), or a stop took both down.
                    throw new DriverException("service '" + in.service + "' instance " + in.index
                            + ": start-first replacement did not stay up (" + in.detail + ")");
                }
                if (in.run == run && in.state == ManagerState.RUNNING
                        && !clock.instant().isBefore(in.startedAt.plus(upFor))) {
                    in.retiring = null;
                    break;
                }
                if (closed) {
                    throw new DriverException("service '" + in.service + "' instance " + in.index
                            + ": the agent is stopping; start-first replacement abandoned");
                }
                if (System.nanoTime() > deadline) {
                    // Up but not long enough, or stuck: keep the new one, retire the old one anyway.
                    in.retiring = null;
                    break;
                }
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
        String how = terminateGroup(spec, in, old.target());
        emit(in, ServiceEvent.Kind.STOPPED, "retired " + in.service + ":" + in.index + " pid " + old.target().pgid()
                + " (" + how + ") after its start-first replacement was up for " + upFor.toMillis() + " ms",
                Map.of("pid", Integer.toString(old.target().pgid()), "how", how, "mode", "start-first"));
        return true;
    }

    @Override
    public void signal(ServiceSpec spec, int instance, String signal) {
        checkOpen();
        checkSpec(spec);
        if (!Signals.known(signal)) {
            throw new DriverException("service '" + spec.name() + "': unknown signal '" + signal
                    + "' (expected a name without SIG, such as HUP, USR1, USR2, TERM)");
        }
        Instance in = instance(spec, checkIndex(spec, instance));
        Target target;
        synchronized (in) {
            if (!in.state.claimsProcess()) {
                throw new DriverException("service '" + spec.name() + "' instance " + instance + " is "
                        + in.state + ", not running: nothing to send " + signal + " to; start it first");
            }
            target = in.target();
        }
        if (!groupIsOurs(spec, in, target)) {
            throw new DriverException("service '" + spec.name() + "' instance " + instance + ": process group "
                    + target.pgid + " can no longer be proven to be this instance's (the process exited); "
                    + "not signalling it. Check the instance's status");
        }
        try {
            Signals.signalGroup(target.pgid, signal);
        } catch (IOException e) {
            throw DriverException.unreachable("service '" + spec.name() + "': could not send " + signal
                    + " to process group " + target.pgid + " with 'kill' (procps or util-linux): " + e.getMessage(), e);
        }
    }

    @Override
    public List<String> tail(ServiceSpec spec, int instance, int lines) {
        checkSpec(spec);
        checkIndex(spec, instance);
        return new OutputLog(logDir(spec), spec.name(), instance).tail(lines, spec.logs().keep());
    }

    @Override
    public boolean isMember(ServiceSpec spec, Map<String, String> environ) {
        return spec.name().equals(environ.get(ENV_SERVICE));
    }

    /** Empty: this driver's configuration is the spec itself. */
    @Override
    public List<String> configDrift(ServiceSpec spec) {
        return List.of();
    }

    /**
     * Stops the driver's timers and threads and leaves every instance running, with its record
     * on disk, for the next driver on the same state directory to adopt. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        housekeeping.cancel(false);
        for (Map<Integer, Instance> byIndex : services.values()) {
            for (Instance in : byIndex.values()) {
                Retiring retiring;
                synchronized (in) {
                    cancelTimer(in);
                    if (in.watch != null) {
                        in.watch.cancel(false);
                    }
                    retiring = in.retiring;
                    in.retiring = null;
                }
                if (retiring != null && groupIsOurs(in.spec, in, retiring.target())) {
                    // The replacement runs on and is adopted after a restart; the process it was
                    // replacing would be nobody's. Its stop signal, without waiting.
                    try {
                        send(in.spec, retiring.target(), in.spec.stopSignal());
                    } catch (DriverException e) {
                        log.warn("{}", e.getMessage());
                    }
                }
            }
        }
        workers.shutdown();
        if (ownsTimer) {
            timer.shutdownNow();
        }
        try {
            if (!workers.awaitTermination(5, TimeUnit.SECONDS)) {
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            workers.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- instances

    /** The proof of identity of an instance's process group: its leader's pid and start time. */
    private record Target(int pgid, long startTicks) { }

    /**
     * The run a start-first replacement took the instance from: enough to stop it once the new
     * run is up, or to give the instance back to it if the new run is not.
     */
    private record Retiring(Target target, Process process, Instant startedAt, int restarts) { }

    /** One instance's state; guarded by its own monitor. */
    private final class Instance {
        final String service;
        final int index;
        final Path recordFile;
        /** Written under the monitor; volatile so that log rotation reads it without taking the monitor. */
        volatile ServiceSpec spec;
        ManagerState state = ManagerState.STOPPED;
        /** The current run's child; null when not running or adopted (not our child). */
        Process process;
        int pid;
        long startTicks;
        long startedAtMillis;
        Instant startedAt = Instant.EPOCH;
        int exitCode = -1;
        String exitSignal = "";
        int restarts;
        String detail = "";
        RestartPlanner.History history = RestartPlanner.History.EMPTY;
        /** Incremented on every start, adoption and stop; callbacks of an older run are ignored. */
        long run;
        /** The STARTING->RUNNING promotion or the restart timer. */
        ScheduledFuture<?> pending;
        /** The poll of an adopted process. */
        ScheduledFuture<?> watch;
        /** Non-null while a stop is in progress; completed when it is done. */
        CompletableFuture<Void> stopDone;
        /** The group of a run that exited on its own, to be cleaned up before the next start. */
        Target leftovers;
        /** During a start-first replacement: the process being replaced, still serving. */
        Retiring retiring;

        Instance(ServiceSpec spec, int index) {
            this.service = spec.name();
            this.index = index;
            this.spec = spec;
            this.recordFile = stateDir.resolve("services").resolve(service).resolve(Integer.toString(index));
        }

        Target target() {
            return new Target(pid, startTicks);
        }

        void to(ManagerState next) {
            state = Transitions.check(state, next);
        }
    }

    private Instance instance(ServiceSpec spec, int index) {
        return services.computeIfAbsent(spec.name(), k -> new ConcurrentHashMap<>())
                .computeIfAbsent(index, i -> new Instance(spec, i));
    }

    /** Indexes known in memory or recorded on disk for {@code service}. */
    private List<Integer> knownIndexes(String service) {
        List<Integer> out = new ArrayList<>(services.getOrDefault(service, Map.of()).keySet());
        Path dir = stateDir.resolve("services").resolve(service);
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                for (Path f : files) {
                    String name = f.getFileName().toString();
                    if (name.matches("[0-9]{1,4}")) {
                        int i = Integer.parseInt(name);
                        if (!out.contains(i)) {
                            out.add(i);
                        }
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list instance records in " + dir, e);
            }
        }
        out.sort(null);
        return out;
    }

    // ---------------------------------------------------------------- start

    /** Pre-start check, then spawn. Explicit starts throw on refusal or failure; automatic ones only report. */
    private void startLocked(Instance in, ServiceSpec spec, boolean explicit) {
        in.spec = spec;
        String reason = preStartCheck(spec, in.index);
        if (reason != null) {
            in.to(ManagerState.FATAL);
            in.detail = "start refused: " + reason;
            emit(in, ServiceEvent.Kind.START_REFUSED, "start of " + in.service + ":" + in.index
                    + " refused: " + reason, Map.of("findings", reason));
            if (explicit) {
                throw new DriverException("service '" + in.service + "' instance " + in.index
                        + ": start refused by the pre-start check: " + reason);
            }
            return;
        }
        try {
            spawnLocked(in, spec);
        } catch (DriverException e) {
            in.to(ManagerState.FATAL);
            in.detail = e.getMessage();
            emit(in, ServiceEvent.Kind.START_FAILED, e.getMessage(), Map.of("error", e.getMessage()));
            if (explicit) {
                throw e;
            }
        }
    }

    /** The pre-start check's refusal, or null to go ahead. */
    private String preStartCheck(ServiceSpec spec, int index) {
        try {
            return check.beforeStart(spec, index);
        } catch (RuntimeException e) {
            return "the pre-start check failed: " + e;
        }
    }

    private void spawnLocked(Instance in, ServiceSpec spec) {
        String what = "service '" + spec.name() + "' instance " + in.index;
        List<String> command = new ArrayList<>();
        command.add("setsid");
        Account account = null;
        if (!spec.user().isEmpty()) {
            account = Account.lookup(spec.user());
            if (account == null) {
                throw new DriverException(what + ": user '" + spec.user() + "' does not exist on this host; "
                        + "create it (useradd --system " + spec.user() + ") or change 'user' in the service's configuration");
            }
            if (account.uid() != selfUid) {
                if (selfUid != 0) {
                    throw new DriverException(what + " runs as '" + spec.user() + "' but the agent runs as uid "
                            + selfUid + " and cannot switch users; run the agent as root, or remove 'user' from "
                            + "the service's configuration to run it as the agent's user");
                }
                command.addAll(List.of("setpriv", "--reuid=" + account.uid(), "--regid=" + account.gid(),
                        "--init-groups"));
            }
        }
        Map<String, String> env = environment(spec, in.index, account);
        Path home = Path.of(account != null ? account.home() : System.getProperty("user.home", "/"));
        Path workDir = spec.workingDir() != null ? spec.workingDir() : Files.isDirectory(home) ? home : Path.of("/");
        if (!Files.isDirectory(workDir)) {
            throw new DriverException(what + ": working directory " + workDir + " does not exist; create it or "
                    + "change 'workingDir' in the service's configuration");
        }
        String executable = resolve(spec.command(), env.get("PATH"), workDir);
        if (executable == null) {
            throw new DriverException(what + ": command '" + spec.command() + "' not found or not executable"
                    + (spec.command().contains("/") ? "" : " on PATH " + env.get("PATH"))
                    + "; install it or fix 'command' in the service's configuration");
        }
        command.add(spec.command());
        command.addAll(spec.args());

        OutputLog output = new OutputLog(logDir(spec), spec.name(), in.index);
        try {
            output.prepare();
        } catch (UncheckedIOException e) {
            throw new DriverException(what + ": " + e.getMessage() + ": " + e.getCause().getMessage(), e);
        }
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(output.file().toFile()))
                .redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw DriverException.unreachable(what + ": could not run setsid (install util-linux): "
                    + e.getMessage(), e);
        }
        int pid = (int) p.pid();
        ProcFs.Stat stat = awaitSessionLeader(p, pid);
        // A command that exits at once is a zombie (or gone) before it could be seen as the
        // leader: that is an exit for the restart policy, not a failed start.
        ProcFs.Stat now = stat == null ? proc.stat(pid) : stat;
        boolean exited = now == null || now.dead() || !p.isAlive();
        if (stat == null && !exited) {
            p.destroyForcibly();
            throw new DriverException(what + ": pid " + pid + " did not become the leader of its own session within "
                    + SESSION_WAIT.toMillis() + " ms (setsid forked?); killed it. Check that util-linux setsid is installed");
        }
        in.run++;
        long run = in.run;
        in.to(ManagerState.STARTING);
        in.process = p;
        in.pid = pid;
        in.startTicks = stat != null ? stat.startTicks() : 0;
        in.startedAt = clock.instant();
        in.startedAtMillis = in.startedAt.toEpochMilli();
        in.detail = "";
        if (stat != null) {
            try {
                new InstanceRecord(pid, in.startTicks, bootId, in.startedAtMillis, spec.version(), in.restarts)
                        .write(in.recordFile);
            } catch (UncheckedIOException e) {
                log.warn("{}: {}; it will not be adopted after an agent restart", what, e.getMessage(), e);
            }
        }
        emit(in, ServiceEvent.Kind.STARTED, "started " + in.service + ":" + in.index + " as pid " + pid,
                Map.of("pid", Integer.toString(pid)));
        in.pending = later(STARTSECS, () -> promote(in, run));
        p.onExit().thenRun(() -> dispatch(() -> onChildExit(in, run, p)));
    }

    /** Waits until {@code pid} is the leader of its own session and group; null if it exited or never did. */
    private ProcFs.Stat awaitSessionLeader(Process p, int pid) {
        long deadline = System.nanoTime() + SESSION_WAIT.toNanos();
        while (true) {
            ProcFs.Stat s = proc.stat(pid);
            if (s != null && s.pgrp() == pid && s.session() == pid) {
                return s;
            }
            if (s == null || s.dead() || !p.isAlive() || System.nanoTime() > deadline) {
                return null;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    private Map<String, String> environment(ServiceSpec spec, int instance, Account account) {
        Map<String, String> env = new LinkedHashMap<>();
        String path = System.getenv("PATH");
        env.put("PATH", path == null || path.isEmpty() ? DEFAULT_PATH : path);
        for (String k : List.of("LANG", "LC_ALL", "TZ")) {
            String v = System.getenv(k);
            if (v != null) {
                env.put(k, v);
            }
        }
        String user = account != null ? account.name() : System.getProperty("user.name", "");
        env.put("HOME", account != null ? account.home() : System.getProperty("user.home", "/"));
        env.put("USER", user);
        env.put("LOGNAME", user);
        env.putAll(spec.env());
        env.put(ENV_SERVICE, spec.name());
        env.put(ENV_INSTANCE, Integer.toString(instance));
        env.put(ENV_VERSION, spec.version());
        return env;
    }

    /** The executable {@code command} names, or null: as given if it has a '/', else looked up on {@code path}. */
    private static String resolve(String command, String path, Path workDir) {
        if (command.contains("/")) {
            Path p = workDir.resolve(command);
            return Files.isRegularFile(p) && Files.isExecutable(p) ? p.toString() : null;
        }
        for (String dir : path.split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir).resolve(command);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    private void promote(Instance in, long run) {
        synchronized (in) {
            if (in.run == run && in.state == ManagerState.STARTING) {
                in.to(ManagerState.RUNNING);
            }
        }
    }

    // ---------------------------------------------------------------- adopt

    /** Takes over the process a previous driver recorded, if it is still that process; else drops the record. */
    private void adoptLocked(Instance in, ServiceSpec spec) {
        InstanceRecord r;
        try {
            r = InstanceRecord.read(in.recordFile);
        } catch (UncheckedIOException e) {
            log.warn("service '{}' instance {}: {}", in.service, in.index, e.getMessage());
            return;
        }
        if (r == null) {
            return;
        }
        ProcFs.Stat s = proc.stat(r.pid());
        boolean same = s != null && !s.dead() && s.startTicks() == r.startTicks() && s.pgrp() == r.pid()
                && (r.bootId().isEmpty() || r.bootId().equals(bootId));
        if (same) {
            Map<String, String> env = proc.environ(r.pid());
            // An unreadable environment (another user, no root) leaves pid + start time as the proof.
            same = env.isEmpty() || (spec.name().equals(env.get(ENV_SERVICE))
                    && Integer.toString(in.index).equals(env.get(ENV_INSTANCE)));
        }
        if (!same) {
            log.info("service '{}' instance {}: recorded pid {} is gone or is another process now; dropping the record",
                    in.service, in.index, r.pid());
            InstanceRecord.delete(in.recordFile);
            return;
        }
        in.run++;
        long run = in.run;
        in.to(ManagerState.RUNNING);
        in.process = null;
        in.pid = r.pid();
        in.startTicks = r.startTicks();
        in.startedAtMillis = r.startedAtMillis();
        in.startedAt = Instant.ofEpochMilli(r.startedAtMillis());
        in.restarts = r.restarts();
        in.detail = "adopted after an agent restart; exit status will be unknown";
        in.watch = timer.scheduleWithFixedDelay(() -> pollAdopted(in, run, r.pid(), r.startTicks()),
                pollInterval.toMillis(), pollInterval.toMillis(), TimeUnit.MILLISECONDS);
        emit(in, ServiceEvent.Kind.ADOPTED, "adopted " + in.service + ":" + in.index + " (pid " + r.pid()
                + ") left running by a previous agent", Map.of("pid", Integer.toString(r.pid())));
    }

    /** On the timer: an adopted process is not our child, so its end is seen in {@code /proc}. */
    private void pollAdopted(Instance in, long run, int pid, long startTicks) {
        ProcFs.Stat s = proc.stat(pid);
        if (s == null || s.dead() || s.startTicks() != startTicks) {
            synchronized (in) {
                if (in.watch != null) {
                    in.watch.cancel(false);
                }
            }
            dispatch(() -> onExit(in, run, RestartPlanner.Exit.UNKNOWN));
        }
    }

    // ---------------------------------------------------------------- exit and restart

    private void onChildExit(Instance in, long run, Process p) {
        int v = p.exitValue();
        // The JVM reports death by signal N as 128 + N; a process that exits with such a status
        // itself looks the same (shells do it for their signalled children, so the reading agrees).
        RestartPlanner.Exit exit = v > 128 && v <= 128 + 64 ? new RestartPlanner.Exit(-1, Signals.name(v - 128))
                : new RestartPlanner.Exit(v, "");
        onExit(in, run, exit);
    }

    private void onExit(Instance in, long run, RestartPlanner.Exit exit) {
        synchronized (in) {
            if (in.run != run || in.stopDone != null || !in.state.claimsProcess()) {
                return;
            }
            if (in.retiring != null) {
                reinstateLocked(in, exit);
                return;
            }
            Instant now = clock.instant();
            in.exitCode = exit.code();
            in.exitSignal = exit.signal();
            in.process = null;
            in.leftovers = in.target();
            cancelTimer(in);
            deleteRecord(in);
            long uptime = Math.max(0, Duration.between(in.startedAt, now).toMillis());
            Map<String, String> attrs = new HashMap<>();
            attrs.put("pid", Integer.toString(in.pid));
            attrs.put("uptime_ms", Long.toString(uptime));
            String how;
            if (!exit.signal().isEmpty()) {
                attrs.put("signal", exit.signal());
                how = "killed by SIG" + exit.signal();
            } else if (exit.code() >= 0) {
                attrs.put("exit_code", Integer.toString(exit.code()));
                how = "exited with status " + exit.code();
            } else {
                how = "exited (status unknown: adopted, not our child)";
            }
            emit(in, ServiceEvent.Kind.EXITED, in.service + ":" + in.index + " (pid " + in.pid + ") " + how
                    + " after " + uptime + " ms", attrs);
            RestartPlanner planner = new RestartPlanner(in.spec.restart(), in.spec.backoff(), in.spec.crashLoop());
            RestartPlanner.Decision d = planner.onExit(in.history, exit, in.startedAt, now);
            if (d instanceof RestartPlanner.Decision.Stay stay) {
                in.to(ManagerState.EXITED);
                in.detail = how + "; not restarted: " + stay.why();
            } else if (d instanceof RestartPlanner.Decision.GiveUp up) {
                in.to(ManagerState.FATAL);
                in.detail = how + "; crash loop: " + up.restarts() + " restarts within " + up.window()
                        + ", not restarted again until started explicitly";
                emit(in, ServiceEvent.Kind.CRASH_LOOP, in.service + ":" + in.index + " is crash-looping ("
                        + up.restarts() + " restarts within " + up.window() + "); gave up",
                        Map.of("restarts", Integer.toString(up.restarts()), "window", up.window().toString()));
            } else if (d instanceof RestartPlanner.Decision.Restart r) {
                in.to(ManagerState.BACKOFF);
                in.history = r.next();
                in.detail = how + "; restarting in " + r.delay().toMillis() + " ms";
                long next = ++in.run;
                in.pending = later(r.delay(), () -> autoRestart(in, next));
                emit(in, ServiceEvent.Kind.RESTART_SCHEDULED, "restarting " + in.service + ":" + in.index + " in "
                        + r.delay().toMillis() + " ms", Map.of("delay_ms", Long.toString(r.delay().toMillis())));
            }
        }
    }

    /**
     * A start-first replacement exited before it was up long enough: the process it was to
     * replace takes the instance back (its exit is watched again; its record rewritten), and what
     * the replacement left is cleaned up before the next start.
     */
    private void reinstateLocked(Instance in, RestartPlanner.Exit exit) {
        Retiring old = in.retiring;
        in.retiring = null;
        cancelTimer(in);
        int failedPid = in.pid;
        in.leftovers = in.target();
        String how = !exit.signal().isEmpty() ? "killed by SIG" + exit.signal()
                : exit.code() >= 0 ? "exited with status " + exit.code() : "exited";
        long run = ++in.run;
        if (in.state == ManagerState.STARTING) {
            in.to(ManagerState.RUNNING);
        }
        in.process = old.process();
        in.pid = old.target().pgid();
        in.startTicks = old.target().startTicks();
        in.startedAt = old.startedAt();
        in.startedAtMillis = old.startedAt().toEpochMilli();
        in.restarts = old.restarts();
        in.detail = "start-first replacement (pid " + failedPid + ") " + how + " before it was up; pid " + in.pid
                + " keeps running";
        try {
            new InstanceRecord(in.pid, in.startTicks, bootId, in.startedAtMillis, in.spec.version(), in.restarts)
                    .write(in.recordFile);
        } catch (UncheckedIOException e) {
            log.warn("service '{}' instance {}: {}; it will not be adopted after an agent restart", in.service,
                    in.index, e.getMessage(), e);
        }
        Process p = old.process();
        if (p != null) {
            p.onExit().thenRun(() -> dispatch(() -> onChildExit(in, run, p)));
        } else {
            int pid = in.pid;
            long ticks = in.startTicks;
            in.watch = timer.scheduleWithFixedDelay(() -> pollAdopted(in, run, pid, ticks),
                    pollInterval.toMillis(), pollInterval.toMillis(), TimeUnit.MILLISECONDS);
        }
        emit(in, ServiceEvent.Kind.START_FAILED, in.service + ":" + in.index + ": " + in.detail,
                Map.of("pid", Integer.toString(failedPid), "error", how, "mode", "start-first"));
    }

    private void autoRestart(Instance in, long run) {
        ServiceSpec spec;
        Target leftovers;
        synchronized (in) {
            if (in.run != run || in.state != ManagerState.BACKOFF || closed) {
                return;
            }
            spec = in.spec;
            leftovers = in.leftovers;
        }
        DriverException cleanup = null;
        if (leftovers != null) {
            try {
                terminateGroup(spec, in, leftovers);
            } catch (DriverException e) {
                cleanup = e;
            }
        }
        synchronized (in) {
            if (in.run != run || in.state != ManagerState.BACKOFF || closed) {
                return;
            }
            if (cleanup != null) {
                // Starting next to what the last run left (a port still held) would fail anyway.
                in.to(ManagerState.FATAL);
                in.detail = "not restarted: " + cleanup.getMessage();
                emit(in, ServiceEvent.Kind.START_FAILED, in.detail, Map.of("error", cleanup.getMessage()));
                return;
            }
            in.leftovers = null;
            in.restarts++;
            startLocked(in, in.spec, false);
        }
    }

    // ---------------------------------------------------------------- stop

    private void awaitStop(Instance in, ServiceSpec spec) {
        CompletableFuture<Void> done;
        synchronized (in) {
            done = in.stopDone;
        }
        if (done != null) {
            await(done, spec.stopTimeout().plus(KILL_WAIT).plus(KILL_WAIT), spec, in);
        }
    }

    private void stopInstance(ServiceSpec spec, Instance in) {
        CompletableFuture<Void> done;
        Target target;
        Process process;
        Retiring retiring;
        synchronized (in) {
            cancelTimer(in);
            if (in.stopDone != null) {
                done = in.stopDone;
                target = null;
                process = null;
            } else if (!in.state.claimsProcess()) {
                // Down already (EXITED, BACKOFF, FATAL, STOPPED): cancel any restart, clear what the last run left.
                if (in.state != ManagerState.STOPPED) {
                    in.to(ManagerState.STOPPED);
                    in.detail = "stopped";
                }
                in.run++;
                done = null;
                target = in.leftovers;
                in.leftovers = null;
                process = null;
            } else {
                in.to(ManagerState.STOPPING);
                in.run++;
                if (in.watch != null) {
                    in.watch.cancel(false);
                }
                done = in.stopDone = new CompletableFuture<>();
                target = in.target();
                process = in.process;
            }
            retiring = in.retiring;
            in.retiring = null;
        }
        if (retiring != null) {
            // A stop in the middle of a start-first replacement stops both processes.
            terminateGroup(spec, in, retiring.target());
        }
        if (done != null && target == null) {
            await(done, spec.stopTimeout().plus(KILL_WAIT).plus(KILL_WAIT), spec, in);
            return;
        }
        if (done == null) {
            if (target != null) {
                terminateGroup(spec, in, target);
            }
            return;
        }
        String how = "gone";
        RuntimeException failure = null;
        try {
            how = terminateGroup(spec, in, target);
        } catch (RuntimeException e) {
            failure = e;
        }
        RestartPlanner.Exit exit = RestartPlanner.Exit.UNKNOWN;
        if (process != null && failure == null) {
            try {
                if (process.waitFor(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                    int v = process.exitValue();
                    exit = v > 128 && v <= 128 + 64 ? new RestartPlanner.Exit(-1, Signals.name(v - 128))
                            : new RestartPlanner.Exit(v, "");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (in) {
            in.stopDone = null;
            if (failure != null) {
                // Still up: report it as running so that a second stop tries again.
                in.to(ManagerState.RUNNING);
                in.detail = failure.getMessage();
            } else {
                in.to(ManagerState.STOPPED);
                in.process = null;
                in.exitCode = exit.code();
                in.exitSignal = exit.signal();
                in.detail = "stopped (" + how + ")";
                deleteRecord(in);
                emit(in, ServiceEvent.Kind.STOPPED, "stopped " + in.service + ":" + in.index + " (pid " + target.pgid
                        + ", " + how + ")", Map.of("pid", Integer.toString(target.pgid), "how", how));
            }
        }
        if (failure != null) {
            done.completeExceptionally(failure);
            throw failure;
        }
        done.complete(null);
    }

    /**
     * The stop signal to the group, then SIGKILL to the group after the stop timeout, each only
     * after proving the group is the instance's. Returns "signal" (it stopped on the stop
     * signal), "kill" (it needed SIGKILL) or "gone" (nothing provably ours was left).
     */
    private String terminateGroup(ServiceSpec spec, Instance in, Target target) {
        if (!groupIsOurs(spec, in, target)) {
            return "gone";
        }
        send(spec, target, spec.stopSignal());
        if (awaitGroupGone(target, spec.stopTimeout())) {
            return "signal";
        }
        if (!groupIsOurs(spec, in, target)) {
            return "signal";
        }
        log.warn("service '{}' instance {}: process group {} still alive {} after SIG{}; sending SIGKILL",
                spec.name(), in.index, target.pgid, spec.stopTimeout(), spec.stopSignal());
        send(spec, target, "KILL");
        if (awaitGroupGone(target, KILL_WAIT)) {
            return "kill";
        }
        throw new DriverException("service '" + spec.name() + "' instance " + in.index + ": process group "
                + target.pgid + " still has live processes " + KILL_WAIT.toSeconds() + " s after SIGKILL (stuck in "
                + "uninterruptible sleep?); check 'ps -o pid,stat,wchan -g " + target.pgid + "'");
    }

    private void send(ServiceSpec spec, Target target, String signal) {
        try {
            Signals.signalGroup(target.pgid, signal);
        } catch (IOException e) {
            throw DriverException.unreachable("service '" + spec.name() + "': could not send SIG" + signal
                    + " to process group " + target.pgid + " with 'kill' (procps or util-linux): " + e.getMessage(), e);
        }
    }

    /**
     * Whether group {@code target.pgid} is provably the instance's: its leader has the recorded
     * start time, or a live member in the session of that id carries the instance's markers.
     */
    private boolean groupIsOurs(ServiceSpec spec, Instance in, Target target) {
        if (target.pgid <= 1) {
            return false;
        }
        ProcFs.Stat leader = proc.stat(target.pgid);
        if (leader != null && target.startTicks > 0 && leader.startTicks() == target.startTicks
                && leader.pgrp() == target.pgid) {
            return true;
        }
        for (ProcFs.Stat m : proc.liveMembers(target.pgid)) {
            if (m.session() != target.pgid) {
                continue;
            }
            Map<String, String> env = proc.environ(m.pid());
            if (spec.name().equals(env.get(ENV_SERVICE)) && Integer.toString(in.index).equals(env.get(ENV_INSTANCE))) {
                return true;
            }
        }
        return false;
    }

    /** Waits until no live process is left in the group; false on timeout. */
    private boolean awaitGroupGone(Target target, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            ProcFs.Stat leader = proc.stat(target.pgid);
            boolean leaderAlive = leader != null && !leader.dead() && leader.pgrp() == target.pgid;
            // While the leader lives the group does; only then is the whole of /proc scanned.
            if (!leaderAlive && proc.liveMembers(target.pgid).isEmpty()) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            LockSupport.parkNanos(GROUP_POLL_NANOS);
        }
    }

    private void await(CompletableFuture<Void> done, Duration timeout, ServiceSpec spec, Instance in) {
        try {
            done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof DriverException de) {
                throw de;
            }
            throw new DriverException("service '" + spec.name() + "' instance " + in.index + ": stop failed: "
                    + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new DriverException("service '" + spec.name() + "' instance " + in.index
                    + ": a stop in progress did not finish within " + timeout + "; check its status", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DriverException("service '" + spec.name() + "' instance " + in.index
                    + ": interrupted while waiting for a stop", e);
        }
    }

    // ---------------------------------------------------------------- logs, timers, events

    /** On the timer: rotates every known instance's output file that grew beyond its limit. */
    private void rotateLogs() {
        try {
            for (Map<Integer, Instance> byIndex : services.values()) {
                for (Instance in : byIndex.values()) {
                    ServiceSpec spec = in.spec;
                    OutputLog output = new OutputLog(logDir(spec), spec.name(), in.index);
                    output.rotateIfLarger(spec.logs().maxBytes(), spec.logs().keep());
                }
            }
        } catch (RuntimeException e) {
            taskFailures.incrementAndGet();
            log.error("built-in driver: log rotation failed", e);
        }
    }

    private Path logDir(ServiceSpec spec) {
        return spec.logs().dir() != null ? spec.logs().dir() : stateDir.resolve("logs").resolve(spec.name());
    }

    private void deleteRecord(Instance in) {
        try {
            InstanceRecord.delete(in.recordFile);
        } catch (UncheckedIOException e) {
            log.warn("service '{}' instance {}: {}", in.service, in.index, e.getMessage());
        }
    }

    private ScheduledFuture<?> later(Duration delay, Runnable task) {
        return timer.schedule(() -> dispatch(task), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static void cancelTimer(Instance in) {
        if (in.pending != null) {
            in.pending.cancel(false);
            in.pending = null;
        }
    }

    /** Runs {@code task} on a worker; failures are logged and counted. Dropped once closed. */
    private void dispatch(Runnable task) {
        if (closed) {
            return;
        }
        try {
            workers.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    taskFailures.incrementAndGet();
                    log.error("built-in driver: background task failed", e);
                }
            });
        } catch (RejectedExecutionException e) {
            log.debug("built-in driver closed; dropped a task");
        }
    }

    private void emit(Instance in, ServiceEvent.Kind kind, String message, Map<String, String> attributes) {
        try {
            events.accept(new ServiceEvent(clock.millis(), in.service, in.index, kind, message, attributes));
        } catch (RuntimeException e) {
            log.error("built-in driver: event sink failed on {}", kind, e);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("built-in driver is closed");
        }
    }

    private static void checkSpec(ServiceSpec spec) {
        if (spec.driver() != DriverKind.BUILTIN) {
            throw new IllegalArgumentException("service '" + spec.name() + "' has driver " + spec.driver().configName()
                    + " (expected: builtin)");
        }
    }

    private static int checkIndex(ServiceSpec spec, int instance) {
        if (instance < 0 || instance >= spec.instances()) {
            throw new IllegalArgumentException("instance " + instance + " of service '" + spec.name() + "' (expected: 0 to "
                    + (spec.instances() - 1) + ")");
        }
        return instance;
    }

    private static String managerName(String service, int instance) {
        return service + ":" + instance;
    }
}
