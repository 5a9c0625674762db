package dev.fleetkeeper.agent.service.supervisor;

import dev.fleetkeeper.agent.service.DriverException;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.PreStartCheck;
import dev.fleetkeeper.agent.service.ServiceDriver;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.service.ServiceSpec;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives services run by supervisord, through its XML-RPC interface on its unix socket or inet
 * port. Thread-safe. It owns its one event-loop thread ({@code fleetkeeper-supervisord}, daemon)
 * and its connections, which {@link #close()} releases; supervisord and its programs go on.
 *
 * <p>One driver may serve specs that name different supervisord endpoints: it keeps a client
 * per (url, username, password).
 *
 * <p>Instances map onto supervisord processes by name: with {@code numprocs} N and the
 * {@code process_name} the agent writes ({@code %(program_name)s_%(process_num)02d}), instance
 * i is {@code program:program_0i}; with one instance it is {@code program:program}. For an
 * operator's program or {@code [group:x]} whose names follow no such pattern, instance i is the
 * group's i-th process in name order.
 *
 * <p>When the spec names a {@code configFile}, the agent owns that file: {@link #apply} writes
 * the program section and then does what {@code supervisorctl reread && supervisorctl update}
 * does, for this program only (never another program's pending change: that is the
 * operator's). Without one, the operator owns supervisord's config and the driver only reads
 * it; {@link #configDrift} says where it differs from the spec.
 *
 * <p>{@link #signal} goes through supervisord's {@code signalProcess}, which signals the main
 * process only, not its process group.
 */
public final class SupervisorDriver implements ServiceDriver {

    private static final Logger log = LoggerFactory.getLogger(SupervisorDriver.class);

    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(3);
    public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(10);
    /** Added to the waits supervisord itself does (a stop's stopwaitsecs, a start's startsecs). */
    private static final Duration WAIT_MARGIN = Duration.ofSeconds(10);
    /** The most output a tail reads. */
    private static final int MAX_TAIL_BYTES = 1 << 20;

    /** How much of supervisord's main log is read to learn how a process ended. */
    private static final int EXIT_LOG_BYTES = 64 << 10;
    private static final Pattern EXIT_LINE = Pattern.compile(
            "(?:exited|stopped): (\\S+) \\((?:exit status (\\d+)|terminated by SIG([A-Z0-9]+))");

    private static final Map<Integer, String> SIGNAL_NAMES = Map.of(1, "HUP", 2, "INT", 3, "QUIT", 9, "KILL",
            10, "USR1", 12, "USR2", 15, "TERM");

    private final PreStartCheck preStart;
    private final ServiceEvent.Sink events;
    private final InstantSource clock;
    private final Duration connectTimeout;
    private final Duration callTimeout;
    private final EventLoopGroup group;
    private final ConcurrentMap<SupervisorRpc.Endpoint, SupervisorRpc> clients = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    /** A driver with the default timeouts (connect 3 s, a call 10 s plus what supervisord waits). */
    public SupervisorDriver(PreStartCheck preStart, ServiceEvent.Sink events, InstantSource clock) {
        this(preStart, events, clock, DEFAULT_CONNECT_TIMEOUT, DEFAULT_CALL_TIMEOUT);
    }

    public SupervisorDriver(PreStartCheck preStart, ServiceEvent.Sink events, InstantSource clock,
                            Duration connectTimeout, Duration callTimeout) {
        this.preStart = Objects.requireNonNull(preStart, "preStart");
        this.events = Objects.requireNonNull(events, "events");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.connectTimeout = positive("connectTimeout", connectTimeout);
        this.callTimeout = positive("callTimeout", callTimeout);
        this.group = new NioEventLoopGroup(1, new DefaultThreadFactory("fleetkeeper-supervisord", true));
    }

    @Override
    public DriverKind kind() {
        return DriverKind.SUPERVISOR;
    }

    @Override
    public void apply(ServiceSpec spec) {
        ServiceSpec.SupervisorSpec sv = supervisorOf(spec);
        if (sv.configFile() == null) {
            if (processesOf(spec).isEmpty()) {
                throw new DriverException("service '" + spec.name() + "': supervisord at " + sv.url()
                        + " has no program or group '" + sv.program() + "'. Add a [program:" + sv.program()
                        + "] section to its config and run supervisorctl reread && supervisorctl update, or set"
                        + " supervisor.configFile in agent.yaml so that the agent writes it.");
            }
            return;
        }
        boolean written = ProgramFile.write(spec, sv.configFile(), ProgramFile.render(spec));
        if (written) {
            log.info("service '{}': wrote supervisord program '{}' to {}", spec.name(), sv.program(), sv.configFile());
        }
        update(spec);
    }

    @Override
    public void remove(ServiceSpec spec) {
        ServiceSpec.SupervisorSpec sv = supervisorOf(spec);
        if (sv.configFile() == null) {
            return; // The operator's program: not ours to remove.
        }
        try {
            Files.deleteIfExists(sv.configFile());
        } catch (IOException e) {
            throw new DriverException("service '" + spec.name() + "': cannot delete its supervisord program file "
                    + sv.configFile() + " (" + e + "): check the permissions of its directory.", e);
        }
        update(spec);
    }

    /** reread + update for this spec's program only: reloadConfig, then replace, add or drop its group. */
    private void update(ServiceSpec spec) {
        String program = spec.supervisor().program();
        Object answer = call(spec, callTimeout, "supervisor.reloadConfig");
        List<Object> diff = list(list(answer).get(0));
        boolean added = list(diff.get(0)).contains(program);
        boolean changed = list(diff.get(1)).contains(program);
        boolean removed = list(diff.get(2)).contains(program);
        if (changed || removed) {
            List<Map<String, Object>> before = processesOf(spec);
            try {
                rpc(spec, stopWait(spec), "supervisor.stopProcessGroup", program, true);
            } catch (XmlRpc.Fault f) {
                if (!f.name().equals("BAD_NAME")) {
                    throw faultError(spec, "stop its group '" + program + "' to apply the new config", f);
                }
            }
            for (Map<String, Object> p : before) {
                if (integer(p.get("pid")) > 0) {
                    emit(spec, -1, ServiceEvent.Kind.STOPPED, "stopped " + fullName(p) + " to apply "
                            + (removed ? "the removal of" : "a changed config of") + " program '" + program + "'",
                            Map.of("pid", String.valueOf(p.get("pid")), "process", fullName(p), "how", "signal"));
                }
            }
            call(spec, callTimeout, "supervisor.removeProcessGroup", program);
        }
        if (added || changed) {
            try {
                rpc(spec, callTimeout, "supervisor.addProcessGroup", program);
            } catch (XmlRpc.Fault f) {
                if (!f.name().equals("ALREADY_ADDED")) {
                    throw faultError(spec, "add its program '" + program + "'", f);
                }
            }
        }
        if (added || changed || removed) {
            log.info("service '{}': supervisord program '{}' {}", spec.name(), program,
                    added ? "added" : changed ? "replaced (config changed)" : "removed");
        }
    }

    @Override
    public List<InstanceStatus> status(ServiceSpec spec) {
        List<Map<String, Object>> mine = processesOf(spec);
        List<Map<String, Object>> byInstance = resolve(spec, mine);
        Map<String, Exit> exits = needsExit(mine) ? lastExits(spec) : Map.of();
        List<InstanceStatus> out = new ArrayList<>(spec.instances());
        for (int i = 0; i < spec.instances(); i++) {
            Map<String, Object> p = byInstance.get(i);
            out.add(p == null ? missing(spec, i, mine) : toStatus(i, p, exits));
        }
        return List.copyOf(out);
    }

    @Override
    public void start(ServiceSpec spec, int instance) {
        InstanceStatus now = statusOf(spec, instance);
        if (now.state().claimsProcess()) {
            return;
        }
        preflight(spec, instance, now.managerName());
        startProcess(spec, instance, now.managerName());
    }

    @Override
    public void stop(ServiceSpec spec, int instance) {
        InstanceStatus now = statusOf(spec, instance);
        stopProcess(spec, instance, now);
    }

    @Override
    public void restart(ServiceSpec spec, int instance) {
        InstanceStatus now = statusOf(spec, instance);
        // Pre-flight first: a refused restart leaves the running instance alone.
        preflight(spec, instance, now.managerName());
        stopProcess(spec, instance, now);
        startProcess(spec, instance, now.managerName());
    }

    @Override
    public void signal(ServiceSpec spec, int instance, String signal) {
        Objects.requireNonNull(signal, "signal");
        String sig = signal.toUpperCase(Locale.ROOT);
        if (sig.startsWith("SIG")) {
            sig = sig.substring(3);
        }
        InstanceStatus now = statusOf(spec, instance);
        try {
            rpc(spec, callTimeout, "supervisor.signalProcess", now.managerName(), sig);
        } catch (XmlRpc.Fault f) {
            if (f.name().equals("NOT_RUNNING")) {
                throw new DriverException(where(spec, instance, now.managerName()) + " is not running (supervisord: "
                        + now.state() + "), so there is nothing to send SIG" + sig + " to; start it first.");
            }
            if (f.name().equals("BAD_SIGNAL")) {
                throw new DriverException(where(spec, instance, now.managerName()) + ": supervisord does not know"
                        + " the signal '" + signal + "'; use a name such as HUP, USR1, USR2, TERM.");
            }
            throw faultError(spec, "send SIG" + sig + " to " + now.managerName(), f);
        }
    }

    @Override
    public List<String> tail(ServiceSpec spec, int instance, int lines) {
        if (lines <= 0) {
            return List.of();
        }
        String name = statusOf(spec, instance).managerName();
        int bytes = (int) Math.min(MAX_TAIL_BYTES, Math.max(4096L, lines * 160L));
        while (true) {
            List<Object> answer;
            try {
                answer = list(rpc(spec, callTimeout, "supervisor.tailProcessStdoutLog", name, 0, bytes));
            } catch (XmlRpc.Fault f) {
                if (f.name().equals("NO_FILE")) {
                    throw new DriverException(where(spec, instance, name) + ": supervisord keeps no output for it"
                            + " (stdout_logfile=NONE, or the log file was removed); set stdout_logfile and"
                            + " redirect_stderr=true in its program section.");
                }
                throw faultError(spec, "read the output of " + name, f);
            }
            String data = String.valueOf(answer.get(0));
            boolean overflow = Boolean.TRUE.equals(answer.get(2));
            List<String> all = new ArrayList<>(List.of(data.split("\n", -1)));
            if (!all.isEmpty() && all.get(all.size() - 1).isEmpty()) {
                all.remove(all.size() - 1);
            }
            if (overflow && !all.isEmpty()) {
                all.remove(0); // Cut mid-line by the byte window.
            }
            if (all.size() >= lines || !overflow || bytes >= MAX_TAIL_BYTES) {
                return List.copyOf(all.subList(Math.max(0, all.size() - lines), all.size()));
            }
            bytes = Math.min(MAX_TAIL_BYTES, bytes * 4);
        }
    }

    @Override
    public boolean isMember(ServiceSpec spec, Map<String, String> environ) {
        ServiceSpec.SupervisorSpec sv = supervisorOf(spec);
        return sv.program().equals(environ.get("SUPERVISOR_GROUP_NAME"))
                || spec.name().equals(environ.get("FLEETKEEPER_SERVICE"));
    }

    @Override
    public List<String> configDrift(ServiceSpec spec) {
        ServiceSpec.SupervisorSpec sv = supervisorOf(spec);
        List<Map<String, Object>> configs = new ArrayList<>();
        for (Object o : list(call(spec, callTimeout, "supervisor.getAllConfigInfo"))) {
            Map<String, Object> c = struct(o);
            if (sv.program().equals(c.get("group"))) {
                configs.add(c);
            }
        }
        if (configs.isEmpty()) {
            return List.of("supervisord has no program or group '" + sv.program() + "', the spec declares "
                    + count(spec.instances(), "process"));
        }
        List<String> out = new ArrayList<>();
        if (configs.size() != spec.instances()) {
            out.add("supervisord has " + count(configs.size(), "process") + " in '" + sv.program()
                    + "', the spec declares " + spec.instances());
        }
        List<String> wanted = new ArrayList<>();
        wanted.add(spec.command());
        wanted.addAll(spec.args());
        Set<String> commands = new LinkedHashSet<>();
        Set<String> signals = new LinkedHashSet<>();
        Set<Integer> waits = new LinkedHashSet<>();
        Set<String> dirs = new LinkedHashSet<>();
        boolean killsOnlyMain = false;
        for (Map<String, Object> c : configs) {
            String command = String.valueOf(c.get("command"));
            if (!ProgramFile.splitCommand(command).equals(wanted)) {
                commands.add(command);
            }
            String sig = signalName(c.get("stopsignal"));
            if (!sig.equals(spec.stopSignal())) {
                signals.add(sig);
            }
            int wait = integer(c.get("stopwaitsecs"));
            if (wait != seconds(spec.stopTimeout())) {
                waits.add(wait);
            }
            String dir = String.valueOf(c.get("directory"));
            if (spec.workingDir() != null && !spec.workingDir().toString().equals(dir)) {
                dirs.add(dir);
            }
            killsOnlyMain |= Boolean.FALSE.equals(c.get("killasgroup"));
        }
        for (String c : commands) {
            out.add("supervisord runs '" + c + "', the spec says '" + ProgramFile.commandLine(spec) + "'");
        }
        for (String s : signals) {
            out.add("supervisord stops it with SIG" + s + ", the spec says SIG" + spec.stopSignal());
        }
        for (int w : waits) {
            out.add("supervisord waits " + w + " s for it to stop before SIGKILL, the spec says "
                    + seconds(spec.stopTimeout()) + " s");
        }
        for (String d : dirs) {
            out.add("supervisord starts it in " + (d.equals("none") ? "its own working directory" : "'" + d + "'")
                    + ", the spec says '" + spec.workingDir() + "'");
        }
        if (killsOnlyMain) {
            out.add("supervisord's SIGKILL after the stop timeout reaches only the main process (killasgroup=false),"
                    + " so its children can outlive it; the spec expects the whole process group");
        }
        return List.copyOf(out);
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        clients.clear();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    // ---- operations ----

    private void preflight(ServiceSpec spec, int instance, String name) {
        String reason = preStart.beforeStart(spec, instance);
        if (reason != null) {
            emit(spec, instance, ServiceEvent.Kind.START_REFUSED, "start of " + name + " refused: " + reason,
                    Map.of("findings", reason, "process", name));
            throw new DriverException(where(spec, instance, name) + ": start refused by pre-flight: " + reason);
        }
    }

    private void startProcess(ServiceSpec spec, int instance, String name) {
        try {
            rpc(spec, spec.startTimeout().plus(WAIT_MARGIN), "supervisor.startProcess", name, true);
        } catch (XmlRpc.Fault f) {
            if (f.name().equals("ALREADY_STARTED")) {
                return;
            }
            InstanceStatus after = statusOf(spec, instance);
            // supervisord raises SPAWN_ERROR also when the process ran but exited before startsecs, and
            // may already be retrying (STARTING, no detail) when we look: its main log says how it ended.
            Exit exit = f.name().equals("SPAWN_ERROR") || f.name().equals("ABNORMAL_TERMINATION")
                    ? lastExits(spec).get(name.substring(name.indexOf(':') + 1)) : null;
            boolean exited = f.name().equals("ABNORMAL_TERMINATION")
                    || (f.name().equals("SPAWN_ERROR") && (after.detail().startsWith("Exited too quickly")
                            || (exit != null && !after.state().equals(ManagerState.FATAL)
                                    && !after.state().equals(ManagerState.BACKOFF))));
            int exitCode = exit != null ? exit.code() : after.exitCode();
            String exitSignal = exit != null ? exit.signal() : after.exitSignal();
            String output = exited ? lastOutput(spec, instance) : "";
            String error;
            if (exited) {
                error = "it exited right after the start"
                        + (exitCode >= 0 ? " with status " + exitCode : !exitSignal.isEmpty() ? " on SIG" + exitSignal : "")
                        + " (supervisord: " + after.state() + (after.detail().isEmpty() ? "" : ", " + after.detail())
                        + ")" + (output.isEmpty() ? "" : ". Its last output: " + output);
            } else if (f.name().equals("SPAWN_ERROR")) {
                error = "supervisord could not spawn it: " + (after.detail().isEmpty()
                        ? f.text() + " (the reason is in supervisord's log, logfile= in [supervisord])" : after.detail())
                        + ". Check its command, user and directory";
            } else if (f.name().equals("NO_FILE") || f.name().equals("NOT_EXECUTABLE")) {
                // Checked by startProcess before it spawns: the command's file is missing or not executable.
                error = "supervisord could not spawn it: " + f.text().substring(f.name().length() + 1).trim()
                        + ". Check its command (an absolute path, or on supervisord's PATH) and that it is executable";
            } else {
                error = "supervisord refused: " + f.text();
            }
            Map<String, String> attrs = new HashMap<>();
            attrs.put("error", f.text());
            attrs.put("process", name);
            if (exited && exitCode >= 0) {
                attrs.put("exit_code", Integer.toString(exitCode));
            }
            if (exited && !exitSignal.isEmpty()) {
                attrs.put("signal", exitSignal);
            }
            if (!output.isEmpty()) {
                attrs.put("output", output);
            }
            emit(spec, instance, ServiceEvent.Kind.START_FAILED, "start of " + name + " failed: " + error, attrs);
            throw new DriverException(where(spec, instance, name) + " did not start: " + error + ".", f);
        }
        InstanceStatus after = statusOf(spec, instance);
        emit(spec, instance, ServiceEvent.Kind.STARTED, "started " + name + " (pid " + after.pid() + ")",
                Map.of("pid", Integer.toString(after.pid()), "process", name));
    }

    /** The last lines of output, joined with " | ", for a failure message; "" if there are none to read. */
    private String lastOutput(ServiceSpec spec, int instance) {
        try {
            return String.join(" | ", tail(spec, instance, 5));
        } catch (DriverException e) {
            return "";
        }
    }

    private void stopProcess(ServiceSpec spec, int instance, InstanceStatus now) {
        String name = now.managerName();
        try {
            rpc(spec, stopWait(spec), "supervisor.stopProcess", name, true);
        } catch (XmlRpc.Fault f) {
            if (f.name().equals("NOT_RUNNING")) {
                return;
            }
            throw faultError(spec, "stop " + name, f);
        }
        emit(spec, instance, ServiceEvent.Kind.STOPPED, "stopped " + name + (now.pid() > 0 ? " (pid " + now.pid() + ")" : ""),
                Map.of("pid", Integer.toString(now.pid()), "process", name, "how", "signal"));
    }

    // ---- reading supervisord's view ----

    /** The status of one instance; throws when supervisord has no process for it. */
    private InstanceStatus statusOf(ServiceSpec spec, int instance) {
        if (instance < 0 || instance >= spec.instances()) {
            throw new IllegalArgumentException("instance " + instance + " of service '" + spec.name() + "' (expected: 0 to "
                    + (spec.instances() - 1) + ")");
        }
        List<Map<String, Object>> mine = processesOf(spec);
        Map<String, Object> p = resolve(spec, mine).get(instance);
        if (p == null) {
            InstanceStatus missing = missing(spec, instance, mine);
            throw new DriverException(where(spec, instance, missing.managerName()) + ": " + missing.detail() + ".");
        }
        return toStatus(instance, p, needsExit(List.of(p)) ? lastExits(spec) : Map.of());
    }

    /** supervisord's processes in this spec's program or group, in name order. */
    private List<Map<String, Object>> processesOf(ServiceSpec spec) {
        String program = supervisorOf(spec).program();
        List<Map<String, Object>> mine = new ArrayList<>();
        for (Object o : list(call(spec, callTimeout, "supervisor.getAllProcessInfo"))) {
            Map<String, Object> p = struct(o);
            if (program.equals(p.get("group"))) {
                mine.add(p);
            }
        }
        mine.sort(Comparator.comparing(p -> String.valueOf(p.get("name"))));
        return mine;
    }

    /** Which process is which instance: by the conventional names if any is there, else by name order. */
    private static List<Map<String, Object>> resolve(ServiceSpec spec, List<Map<String, Object>> mine) {
        String program = spec.supervisor().program();
        Map<String, Map<String, Object>> byName = new HashMap<>();
        for (Map<String, Object> p : mine) {
            byName.put(String.valueOf(p.get("name")), p);
        }
        boolean conventional = false;
        for (int i = 0; i < spec.instances(); i++) {
            conventional |= byName.containsKey(ProgramFile.processName(program, spec.instances(), i));
        }
        List<Map<String, Object>> out = new ArrayList<>(spec.instances());
        for (int i = 0; i < spec.instances(); i++) {
            if (conventional || mine.isEmpty()) {
                out.add(byName.get(ProgramFile.processName(program, spec.instances(), i)));
            } else {
                out.add(i < mine.size() ? mine.get(i) : null);
            }
        }
        return out;
    }

    private static InstanceStatus missing(ServiceSpec spec, int instance, List<Map<String, Object>> mine) {
        String program = spec.supervisor().program();
        String expected = program + ":" + ProgramFile.processName(program, spec.instances(), instance);
        List<String> names = new ArrayList<>();
        for (Map<String, Object> p : mine) {
            names.add(String.valueOf(p.get("name")));
        }
        String detail = mine.isEmpty()
                ? "supervisord has no program or group '" + program + "' (supervisorctl reread && supervisorctl update?)"
                : "supervisord has no process '" + expected + "' (group '" + program + "' has: " + String.join(", ", names)
                        + "); the spec declares " + spec.instances() + " instances";
        return InstanceStatus.unknown(instance, expected, detail);
    }

    /** How a run ended, as supervisord's main log says: an exit status, or a signal. */
    private record Exit(int code, String signal) {
    }

    /** Whether one of these processes ended a run and is down, so that how it ended matters. */
    private static boolean needsExit(List<Map<String, Object>> processes) {
        for (Map<String, Object> p : processes) {
            String state = String.valueOf(p.get("statename"));
            if (integer(p.get("stop")) > 0 && (state.equals("EXITED") || state.equals("BACKOFF") || state.equals("FATAL"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The last exit of each process, from the tail of supervisord's main log ("exited: web_00
     * (exit status 3; not expected)", "... (terminated by SIGKILL)"). getProcessInfo alone
     * cannot tell: it reports exitstatus 0 after an exit "too quickly" and -1 after a signal.
     * Best effort: empty when the log cannot be read. The log names processes without their
     * group, so two groups with equally named processes can be confused.
     */
    private Map<String, Exit> lastExits(ServiceSpec spec) {
        String log;
        try {
            log = String.valueOf(rpc(spec, callTimeout, "supervisor.readLog", -EXIT_LOG_BYTES, 0));
        } catch (DriverException | XmlRpc.Fault e) {
            return Map.of();
        }
        Map<String, Exit> out = new HashMap<>();
        Matcher m = EXIT_LINE.matcher(log);
        while (m.find()) {
            out.put(m.group(1), m.group(2) != null ? new Exit(Integer.parseInt(m.group(2)), "")
                    : new Exit(-1, m.group(3)));
        }
        return out;
    }

    private static InstanceStatus toStatus(int instance, Map<String, Object> p, Map<String, Exit> exits) {
        ManagerState state = switch (String.valueOf(p.get("statename"))) {
            case "STOPPED" -> ManagerState.STOPPED;
            case "STARTING" -> ManagerState.STARTING;
            case "RUNNING" -> ManagerState.RUNNING;
            case "BACKOFF" -> ManagerState.BACKOFF;
            case "STOPPING" -> ManagerState.STOPPING;
            case "EXITED" -> ManagerState.EXITED;
            case "FATAL" -> ManagerState.FATAL;
            default -> ManagerState.UNKNOWN;
        };
        long start = integer(p.get("start"));
        long stop = integer(p.get("stop"));
        int exitStatus = integer(p.get("exitstatus"));
        // supervisord's exitstatus is 0 until a run ended, and -1 after a death by signal.
        int exitCode = stop > 0 && exitStatus >= 0 ? exitStatus : -1;
        String exitSignal = "";
        Exit logged = exits.get(String.valueOf(p.get("name")));
        if (stop > 0 && logged != null) {
            exitCode = logged.code();
            exitSignal = logged.signal();
        }
        String spawnErr = String.valueOf(p.getOrDefault("spawnerr", ""));
        String detail = spawnErr.isEmpty() ? String.valueOf(p.getOrDefault("description", "")) : spawnErr;
        return new InstanceStatus(instance, fullName(p), state, integer(p.get("pid")), start * 1000, exitCode, exitSignal, -1,
                detail);
    }

    // ---- calls and errors ----

    /** Calls supervisord for {@code spec}; a fault becomes a {@link DriverException} that names the call. */
    private Object call(ServiceSpec spec, Duration timeout, String method, Object... params) {
        try {
            return rpc(spec, timeout, method, params);
        } catch (XmlRpc.Fault f) {
            throw faultError(spec, "answer " + method, f);
        }
    }

    /** Calls supervisord for {@code spec}; connection failures name the service. Faults pass through. */
    private Object rpc(ServiceSpec spec, Duration timeout, String method, Object... params) {
        if (closed.get()) {
            throw new DriverException("service '" + spec.name() + "': the supervisord driver is closed");
        }
        ServiceSpec.SupervisorSpec sv = supervisorOf(spec);
        SupervisorRpc.Endpoint endpoint = new SupervisorRpc.Endpoint(sv.url(), sv.username(), sv.password());
        SupervisorRpc rpc = clients.computeIfAbsent(endpoint, e -> new SupervisorRpc(e, group, connectTimeout));
        try {
            return rpc.call(timeout, method, params);
        } catch (DriverException e) {
            throw new DriverException("service '" + spec.name() + "': " + e.getMessage(), e.isUnreachable(), e);
        }
    }

    private static DriverException faultError(ServiceSpec spec, String what, XmlRpc.Fault f) {
        String url = spec.supervisor().url();
        String hint = switch (f.name()) {
            case "BAD_NAME" -> " supervisord does not know that name: run supervisorctl reread && supervisorctl update,"
                    + " and check supervisor.program in agent.yaml.";
            case "SHUTDOWN_STATE" -> " supervisord is shutting down; try again once it is back.";
            case "STILL_RUNNING" -> " processes of the group are still running; stop them first.";
            case "CANT_REREAD" -> " its config files cannot be read or parsed: run supervisorctl reread to see why.";
            default -> "";
        };
        return new DriverException("service '" + spec.name() + "': supervisord at " + url + " refused to " + what
                + ": " + f.text() + " (fault " + f.code() + ")." + hint, f);
    }

    private void emit(ServiceSpec spec, int instance, ServiceEvent.Kind kind, String message, Map<String, String> attrs) {
        try {
            events.accept(new ServiceEvent(clock.millis(), spec.name(), instance, kind, message, attrs));
        } catch (RuntimeException e) {
            log.warn("service '{}': event sink failed on {}", spec.name(), kind, e);
        }
    }

    private static String where(ServiceSpec spec, int instance, String name) {
        return "service '" + spec.name() + "' instance " + instance + " (supervisord process " + name + " at "
                + spec.supervisor().url() + ")";
    }

    private static ServiceSpec.SupervisorSpec supervisorOf(ServiceSpec spec) {
        if (spec.supervisor() == null) {
            throw new IllegalArgumentException("service '" + spec.name() + "': driver " + spec.driver().configName()
                    + " (expected: supervisor)");
        }
        return spec.supervisor();
    }

    private static Duration stopWait(ServiceSpec spec) {
        return spec.stopTimeout().plus(WAIT_MARGIN);
    }

    private static long seconds(Duration d) {
        return (d.toMillis() + 999) / 1000;
    }

    private static String signalName(Object number) {
        if (number instanceof Integer n) {
            return SIGNAL_NAMES.getOrDefault(n, Integer.toString(n));
        }
        return String.valueOf(number);
    }

    private static String count(int n, String what) {
        return n + " " + what + (n == 1 ? "" : "es");
    }

    private static int integer(Object o) {
        return o instanceof Number n ? n.intValue() : 0;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        if (o instanceof List<?> l) {
            return (List<Object>) l;
        }
        throw new DriverException("supervisord answered " + o + " where a list was expected: is this supervisord 3 or 4?");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> struct(Object o) {
        if (o instanceof Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
        throw new DriverException("supervisord answered " + o + " where a struct was expected: is this supervisord 3 or 4?");
    }

    private static String fullName(Map<String, Object> p) {
        return p.get("group") + ":" + p.get("name");
    }

    private static Duration positive(String key, Duration d) {
        Objects.requireNonNull(d, key);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(key + ": " + d + " (expected: > 0)");
        }
        return d;
    }
}
