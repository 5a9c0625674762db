package dev.fleetkeeper.agent.service.pm2;

import com.google.gson.JsonParseException;
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
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.regex.Pattern;

/**
 * Drives services run by PM2 through its command line ({@code pm2 jlist}, {@code start},
 * {@code restart}, {@code reload}, {@code stop}, {@code sendSignal}, {@code delete}).
 * Thread-safe: commands for one service are serialized, PM2's daemon serializes the rest. Owned
 * by the agent's main; {@link #close} has nothing to release (no connection is kept).
 *
 * <p>Where things are:
 * <ul>
 *   <li>PM2_HOME is {@code pm2.home}, else the service user's {@code ~/.pm2}. When the agent runs
 *       as root and the service has another user, pm2 runs as that user ({@code runuser -u USER
 *       --}), so it talks to that user's daemon and the apps run as that user.
 *   <li>The ecosystem file is {@code STATE_DIR/pm2/SERVICE.json} (mode 0644: a switched-to user
 *       must be able to read it, so STATE_DIR must be traversable by it).
 *   <li>Output: stdout and stderr of an instance go to one file,
 *       {@code LOG_DIR/APP-PM_ID.log} (LOG_DIR: {@code logs.dir}, else {@code STATE_DIR/logs/SERVICE}),
 *       so it holds both in the order written; {@link #tail} reads the paths PM2 reports.
 * </ul>
 *
 * <p>When PM2 starts things: {@link #apply} only writes the ecosystem file and remembers the
 * spec; it runs no pm2 command. {@link #start} of an app PM2 does not know yet runs
 * {@code pm2 start FILE --only APP}, which starts every instance of it at once (PM2 creates an
 * app's instances together; pre-flight is asked for each). Later starts, stops and restarts
 * act on one instance by its pm_id. PM2 keeps one configuration per app for all its instances,
 * so a changed spec (a new release) cannot reach a single instance: {@link #restart} and
 * {@link #start} refuse while {@link #configDrift} reports a difference, and {@link #reload}
 * moves every instance to the spec with {@code pm2 reload FILE}, one after another.
 *
 * <p>Instances are numbered by the app's instance variable (NODE_APP_INSTANCE, 0 to N-1),
 * which PM2 assigns per app, not by pm_id, which is global to the daemon. PM2 stops an instance
 * with SIGINT (or the daemon's PM2_KILL_SIGNAL), then SIGKILL after kill_timeout (the spec's
 * stopTimeout); the spec's stopSignal has no per-app setting in PM2 and is not applied.
 *
 * <p>Reading state never starts a daemon: {@link #status}, {@link #configDrift} and
 * {@link #tail} report a home without a running daemon (no rpc.sock) instead of running a pm2
 * command, which would spawn one.
 */
public final class Pm2Driver implements ServiceDriver {

    /** The default bound on one pm2 command; stops add the spec's stop timeout. */
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(30);

    private static final Pattern SIGNAL = Pattern.compile("[A-Z][A-Z0-9]{1,10}");
    private static final int MAX_TAIL_LINES = 10_000;

    private final Path stateDir;
    private final PreStartCheck preStart;
    private final ServiceEvent.Sink events;
    private final InstantSource clock;
    private final Duration commandTimeout;
    private final Path passwd;
    private final ConcurrentMap<String, ServiceSpec> applied = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Object> locks = new ConcurrentHashMap<>();

    /**
     * @param stateDir the agent's state directory: ecosystem files, default log directories
     * @param preStart asked before every start and restart
     * @param events   where STARTED, STOPPED, START_FAILED and START_REFUSED go
     */
    public Pm2Driver(Path stateDir, PreStartCheck preStart, ServiceEvent.Sink events) {
        this(stateDir, preStart, events, InstantSource.system(), DEFAULT_COMMAND_TIMEOUT, Path.of("/etc/passwd"));
    }

    Pm2Driver(Path stateDir, PreStartCheck preStart, ServiceEvent.Sink events, InstantSource clock,
              Duration commandTimeout, Path passwd) {
        this.stateDir = Objects.requireNonNull(stateDir, "stateDir");
        this.preStart = Objects.requireNonNull(preStart, "preStart");
        this.events = Objects.requireNonNull(events, "events");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.commandTimeout = Objects.requireNonNull(commandTimeout, "commandTimeout");
        this.passwd = Objects.requireNonNull(passwd, "passwd");
        if (commandTimeout.isNegative() || commandTimeout.isZero()) {
            throw new IllegalArgumentException("commandTimeout: " + commandTimeout + " (expected: > 0)");
        }
    }

    @Override
    public DriverKind kind() {
        return DriverKind.PM2;
    }

    @Override
    public void apply(ServiceSpec spec) {
        check(spec);
        synchronized (lockOf(spec)) {
            writeEcosystem(spec);
            applied.put(spec.name(), spec);
        }
    }

    @Override
    public void remove(ServiceSpec spec) {
        check(spec);
        synchronized (lockOf(spec)) {
            Pm2Cli cli = cli(spec);
            if (daemonRunning(cli)) {
                List<Pm2Process> procs = appProcesses(spec, cli);
                if (!procs.isEmpty()) {
                    Pm2Cli.Result r = cli.run(stopBound(spec, procs.size()), "delete", app(spec));
                    if (!r.ok()) {
                        throw new DriverException("'pm2 delete " + app(spec) + "' (PM2_HOME " + cli.home()
                                + ") failed for service '" + spec.name() + "': " + r.lastWords());
                    }
                    for (Pm2Process p : procs) {
                        if (p.pid() > 0) {
                            emit(spec, p.instance(), ServiceEvent.Kind.STOPPED, "deleted from PM2",
                                    Map.of("pid", Integer.toString(p.pid()), "pm_id", Integer.toString(p.pmId())));
                        }
                    }
                }
            }
            try {
                Files.deleteIfExists(ecosystemFile(spec));
            } catch (IOException e) {
                throw new DriverException("cannot delete " + ecosystemFile(spec) + " of service '" + spec.name()
                        + "': " + e.getMessage(), e);
            }
            applied.remove(spec.name());
        }
    }

    @Override
    public List<InstanceStatus> status(ServiceSpec spec) {
        check(spec);
        Pm2Cli cli = cli(spec);
        List<InstanceStatus> out = new ArrayList<>(spec.instances());
        if (!daemonRunning(cli)) {
            for (int i = 0; i < spec.instances(); i++) {
                out.add(InstanceStatus.unknown(i, app(spec), "no PM2 daemon runs in " + cli.home()));
            }
            return List.copyOf(out);
        }
        List<Pm2Process> procs = appProcesses(spec, cli);
        for (int i = 0; i < spec.instances(); i++) {
            Pm2Process p = instanceOf(procs, i);
            out.add(p == null
                    ? InstanceStatus.unknown(i, app(spec), "PM2 (" + cli.home() + ") runs no instance " + i
                            + " of app '" + app(spec) + "'")
                    : statusOf(p));
        }
        return List.copyOf(out);
    }

    /** PM2's status words onto the common vocabulary. */
    static ManagerState stateOf(String pm2Status) {
        return switch (pm2Status) {
            case "online" -> ManagerState.RUNNING;
            case "launching" -> ManagerState.STARTING;
            case "stopping" -> ManagerState.STOPPING;
            case "stopped" -> ManagerState.STOPPED;
            case "waiting restart" -> ManagerState.BACKOFF;
            case "errored" -> ManagerState.FATAL;
            case "one-launch-status" -> ManagerState.EXITED;
            default -> ManagerState.UNKNOWN;
        };
    }

    /**
     * {@code p}'s status. PM2 6 (God.handleExit) sets "waiting restart" whenever a restart delay
     * is configured, also after an exit it will not restart (autorestart false, or an exit code
     * in stop_exit_codes); such an instance is reported EXITED, which is what it is.
     */
    static InstanceStatus statusOf(Pm2Process p) {
        ManagerState state = stateOf(p.status());
        String note = "";
        if (state == ManagerState.BACKOFF && p.pid() <= 0
                && (!p.autorestart() || p.stopExitCodes().contains(p.exitCode()))) {
            state = ManagerState.EXITED;
            note = " (PM2 will not restart it: " + (p.autorestart() ? "exit code in stop_exit_codes" : "autorestart off")
                    + ")";
        }
        String detail = "pm2 " + p.status() + note + ", pm_id " + p.pmId()
                + (p.memory() >= 0 && p.pid() > 0 ? ", memory " + (p.memory() >> 20) + " MiB" : "")
                + (p.exitCode() >= 0 ? ", last exit code " + p.exitCode() : "");
        return new InstanceStatus(p.instance(), p.name() + " (pm_id " + p.pmId() + ")", state,
                Math.max(p.pid(), 0), p.uptimeMillis(), p.exitCode(), "", p.restarts(), detail);
    }

    @Override
    public void start(ServiceSpec spec, int instance) {
        check(spec, instance);
        synchronized (lockOf(spec)) {
            Pm2Cli cli = cli(spec);
            List<Pm2Process> procs = appProcesses(spec, cli);
            if (procs.isEmpty()) {
                startApp(spec, cli, "start");
                return;
            }
            Pm2Process p = requireInstance(spec, cli, procs, instance);
            if (p.pid() > 0 && stateOf(p.status()).claimsProcess()) {
                return;
            }
            refuseOnDrift(spec, instance, procs, "start");
            preflight(spec, instance);
            runInstance(spec, cli, p, "start", commandTimeout);
            started(spec, cli, instance, "started by pm2 start " + p.pmId());
        }
    }

    @Override
    public void stop(ServiceSpec spec, int instance) {
        check(spec, instance);
        synchronized (lockOf(spec)) {
            Pm2Cli cli = cli(spec);
            if (!daemonRunning(cli)) {
                return;
            }
            Pm2Process p = instanceOf(appProcesses(spec, cli), instance);
            if (p == null || (p.pid() <= 0 && "stopped".equals(p.status()))) {
                return;
            }
            runInstance(spec, cli, p, "stop", stopBound(spec, 1));
            Pm2Process after = instanceOf(appProcesses(spec, cli), instance);
            if (after != null && after.pid() > 0) {
                throw new DriverException("service '" + spec.name() + "' instance " + instance + ": 'pm2 stop "
                        + p.pmId() + "' (PM2_HOME " + cli.home() + ") returned, but pm2 still reports pid "
                        + after.pid() + " (" + after.status() + ")");
            }
            emit(spec, instance, ServiceEvent.Kind.STOPPED, "stopped by pm2 stop " + p.pmId(),
                    Map.of("pid", Integer.toString(p.pid()), "pm_id", Integer.toString(p.pmId())));
        }
    }

    @Override
    public void restart(ServiceSpec spec, int instance) {
        check(spec, instance);
        synchronized (lockOf(spec)) {
            Pm2Cli cli = cli(spec);
            List<Pm2Process> procs = appProcesses(spec, cli);
            if (procs.isEmpty()) {
                startApp(spec, cli, "start");
                return;
            }
            Pm2Process p = requireInstance(spec, cli, procs, instance);
            refuseOnDrift(spec, instance, procs, "restart");
            preflight(spec, instance);
            runInstance(spec, cli, p, "restart", stopBound(spec, 1));
            if (p.pid() > 0) {
                emit(spec, instance, ServiceEvent.Kind.STOPPED, "stopped by pm2 restart " + p.pmId(),
                        Map.of("pid", Integer.toString(p.pid()), "pm_id", Integer.toString(p.pmId())));
            }
            started(spec, cli, instance, "started by pm2 restart " + p.pmId());
        }
    }

    /**
     * Moves every instance of the app to {@code spec}: rewrites the ecosystem file, then
     * {@code pm2 reload FILE --only APP} (PM2 restarts the instances one after another), or
     * {@code pm2 start FILE --only APP} when PM2 does not know the app yet. Pre-flight is asked
     * for every instance first; one refusal refuses the whole reload.
     */
    public void reload(ServiceSpec spec) {
        check(spec);
        synchronized (lockOf(spec)) {
            Pm2Cli cli = cli(spec);
            startApp(spec, cli, appProcesses(spec, cli).isEmpty() ? "start" : "reload");
        }
    }

    @Override
    public void signal(ServiceSpec spec, int instance, String signal) {
        check(spec, instance);
        Objects.requireNonNull(signal, "signal");
        String name = signal.startsWith("SIG") ? signal.substring(3) : signal;
        if (!SIGNAL.matcher(name).matches()) {
            throw new IllegalArgumentException("signal: '" + signal + "' (expected: a signal name such as HUP or USR2)");
        }
        synchronized (lockOf(spec)) {
            Pm2Cli cli = cli(spec);
            Pm2Process p = daemonRunning(cli) ? instanceOf(appProcesses(spec, cli), instance) : null;
            if (p == null || p.pid() <= 0) {
                throw new DriverException("service '" + spec.name() + "' instance " + instance + " has no process in "
                        + "PM2 (" + cli.home() + ") to send SIG" + name + " to; start it first");
            }
            // pm2 sendSignal signals the instance's process (not its group): what PM2 offers.
            runInstance(spec, cli, p, "sendSignal", commandTimeout, "SIG" + name);
        }
    }

    /**
     * The last {@code lines} lines of the instance's output, from the files PM2 reports
     * (pm_out_log_path, pm_err_log_path). With the ecosystem file this driver writes they are
     * one file in write order. When they are two files (an app set up by hand) the two cannot be
     * interleaved after the fact: stdout's last lines come first, then stderr's, and the result
     * is cut to {@code lines} from the end.
     */
    @Override
    public List<String> tail(ServiceSpec spec, int instance, int lines) {
        check(spec, instance);
        if (lines < 0 || lines > MAX_TAIL_LINES) {
            throw new IllegalArgumentException("lines: " + lines + " (expected: 0 to " + MAX_TAIL_LINES + ")");
        }
        Pm2Cli cli = cli(spec);
        Pm2Process p = daemonRunning(cli) ? instanceOf(appProcesses(spec, cli), instance) : null;
        if (p == null) {
            throw new DriverException("service '" + spec.name() + "' instance " + instance + " is not known to PM2 ("
                    + cli.home() + "), so its log files are unknown; start it first");
        }
        Set<String> files = new LinkedHashSet<>();
        for (String f : List.of(p.outLog(), p.errLog())) {
            if (!f.isEmpty() && !"/dev/null".equals(f)) {
                files.add(f);
            }
        }
        List<String> out = new ArrayList<>();
        for (String f : files) {
            out.addAll(lastLines(Path.of(f), lines));
        }
        return List.copyOf(out.subList(Math.max(0, out.size() - lines), out.size()));
    }

    /**
     * A member carries FLEETKEEPER_SERVICE = the service's name (set in the ecosystem file), or
     * PM2's own marks: {@code name} = the app and a numeric {@code pm_id}, with PM2_HOME, when
     * present, the home this service's daemon uses (the same app name under another user's
     * daemon is another service).
     */
    @Override
    public boolean isMember(ServiceSpec spec, Map<String, String> environ) {
        check(spec);
        if (spec.name().equals(environ.get("FLEETKEEPER_SERVICE"))) {
            return true;
        }
        String pmId = environ.get("pm_id");
        if (!app(spec).equals(environ.get("name")) || pmId == null || !pmId.matches("\\d+")) {
            return false;
        }
        String home = environ.get("PM2_HOME");
        if (home == null) {
            return true;
        }
        try {
            return Path.of(home).normalize().equals(homeOf(spec).normalize());
        } catch (DriverException e) {
            return false;
        }
    }

    @Override
    public List<String> configDrift(ServiceSpec spec) {
        check(spec);
        Pm2Cli cli = cli(spec);
        if (!daemonRunning(cli)) {
            return List.of("no PM2 daemon runs in " + cli.home() + ", so app '" + app(spec) + "' is not configured "
                    + "there; the spec declares " + spec.instances() + " instance(s)");
        }
        return drift(spec, appProcesses(spec, cli));
    }

    private List<String> drift(ServiceSpec spec, List<Pm2Process> procs) {
        String app = app(spec);
        if (procs.isEmpty()) {
            return List.of("PM2 has no app '" + app + "'; the spec declares " + spec.instances() + " instance(s)");
        }
        List<String> out = new ArrayList<>();
        Pm2Process first = procs.get(0);
        Pm2Ecosystem.Launch launch = Pm2Ecosystem.launchOf(spec);
        String expected = expectedExecPath(launch.script(), cwdOf(spec));
        if (!samePath(first.execPath(), expected)) {
            out.add("PM2 runs '" + first.execPath() + "' for app '" + app + "', the spec says '" + expected + "'");
        }
        if (!first.args().equals(launch.args())) {
            out.add("PM2 passes " + Pm2Ecosystem.show(first.args()) + " to '" + app + "', the spec says "
                    + Pm2Ecosystem.show(launch.args()));
        }
        if (procs.size() != spec.instances()) {
            out.add("PM2 runs " + procs.size() + " instance(s) of app '" + app + "', the spec says "
                    + spec.instances());
        }
        for (Pm2Process p : procs) {
            if (!"fork_mode".equals(p.execMode())) {
                out.add("PM2 runs app '" + app + "' in " + p.execMode().replace("_mode", "") + " mode, the spec says "
                        + "fork mode");
                break;
            }
        }
        return List.copyOf(out);
    }

    @Override
    public void close() {
        // Nothing held: every call runs its own pm2 command.
    }

    // --- starting -------------------------------------------------------------------------------

    /** {@code pm2 start|reload FILE --only APP}: every instance; pre-flight asked for each first. */
    private void startApp(ServiceSpec spec, Pm2Cli cli, String verb) {
        for (int i = 0; i < spec.instances(); i++) {
            preflight(spec, i);
        }
        Path file = writeEcosystem(spec);
        Pm2Cli.Result r = cli.run(stopBound(spec, spec.instances()), verb, file.toString(), "--only", app(spec));
        List<Pm2Process> procs = appProcesses(spec, cli);
        String how = "started by pm2 " + verb + " " + file.getFileName();
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < spec.instances(); i++) {
            Pm2Process p = instanceOf(procs, i);
            if (launched(p)) {
                emit(spec, i, ServiceEvent.Kind.STARTED, how + exitedAlready(p), startedAttributes(p));
            } else {
                missing.add(Integer.toString(i));
            }
        }
        if (!missing.isEmpty() || !r.ok()) {
            String why = "'pm2 " + verb + " " + file + " --only " + app(spec) + "' (PM2_HOME " + cli.home() + ") "
                    + (missing.isEmpty() ? "failed" : "left instance(s) " + String.join(", ", missing)
                    + " of service '" + spec.name() + "' without a process") + ": " + r.lastWords();
            for (String i : missing) {
                emit(spec, Integer.parseInt(i), ServiceEvent.Kind.START_FAILED, why, Map.of("error", r.lastWords()));
            }
            throw new DriverException(why + "; check the script and PM2's log " + cli.home().resolve("pm2.log"));
        }
    }

    private void started(ServiceSpec spec, Pm2Cli cli, int instance, String how) {
        Pm2Process p = instanceOf(appProcesses(spec, cli), instance);
        if (!launched(p)) {
            String why = "service '" + spec.name() + "' instance " + instance + ": " + how + " (PM2_HOME " + cli.home()
                    + "), but pm2 reports " + (p == null ? "no such instance" : "status '" + p.status() + "'")
                    + " and no pid";
            emit(spec, instance, ServiceEvent.Kind.START_FAILED, why, Map.of());
            throw new DriverException(why + "; see its output with tail and PM2's log " + cli.home().resolve("pm2.log"));
        }
        emit(spec, instance, ServiceEvent.Kind.STARTED, how + exitedAlready(p), startedAttributes(p));
    }

    /**
     * Whether PM2 launched {@code p}: it has a pid, or it ran and exited already (a quick exit is
     * the instance's own doing and shows in its status, not a failed start). PM2 knowing no such
     * instance, or giving up on it (errored), is a failed start.
     */
    private static boolean launched(Pm2Process p) {
        return p != null && (p.pid() > 0 || (!"errored".equals(p.status()) && p.exitCode() >= 0));
    }

    private static String exitedAlready(Pm2Process p) {
        return p.pid() > 0 ? "" : ", and it exited already (pm2 " + p.status() + ", exit code " + p.exitCode() + ")";
    }

    private static Map<String, String> startedAttributes(Pm2Process p) {
        return p.pid() > 0
                ? Map.of("pid", Integer.toString(p.pid()), "pm_id", Integer.toString(p.pmId()))
                : Map.of("pm_id", Integer.toString(p.pmId()), "exit_code", Integer.toString(p.exitCode()));
    }

    private void preflight(ServiceSpec spec, int instance) {
        String reason = preStart.beforeStart(spec, instance);
        if (reason != null) {
            emit(spec, instance, ServiceEvent.Kind.START_REFUSED, reason, Map.of("findings", reason));
            throw new DriverException("start of service '" + spec.name() + "' instance " + instance
                    + " refused by pre-flight: " + reason);
        }
    }

    private void refuseOnDrift(ServiceSpec spec, int instance, List<Pm2Process> procs, String verb) {
        List<String> drift = drift(spec, procs);
        if (!drift.isEmpty()) {
            String why = "PM2 keeps one configuration for all instances of app '" + app(spec) + "' and it differs "
                    + "from the spec (" + String.join("; ", drift) + "), so a " + verb + " of instance " + instance
                    + " alone would not run the spec";
            emit(spec, instance, ServiceEvent.Kind.START_REFUSED, why, Map.of("findings", String.join("; ", drift)));
            throw new DriverException("service '" + spec.name() + "': " + why + "; reload the whole app instead "
                    + "(pm2 reload " + ecosystemFile(spec) + " --only " + app(spec) + ")");
        }
    }

    private void runInstance(ServiceSpec spec, Pm2Cli cli, Pm2Process p, String verb, Duration timeout,
                             String... before) {
        List<String> args = new ArrayList<>();
        args.add(verb);
        args.addAll(List.of(before));
        args.add(Integer.toString(p.pmId()));
        Pm2Cli.Result r = cli.run(timeout, args.toArray(new String[0]));
        if (!r.ok()) {
            String why = "'pm2 " + String.join(" ", args) + "' (PM2_HOME " + cli.home() + ") failed for service '"
                    + spec.name() + "' instance " + p.instance() + ": " + r.lastWords();
            if (!verb.equals("stop") && !verb.equals("sendSignal")) {
                emit(spec, p.instance(), ServiceEvent.Kind.START_FAILED, why, Map.of("error", r.lastWords()));
            }
            throw new DriverException(why);
        }
    }

    // --- reading PM2 ----------------------------------------------------------------------------

    private List<Pm2Process> appProcesses(ServiceSpec spec, Pm2Cli cli) {
        Pm2Cli.Result r = cli.run(commandTimeout, "jlist");
        if (!r.ok()) {
            throw DriverException.unreachable("'pm2 jlist' (PM2_HOME " + cli.home() + ") failed with status "
                    + r.exitCode() + ": " + r.lastWords() + "; check PM2's log " + cli.home().resolve("pm2.log"), null);
        }
        List<Pm2Process> all;
        try {
            all = Pm2Process.parseJlist(r.stdout());
        } catch (JsonParseException e) {
            throw new DriverException("cannot read the answer of 'pm2 jlist' (PM2_HOME " + cli.home() + ") for service '"
                    + spec.name() + "': " + e.getMessage(), e);
        }
        List<Pm2Process> mine = new ArrayList<>();
        for (Pm2Process p : all) {
            if (p.name().equals(app(spec))) {
                mine.add(p);
            }
        }
        mine.sort(Comparator.comparingInt(Pm2Process::pmId));
        return List.copyOf(mine);
    }

    private static Pm2Process instanceOf(List<Pm2Process> procs, int instance) {
        for (Pm2Process p : procs) {
            if (p.instance() == instance) {
                return p;
            }
        }
        return null;
    }

    private Pm2Process requireInstance(ServiceSpec spec, Pm2Cli cli, List<Pm2Process> procs, int instance) {
        Pm2Process p = instanceOf(procs, instance);
        if (p == null) {
            throw new DriverException("PM2 (" + cli.home() + ") runs " + procs.size() + " instance(s) of app '"
                    + app(spec) + "' but none with NODE_APP_INSTANCE " + instance + " (service '" + spec.name()
                    + "'); reload the app so that it has the spec's " + spec.instances() + " instance(s)");
        }
        return p;
    }

    /** The daemon listens on rpc.sock in its home; no socket, no daemon, and no pm2 command to spawn one. */
    private static boolean daemonRunning(Pm2Cli cli) {
        return Files.exists(cli.home().resolve("rpc.sock"));
    }

    // --- where things are -----------------------------------------------------------------------

    private Pm2Cli cli(ServiceSpec spec) {
        String user = spec.effectiveUser();
        String runAs = "";
        String agentUser = System.getProperty("user.name");
        if (!spec.user().isEmpty() && !spec.user().equals(agentUser)) {
            if (!agentIsRoot()) {
                throw new DriverException("service '" + spec.name() + "' runs as '" + spec.user() + "' under PM2, but the "
                        + "agent runs as '" + agentUser + "' and cannot run pm2 as another user; run the agent as root "
                        + "or as '" + spec.user() + "'");
            }
            runAs = spec.user();
        }
        return new Pm2Cli(resolveBin(spec), homeOf(spec), runAs, userHome(spec, user), stateDir.resolve("pm2/tmp"));
    }

    private Path homeOf(ServiceSpec spec) {
        Path home = spec.pm2().home();
        return home != null ? home : userHome(spec, spec.effectiveUser()).resolve(".pm2");
    }

    private Path userHome(ServiceSpec spec, String user) {
        if (user.equals(System.getProperty("user.name"))) {
            return Path.of(System.getProperty("user.home"));
        }
        try {
            for (String line : Files.readAllLines(passwd, StandardCharsets.UTF_8)) {
                String[] f = line.split(":", -1);
                if (f.length >= 7 && f[0].equals(user)) {
                    return Path.of(f[5]);
                }
            }
        } catch (IOException e) {
            throw new DriverException("cannot read " + passwd + " to find the home of user '" + user + "' (service '"
                    + spec.name() + "'): " + e.getMessage() + "; set pm2.home", e);
        }
        throw new DriverException("user '" + user + "' of service '" + spec.name() + "' is not in " + passwd
                + "; create the user or set pm2.home");
    }

    private static Path resolveBin(ServiceSpec spec) {
        String bin = spec.pm2().bin();
        if (bin.contains("/")) {
            Path p = Path.of(bin).toAbsolutePath();
            if (!Files.isRegularFile(p) || !Files.isExecutable(p)) {
                throw DriverException.unreachable("pm2 for service '" + spec.name() + "' is not an executable file at "
                        + p + "; install PM2 (npm install -g pm2) or set pm2.bin to the path of pm2", null);
            }
            return p;
        }
        String path = Objects.requireNonNullElse(System.getenv("PATH"), "");
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty()) {
                Path p = Path.of(dir, bin);
                if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        throw DriverException.unreachable("'" + bin + "' for service '" + spec.name() + "' is not on the agent's PATH ("
                + path + "); install PM2 (npm install -g pm2) or set pm2.bin to the path of pm2", null);
    }

    private static boolean agentIsRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /** Where the ecosystem file of {@code spec} is written. */
    Path ecosystemFile(ServiceSpec spec) {
        return stateDir.resolve("pm2").resolve(spec.name() + ".json");
    }

    private Path logDir(ServiceSpec spec) {
        Path dir = spec.logs().dir();
        return dir != null ? dir : stateDir.resolve("logs").resolve(spec.name());
    }

    private Path cwdOf(ServiceSpec spec) {
        return spec.workingDir() != null ? spec.workingDir() : userHome(spec, spec.effectiveUser());
    }

    private Path writeEcosystem(ServiceSpec spec) {
        Path file = ecosystemFile(spec);
        Path logDir = logDir(spec);
        String json = Pm2Ecosystem.json(spec, app(spec), cwdOf(spec), logDir.resolve(app(spec) + ".log"));
        try {
            Files.createDirectories(file.getParent());
            Files.setPosixFilePermissions(file.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.createDirectories(logDir);
            String user = spec.user();
            if (!user.isEmpty() && !user.equals(System.getProperty("user.name")) && agentIsRoot()) {
                UserPrincipal owner = logDir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(user);
                Files.setOwner(logDir, owner);
            }
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, json, StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            return file;
        } catch (IOException e) {
            throw new DriverException("cannot write the PM2 ecosystem file " + file + " (logs in " + logDir
                    + ") of service '" + spec.name() + "': " + e.getMessage() + "; check the agent's state directory", e);
        }
    }

    private static String expectedExecPath(String script, Path cwd) {
        Path p = Path.of(script);
        if (p.isAbsolute()) {
            return p.normalize().toString();
        }
        Path inCwd = cwd.resolve(p).normalize();
        if (script.contains("/") || Files.exists(inCwd)) {
            return inCwd.toString();
        }
        return script; // looked up on PATH by PM2: compared by file name
    }

    private static boolean samePath(String actual, String expected) {
        if (actual.equals(expected)) {
            return true;
        }
        return !expected.contains("/") && !actual.isEmpty()
                && Path.of(actual).getFileName().toString().equals(expected);
    }

    // --- small things ---------------------------------------------------------------------------

    private static String app(ServiceSpec spec) {
        return spec.pm2().app();
    }

    private Object lockOf(ServiceSpec spec) {
        return locks.computeIfAbsent(spec.name(), k -> new Object());
    }

    private Duration stopBound(ServiceSpec spec, int instances) {
        return commandTimeout.plus(spec.stopTimeout().multipliedBy(Math.max(1, instances)));
    }

    private void emit(ServiceSpec spec, int instance, ServiceEvent.Kind kind, String message, Map<String, String> attrs) {
        events.accept(new ServiceEvent(clock.millis(), spec.name(), instance, kind, message, attrs));
    }

    private static void check(ServiceSpec spec) {
        Objects.requireNonNull(spec, "spec");
        if (spec.driver() != DriverKind.PM2) {
            throw new IllegalArgumentException("service '" + spec.name() + "' has driver "
                    + spec.driver().configName() + " (expected: pm2)");
        }
    }

    private static void check(ServiceSpec spec, int instance) {
        check(spec);
        spec.portsOf(instance); // throws naming the valid range
    }

    /** The last {@code n} lines of {@code file}, read backwards from its end; none if it does not exist. */
    static List<String> lastLines(Path file, int n) {
        if (n == 0 || !Files.exists(file)) {
            return List.of();
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long end = raf.length();
            long scanEnd = end;
            if (end > 0) {
                raf.seek(end - 1);
                if (raf.read() == '\n') {
                    scanEnd = end - 1; // the newline that ends the last line does not start another
                }
            }
            byte[] buf = new byte[8192];
            long pos = scanEnd;
            long start = -1;
            int found = 0;
            // Back from the end to the n-th line break, reading at most 64 MiB.
            outer:
            while (pos > 0 && end - pos < (64L << 20)) {
                int len = (int) Math.min(buf.length, pos);
                pos -= len;
                raf.seek(pos);
                raf.readFully(buf, 0, len);
                for (int i = len - 1; i >= 0; i--) {
                    if (buf[i] == '\n' && ++found == n) {
                        start = pos + i + 1;
                        break outer;
                    }
                }
            }
            if (start < 0) {
                start = pos;
            }
            byte[] bytes = new byte[(int) (end - start)];
            raf.seek(start);
            raf.readFully(bytes);
            List<String> out = new ArrayList<>(List.of(new String(bytes, StandardCharsets.UTF_8).split("\r?\n", -1)));
            if (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) {
                out.remove(out.size() - 1);
            }
            return List.copyOf(out.subList(Math.max(0, out.size() - n), out.size()));
        } catch (IOException e) {
            throw new DriverException("cannot read the output file " + file + ": " + e.getMessage()
                    + "; check that the agent may read it", e);
        }
    }

    @Override
    public String toString() {
        return "Pm2Driver(" + stateDir + ", " + applied.size() + " services)";
    }
}
