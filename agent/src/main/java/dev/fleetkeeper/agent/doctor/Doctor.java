package dev.fleetkeeper.agent.doctor;

import dev.fleetkeeper.agent.doctor.Finding.Evidence;
import dev.fleetkeeper.agent.doctor.Finding.Remedy;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.WritablePath;
import dev.fleetkeeper.agent.telemetry.HostScan;
import dev.fleetkeeper.agent.telemetry.ProcState;
import dev.fleetkeeper.agent.telemetry.ProcessId;
import dev.fleetkeeper.agent.telemetry.ProcessSample;
import dev.fleetkeeper.agent.telemetry.SocketSample;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiPredicate;

/**
 * Diagnoses one service from an {@link Observation} (what its manager says), a {@link HostScan}
 * (what {@code /proc} shows) and {@link HostFacts} (environments, pidfiles, users, file
 * access). Decides only: it reads, never changes anything; the automatic remedies it proposes
 * are carried out by {@link Remedies}.
 *
 * <h2>Whose process is it?</h2>
 * A process belongs to a service only when its environment carries the marker its manager
 * puts on every child (FLEETKEEPER_SERVICE, SUPERVISOR_GROUP_NAME, PM2's name/pm_id; children
 * inherit it), as the service's driver judges ({@code membership}). A process whose
 * environment cannot be read proves nothing and counts as foreign. Among the service's
 * processes, the <i>current</i> ones are the manager's pids and their descendants; any other
 * is an <b>older instance</b> (its parent still lives) or an <b>orphan</b> (re-parented to PID 1
 * after its parent died). Only those two kinds are ever proposed for an automatic stop.
 */
public final class Doctor {

    private final HostFacts facts;
    private final BiPredicate<ServiceSpec, ProcessId> membership;
    private final String host;

    /**
     * @param facts      host facts (environments, pidfiles, users, paths)
     * @param membership whether a process belongs to a service (the service's driver decides
     *                   from the process's environment markers)
     * @param host       how remedies name this host in CLI commands
     */
    public Doctor(HostFacts facts, BiPredicate<ServiceSpec, ProcessId> membership, String host) {
        this.facts = facts;
        this.membership = membership;
        this.host = host;
    }

    /** A finding for a service whose declaration could not be used at all. */
    public static Finding invalidSpec(String service, String error) {
        return new Finding(FindingCode.SPEC_INVALID, Severity.CRITICAL, service, -1,
                "service '" + service + "' is declared wrongly and is not managed",
                "The agent could not use this service's declaration, so it neither runs nor diagnoses it. "
                        + "Every other service is managed as usual.",
                List.of(new Evidence("error", error)),
                Remedy.manual("Fix the declaration in the agent's config file, then restart the agent.",
                        "sudoedit /etc/fleetkeeper/agent.yaml", "sudo systemctl restart fleetkeeper-agent"));
    }

    /**
     * A finding for a release whose startup memory regressed: {@code current} settles
     * {@code ratio} times as high as {@code previous} (baselines in bytes, by version label).
     */
    public static Finding baselineRegressed(String service, String current, long currentBytes, String previous,
                                            long previousBytes, double ratio, double tolerance) {
        return new Finding(FindingCode.MEMORY_BASELINE_REGRESSED, Severity.WARNING, service, -1,
                "version " + label(current) + " of '" + service + "' settles at " + mib(currentBytes) + " after a start, "
                        + Math.round((ratio - 1) * 100) + "% above version " + label(previous) + " (" + mib(previousBytes)
                        + "; tolerance " + Math.round(tolerance * 100) + "%)",
                "Each instance of the new release needs more memory than the old one did, before any traffic-driven "
                        + "growth: fewer instances fit on the host, and a leak reaches the limit sooner. A rollout gate "
                        + "keeps such a release out of the pool.",
                List.of(new Evidence("current", label(current) + ": " + mib(currentBytes)),
                        new Evidence("previous", label(previous) + ": " + mib(previousBytes))),
                Remedy.manual("Compare the releases' memory (dependencies, caches, heap settings); roll back if it "
                        + "was not intended.", "fleetkeeper memory " + service));
    }

    private static String label(String version) {
        return version.isEmpty() ? "(unlabelled)" : version;
    }

    private static String mib(long bytes) {
        return (bytes >> 20) + " MiB";
    }

    /** Everything wrong with the service now. */
    public List<Finding> diagnose(Observation o, HostScan scan, Instant now) {
        Context c = new Context(o, scan, now);
        List<Finding> out = new ArrayList<>();
        ServiceSpec spec = o.spec();
        Optional<UserInfo> user = facts.user(spec.effectiveUser());
        if (user.isEmpty()) {
            out.add(userUnknown(spec));
        }
        if (o.managerError() != null) {
            out.add(unreachable(spec, o.managerError()));
        }
        for (int i = 0; i < spec.instances(); i++) {
            portsOf(c, i, out);
        }
        for (InstanceStatus st : o.statuses()) {
            if (st.instance() >= spec.instances()) {
                continue;
            }
            reconcile(c, st, out);
            stuckOrLooping(c, st, out);
        }
        for (int i = 0; i < spec.instances(); i++) {
            pidfileOf(c, i, out);
        }
        zombies(c, out);
        user.ifPresent(u -> paths(spec, u, out));
        if (!o.configDrift().isEmpty()) {
            out.add(drift(spec, o.configDrift()));
        }
        return List.copyOf(out);
    }

    /**
     * The findings that block a start of instance {@code instance}: its ports held by others,
     * its pidfile stale, a declared path not writable, the user missing. The pre-flight.
     */
    public List<Finding> preflight(Observation o, HostScan scan, Instant now, int instance) {
        Context c = new Context(o, scan, now);
        List<Finding> out = new ArrayList<>();
        Optional<UserInfo> user = facts.user(o.spec().effectiveUser());
        if (user.isEmpty()) {
            out.add(userUnknown(o.spec()));
        }
        portsOf(c, instance, out);
        pidfileOf(c, instance, out);
        user.ifPresent(u -> paths(o.spec(), u, out));
        return List.copyOf(out);
    }

    /** The newest index, reused while diagnoses run against the same scan (any thread). */
    private volatile ProcessIndex lastIndex;

    /** The process index of {@code scan}: built once per scan, shared by every service. */
    public ProcessIndex index(HostScan scan) {
        ProcessIndex i = lastIndex;
        if (i == null || i.scan() != scan) {
            i = ProcessIndex.of(scan);
            lastIndex = i;
        }
        return i;
    }

    /** One diagnosis: the observation and the scan's index, with each instance's current tree. */
    private final class Context {
        final Observation o;
        final ServiceSpec spec;
        final HostScan scan;
        final Instant now;
        final ProcessIndex index;
        /** Processes already reported as holding a port (not reported again as leftovers). */
        final Set<Integer> reportedHolders = new HashSet<>();
        /** Pids of each instance's current tree (the manager's pid and its descendants). */
        final Map<Integer, Set<Integer>> currentTrees = new HashMap<>();

        Context(Observation o, HostScan scan, Instant now) {
            this.o = o;
            this.spec = o.spec();
            this.scan = scan;
            this.now = now;
            this.index = index(scan);
            for (InstanceStatus st : o.statuses()) {
                if (st.pid() > 0 && index.byPid(st.pid()) != null) {
                    currentTrees.put(st.instance(), index.tree(st.pid()));
                }
            }
        }

        ProcessSample byPid(int pid) {
            return index.byPid(pid);
        }

        /** The instance whose current tree holds {@code pid}, or -1. */
        int currentInstanceOf(int pid) {
            for (Map.Entry<Integer, Set<Integer>> e : currentTrees.entrySet()) {
                if (e.getValue().contains(pid)) {
                    return e.getKey();
                }
            }
            return -1;
        }

        boolean isMember(ProcessSample p) {
            return membership.test(spec, p.id());
        }
    }

    // ---- manager vs /proc -------------------------------------------------------------------

    private void reconcile(Context c, InstanceStatus st, List<Finding> out) {
        ServiceSpec spec = c.spec;
        int i = st.instance();
        if (st.state().claimsProcess() && st.pid() > 0) {
            ProcessSample p = c.byPid(st.pid());
            // Started around or after the scan was taken: the scan cannot know it yet.
            boolean newerThanScan = st.startedAtMillis() > 0 && st.startedAtMillis() + 1_000 > c.scan.takenAtMillis();
            if (p == null && !newerThanScan) {
                out.add(new Finding(FindingCode.PROCESS_GONE, Severity.CRITICAL, spec.name(), i,
                        st.managerName() + ": " + spec.driver().configName() + " says " + st.state() + " with pid "
                                + st.pid() + ", but there is no such process",
                        "The process manager is tracking a process that no longer exists, so it will not restart "
                                + "the instance and acts on a pid that may be given to another process.",
                        List.of(new Evidence("manager", st.managerName() + " " + st.state() + " pid " + st.pid()),
                                new Evidence("/proc", "no process " + st.pid())),
                        Remedy.manual("Restart the instance through its manager.", restartCommand(spec, i))));
            } else if (p != null && p.state() == ProcState.ZOMBIE) {
                ProcessSample parent = c.byPid(p.ppid());
                out.add(new Finding(FindingCode.PROCESS_DEFUNCT, Severity.CRITICAL, spec.name(), i,
                        st.managerName() + ": " + spec.driver().configName() + " says " + st.state() + " with pid "
                                + st.pid() + ", but that process is defunct (a zombie)",
                        "The instance's process has exited but its parent never collected its exit status, so it "
                                + "still shows in the manager's list. It serves nothing.",
                        List.of(new Evidence("process", describe(p)),
                                new Evidence("parent", parent == null ? "pid " + p.ppid() : describe(parent))),
                        Remedy.manual("Restart the instance; if the zombie stays, restart its parent (pid "
                                + p.ppid() + "), which must reap it.", restartCommand(spec, i))));
            }
        } else if (!st.state().claimsProcess()) {
            for (ProcessSample p : c.scan.processes().values()) {
                if (p.state() == ProcState.ZOMBIE || c.currentInstanceOf(p.pid()) >= 0
                        || c.reportedHolders.contains(p.pid()) || !c.isMember(p)) {
                    continue;
                }
                Map<String, String> m = facts.markers(p.id());
                if (!instanceMatches(m, spec, i)) {
                    continue;
                }
                out.add(new Finding(FindingCode.UNEXPECTED_PROCESS, Severity.WARNING, spec.name(), i,
                        st.managerName() + ": " + spec.driver().configName() + " says " + st.state()
                                + ", but a process of this instance still runs (pid " + p.pid() + ")",
                        "The manager lost track of this process: a restart will start a second copy next to it, "
                                + "which usually fails on its port or corrupts shared state.",
                        List.of(new Evidence("process", describe(p)),
                                new Evidence("manager", st.managerName() + " " + st.state())),
                        Remedy.automatic("Stop the leftover process (" + spec.stopSignal() + ", then SIGKILL after "
                                        + seconds(spec.stopTimeout()) + ").",
                                new RemedyAction.StopProcess(p.id(), spec.name(), spec.stopSignal(), spec.stopTimeout(),
                                        "leftover of " + st.managerName()),
                                "fleetkeeper doctor " + host + " " + spec.name() + " --fix")));
            }
        }
    }

    /** Whether environment markers {@code m} name instance {@code i} (or name no instance at all). */
    private static boolean instanceMatches(Map<String, String> m, ServiceSpec spec, int i) {
        String idx = m.get("FLEETKEEPER_INSTANCE");
        if (idx == null) {
            idx = m.get("NODE_APP_INSTANCE");
        }
        if (idx == null) {
            String name = m.get("SUPERVISOR_PROCESS_NAME");
            if (name != null && spec.instances() > 1) {
                int us = name.lastIndexOf('_');
                idx = us >= 0 ? name.substring(us + 1) : null;
            }
        }
        if (idx == null) {
            return spec.instances() == 1 || i == 0;
        }
        try {
            return Integer.parseInt(idx.trim()) == i;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private void stuckOrLooping(Context c, InstanceStatus st, List<Finding> out) {
        ServiceSpec spec = c.spec;
        int i = st.instance();
        int restarts = c.o.recentRestarts().getOrDefault(i, 0);
        List<String> lines = c.o.lastLines().getOrDefault(i, List.of());
        // FATAL means the manager gave up: after repeated failed starts (supervisord's startretries,
        // the built-in crash-loop threshold). A built-in instance that is FATAL because pre-flight
        // refused it never ran: the refusing findings tell that story.
        boolean gaveUp = st.state() == ManagerState.FATAL
                && (restarts > 0 || st.restarts() > 0 || spec.driver() != DriverKind.BUILTIN);
        if (restarts >= spec.crashLoop().restarts() || gaveUp) {
            List<Evidence> ev = new ArrayList<>();
            ev.add(new Evidence("restarts", restarts + " in the last " + minutes(spec.crashLoop().window())
                    + " (threshold " + spec.crashLoop().restarts() + ")"));
            ev.add(new Evidence("state", st.managerName() + " " + st.state()
                    + (st.detail().isEmpty() ? "" : " (" + st.detail() + ")")));
            ev.add(new Evidence("last exit", exitOf(st)));
            addLines(ev, lines);
            out.add(new Finding(FindingCode.CRASH_LOOP, Severity.CRITICAL, spec.name(), i,
                    st.managerName() + " restarted " + restarts + " times in " + minutes(spec.crashLoop().window())
                            + "; last exit: " + exitOf(st),
                    "The instance dies soon after every start. Restarting it again will not help until the cause "
                            + "below (its last output, a held port, a stale pidfile, a path it cannot write) is fixed.",
                    ev, Remedy.manual("Read the output, fix the cause, then restart it.",
                            "fleetkeeper logs " + spec.name() + " --host " + host + " --instance " + i + " -n 100",
                            restartCommand(spec, i))));
            return;
        }
        if (st.startedAtMillis() <= 0) {
            return;
        }
        Duration up = Duration.ofMillis(c.now.toEpochMilli() - st.startedAtMillis());
        if (up.compareTo(spec.startTimeout()) < 0) {
            return;
        }
        List<Integer> missing = new ArrayList<>();
        if (st.state() == ManagerState.RUNNING && c.currentTrees.containsKey(i)) {
            Set<Integer> tree = c.currentTrees.get(i);
            for (int port : spec.portsOf(i)) {
                if (holders(c, port).isEmpty()) {
                    missing.add(port);
                } else if (holders(c, port).stream().noneMatch(h -> tree.contains(h.pid()))) {
                    continue; // held by another process: PORT_HELD says so
                }
            }
        }
        if (st.state() == ManagerState.STARTING || !missing.isEmpty()) {
            List<Evidence> ev = new ArrayList<>();
            ev.add(new Evidence("state", st.managerName() + " " + st.state() + " for " + seconds(up)
                    + " (start timeout " + seconds(spec.startTimeout()) + ")"));
            if (!missing.isEmpty()) {
                ev.add(new Evidence("not listening on", missing.toString()));
            }
            addLines(ev, lines);
            out.add(new Finding(FindingCode.STUCK_STARTING, Severity.CRITICAL, spec.name(), i,
                    st.managerName() + (missing.isEmpty() ? " is still starting after " + seconds(up)
                            : " has been up " + seconds(up) + " but does not listen on " + missing),
                    "The instance never became ready: it is probably waiting on something (a lock, a port, a "
                            + "dependency) or failing without exiting. Its last output usually says which.",
                    ev, Remedy.manual("Read its output; restart it once the cause is fixed.",
                            "fleetkeeper logs " + spec.name() + " --host " + host + " --instance " + i + " -n 100",
                            restartCommand(spec, i))));
        }
    }

    // ---- ports ------------------------------------------------------------------------------

    /** The live processes holding a listening TCP or bound UDP socket on {@code port}. */
    private static List<ProcessSample> holders(Context c, int port) {
        List<ProcessSample> out = new ArrayList<>();
        Set<ProcessId> seen = new HashSet<>();
        for (SocketSample s : c.scan.sockets().values()) {
            if (s.port() != port) {
                continue;
            }
            for (ProcessId id : s.owners()) {
                ProcessSample p = c.scan.processes().get(id);
                if (p != null && seen.add(id)) {
                    out.add(p);
                }
            }
        }
        return out;
    }

    private static boolean socketOn(Context c, int port) {
        for (SocketSample s : c.scan.sockets().values()) {
            if (s.port() == port) {
                return true;
            }
        }
        return false;
    }

    private void portsOf(Context c, int i, List<Finding> out) {
        ServiceSpec spec = c.spec;
        Set<Integer> mine = c.currentTrees.getOrDefault(i, Set.of());
        for (int port : spec.portsOf(i)) {
            List<ProcessSample> holders = holders(c, port);
            if (holders.isEmpty() && socketOn(c, port)) {
                out.add(new Finding(FindingCode.PORT_HELD, Severity.CRITICAL, spec.name(), i,
                        "port " + port + " is held by a process the agent cannot see",
                        "Something listens on the port, but no process visible to the agent owns the socket (another "
                                + "PID namespace, a container, or the kernel). The instance cannot bind it.",
                        List.of(new Evidence("port", Integer.toString(port)), new Evidence("holder", "unknown")),
                        Remedy.manual("Find and stop the holder yourself.", "sudo ss -ltnup 'sport = :" + port + "'")));
                continue;
            }
            if (holders.stream().anyMatch(h -> mine.contains(h.pid()))) {
                continue; // the current instance holds it (maybe shared with children): fine
            }
            for (ProcessSample h : holders) {
                out.add(portHeld(c, i, port, h));
                c.reportedHolders.add(h.pid());
            }
        }
    }

    private Finding portHeld(Context c, int i, int port, ProcessSample h) {
        ServiceSpec spec = c.spec;
        int other = c.currentInstanceOf(h.pid());
        boolean member = c.isMember(h);
        String kind;
        Remedy remedy;
        String stop = "sudo kill -" + spec.stopSignal() + " " + h.pid();
        if (other >= 0) {
            kind = "instance " + other + " of this service (its current process tree)";
            remedy = Remedy.manual("Two instances expect the same port: check ports and portStride in the declaration "
                    + "of '" + spec.name() + "'.", "sudoedit /etc/fleetkeeper/agent.yaml");
        } else if (member) {
            boolean orphan = h.ppid() == 1 || c.byPid(h.ppid()) == null;
            kind = orphan ? "an orphan of this service (re-parented to PID 1 after its parent died)"
                    : "an older instance of this service (not the one its manager runs now)";
            remedy = Remedy.automatic("Stop it (" + spec.stopSignal() + ", then SIGKILL after "
                            + seconds(spec.stopTimeout()) + "); it is provably this service's (" + markerOf(h) + ").",
                    new RemedyAction.StopProcess(h.id(), spec.name(), spec.stopSignal(), spec.stopTimeout(),
                            "holds port " + port + " of " + spec.name() + "#" + i),
                    "fleetkeeper doctor " + host + " " + spec.name() + " --fix", stop);
        } else {
            kind = "a foreign process (nothing proves it belongs to this service)";
            remedy = Remedy.manual("The agent never stops a process that is not provably the service's. Find out "
                            + "what it is; stop it yourself, or move the service to another port.",
                    "ps -o pid,ppid,user,lstart,stat,args -p " + h.pid(), "sudo ss -ltnup 'sport = :" + port + "'");
        }
        List<Evidence> ev = new ArrayList<>();
        ev.add(new Evidence("port", Integer.toString(port)));
        ev.add(new Evidence("holder", describe(h)));
        ev.add(new Evidence("holder is", kind));
        ev.add(new Evidence("started", Instant.ofEpochMilli(h.startTimeMillis()).toString()));
        return new Finding(FindingCode.PORT_HELD, Severity.CRITICAL, spec.name(), i,
                "port " + port + " is held by pid " + h.pid() + " (" + shortKind(kind) + ")",
                "The instance cannot bind its port while another process holds it: it fails with 'Address already "
                        + "in use' and its manager restarts it in a loop.",
                ev, remedy);
    }

    private String markerOf(ProcessSample h) {
        Map<String, String> m = facts.markers(h.id());
        for (String k : List.of("FLEETKEEPER_SERVICE", "SUPERVISOR_PROCESS_NAME", "SUPERVISOR_GROUP_NAME", "name")) {
            if (m.containsKey(k)) {
                return k + "=" + m.get(k) + " in its environment";
            }
        }
        return "its environment marks it";
    }

    private static String shortKind(String kind) {
        int paren = kind.indexOf(" (");
        return paren < 0 ? kind : kind.substring(0, paren);
    }

    // ---- pidfiles ---------------------------------------------------------------------------

    private void pidfileOf(Context c, int i, List<Finding> out) {
        ServiceSpec spec = c.spec;
        Path path = spec.pidfileOf(i);
        if (path == null) {
            return;
        }
        Optional<HostFacts.Pidfile> found = facts.pidfile(path);
        if (found.isEmpty()) {
            return; // no pidfile: nothing stale (the manager writes it on start)
        }
        HostFacts.Pidfile f = found.get();
        if (f.modifiedMillis() >= c.scan.takenAtMillis()) {
            return; // written after the scan (a process starting right now): the scan cannot judge it
        }
        InstanceStatus st = c.o.statuses().stream().filter(s -> s.instance() == i).findFirst().orElse(null);
        String problem = null;
        ProcessSample p = f.pid() > 0 ? c.byPid(f.pid()) : null;
        if (f.pid() <= 0) {
            problem = "does not contain a pid ('" + f.content().strip() + "')";
        } else if (p == null) {
            problem = "names pid " + f.pid() + ", which is not running";
        } else if (p.state() == ProcState.ZOMBIE) {
            problem = "names pid " + f.pid() + ", which has exited (a zombie)";
        } else if (st != null && st.pid() == f.pid()) {
            return; // names the manager's live process: fine
        } else if (p.startTimeMillis() > f.modifiedMillis() + 2_000) {
            problem = "names pid " + f.pid() + ", but that process started after the file was written (the pid was "
                    + "reused): " + describe(p);
        } else if (!c.isMember(p)) {
            problem = "names pid " + f.pid() + ", which is another program: " + describe(p);
        }
        if (problem != null) {
            out.add(new Finding(FindingCode.STALE_PIDFILE, Severity.WARNING, spec.name(), i,
                    "pidfile " + path + " " + problem,
                    "Whatever reads this pidfile (the manager's restart logic, an init script, monitoring) acts on the "
                            + "wrong process: it may think the service runs when it does not, or signal an unrelated "
                            + "process.",
                    List.of(new Evidence("pidfile", path.toString()), new Evidence("content", f.content().strip()),
                            new Evidence("written", Instant.ofEpochMilli(f.modifiedMillis()).toString())),
                    Remedy.automatic("Remove the stale pidfile (the service writes a new one when it starts).",
                            new RemedyAction.RemovePidfile(path, f.content()), "sudo rm " + path)));
        } else if (st != null && st.state().claimsProcess() && st.pid() > 0) {
            out.add(new Finding(FindingCode.PIDFILE_MISMATCH, Severity.WARNING, spec.name(), i,
                    "pidfile " + path + " names pid " + f.pid() + " but " + spec.driver().configName() + " runs pid "
                            + st.pid(),
                    "Two processes of this service claim the instance: the pidfile's is probably an older one that "
                            + "was never stopped.",
                    List.of(new Evidence("pidfile", path + " = " + f.pid()), new Evidence("pidfile process", describe(p)),
                            new Evidence("manager", st.managerName() + " pid " + st.pid())),
                    Remedy.manual("Check which is current, stop the other, and restart the instance.",
                            "ps -o pid,ppid,user,lstart,stat,args -p " + f.pid() + "," + st.pid(),
                            restartCommand(spec, i))));
        }
    }

    // ---- zombies ----------------------------------------------------------------------------

    private void zombies(Context c, List<Finding> out) {
        Set<Integer> current = new HashSet<>();
        c.currentTrees.values().forEach(current::addAll);
        Set<Integer> managerPids = new HashSet<>();
        for (InstanceStatus st : c.o.statuses()) {
            managerPids.add(st.pid());
        }
        for (ProcessSample z : c.scan.processes().values()) {
            if (z.state() != ProcState.ZOMBIE || managerPids.contains(z.pid())) {
                continue; // a defunct manager pid is PROCESS_DEFUNCT
            }
            ProcessSample parent = c.byPid(z.ppid());
            if (parent == null || !(current.contains(parent.pid()) || c.isMember(parent))) {
                continue;
            }
            int i = c.currentInstanceOf(parent.pid());
            out.add(new Finding(FindingCode.ZOMBIE, Severity.WARNING, c.spec.name(), i,
                    "defunct process " + z.pid() + " (" + z.comm() + ") in " + c.spec.name()
                            + (i >= 0 ? "#" + i : "") + ": its parent " + parent.pid() + " does not reap it",
                    "A zombie holds no memory or ports, but it holds a pid, and a parent that does not reap its "
                            + "children has a bug or is hung. Many zombies exhaust the pid space.",
                    List.of(new Evidence("zombie", describe(z)), new Evidence("parent", describe(parent))),
                    Remedy.manual("Restart the parent (the instance); the zombies go with it.",
                            i >= 0 ? restartCommand(c.spec, i) : "sudo kill -" + c.spec.stopSignal() + " " + parent.pid())));
        }
    }

    // ---- paths, user, manager ---------------------------------------------------------------

    private void paths(ServiceSpec spec, UserInfo user, List<Finding> out) {
        for (WritablePath wp : spec.writablePaths()) {
            PathAccess.Verdict v = PathAccess.check(wp.path(), user);
            if (v.writable()) {
                continue;
            }
            String owner = wp.owner().isEmpty() ? user.name() : wp.owner();
            Optional<UserInfo> ownerInfo = owner.equals(user.name()) ? Optional.of(user) : facts.user(owner);
            List<Evidence> ev = new ArrayList<>();
            ev.add(new Evidence("path", wp.path().toString()));
            ev.add(new Evidence("why", v.reason()));
            if (v.exists()) {
                ev.add(new Evidence("now", "uid " + v.uid() + " gid " + v.gid() + " mode " + Integer.toOctalString(v.mode())));
            }
            Remedy remedy;
            String chown = "sudo chown " + owner + ":" + owner + " " + wp.path();
            String chmod = wp.mode() >= 0 ? "sudo chmod " + Integer.toOctalString(wp.mode()) + " " + wp.path() : null;
            if (v.exists() && wp.path().toAbsolutePath().normalize().equals(v.blocking()) && ownerInfo.isPresent()) {
                UserInfo o = ownerInfo.get();
                remedy = chmod == null
                        ? Remedy.automatic("Give " + wp.path() + " back to " + owner + " (the path only, not its contents).",
                                new RemedyAction.RestorePath(wp.path(), owner, o.uid(), o.gid(), wp.mode()), chown)
                        : Remedy.automatic("Give " + wp.path() + " back to " + owner + " with mode "
                                        + Integer.toOctalString(wp.mode()) + " (the path only, not its contents).",
                                new RemedyAction.RestorePath(wp.path(), owner, o.uid(), o.gid(), wp.mode()), chown, chmod);
            } else if (!v.exists()) {
                remedy = Remedy.manual("Create it for the service user.",
                        "sudo install -d -o " + owner + " -g " + owner + " " + wp.path());
            } else {
                remedy = Remedy.manual("A parent directory that is not declared blocks access; the agent does not "
                        + "touch undeclared paths. Fix it by hand.", "ls -ld " + v.blocking(), "sudo chmod o+x " + v.blocking());
            }
            out.add(new Finding(FindingCode.PATH_NOT_WRITABLE, Severity.CRITICAL, spec.name(), -1,
                    user.name() + " cannot write " + wp.path(),
                    "The service runs as " + user.name() + " and needs to write here (runtime, cache or log files); a "
                            + "deploy or a command run as root probably changed its owner or mode.",
                    ev, remedy));
        }
    }

    private static Finding userUnknown(ServiceSpec spec) {
        return new Finding(FindingCode.USER_UNKNOWN, Severity.CRITICAL, spec.name(), -1,
                "user '" + spec.effectiveUser() + "' of service '" + spec.name() + "' does not exist on this host",
                "The service cannot be started as a user the system does not know.",
                List.of(new Evidence("user", spec.effectiveUser())),
                Remedy.manual("Create the user, or fix 'user' in the declaration.",
                        "sudo useradd --system --no-create-home " + spec.effectiveUser()));
    }

    private static Finding unreachable(ServiceSpec spec, String error) {
        return new Finding(FindingCode.MANAGER_UNREACHABLE, Severity.CRITICAL, spec.name(), -1,
                spec.driver().configName() + " could not be asked about '" + spec.name() + "'",
                "Without its manager the agent can neither see the instances' intended state nor start or stop "
                        + "them; it still samples the processes from /proc.",
                List.of(new Evidence("error", error)),
                Remedy.manual("Make the manager reachable (see the error), or fix the declaration."));
    }

    private Finding drift(ServiceSpec spec, List<String> drift) {
        List<Evidence> ev = new ArrayList<>();
        for (String d : drift) {
            ev.add(new Evidence("differs", d));
        }
        String commands = spec.supervisor() != null ? "sudo supervisorctl reread && sudo supervisorctl update" : "";
        return new Finding(FindingCode.MANAGER_CONFIG_DRIFT, Severity.WARNING, spec.name(), -1,
                spec.driver().configName() + "'s configuration of '" + spec.name() + "' differs from its declaration ("
                        + drift.size() + (drift.size() == 1 ? " difference)" : " differences)"),
                "The manager will run what its own configuration says, not what was declared: a restart brings back "
                        + "the old command, pidfile or pool size.",
                ev, commands.isEmpty() ? Remedy.manual("Bring the manager's configuration in line with the declaration.")
                        : Remedy.manual("Fix the program's configuration, then make supervisord load it.", commands));
    }

    /**
     * Those of {@code spec}'s instance {@code instance} ports that process {@code pid} or one of
     * its descendants holds in {@code scan}.
     */
    public List<Integer> boundPorts(ServiceSpec spec, int instance, int pid, HostScan scan) {
        List<Integer> expected = spec.portsOf(instance);
        if (expected.isEmpty() || pid <= 0) {
            return List.of();
        }
        Set<Integer> tree = index(scan).tree(pid);
        List<Integer> out = new ArrayList<>();
        for (int port : expected) {
            for (SocketSample s : scan.sockets().values()) {
                if (s.port() == port && s.owners().stream().anyMatch(o -> tree.contains(o.pid()))) {
                    out.add(port);
                    break;
                }
            }
        }
        return List.copyOf(out);
    }

    // ---- words ------------------------------------------------------------------------------

    private String restartCommand(ServiceSpec spec, int i) {
        return "fleetkeeper restart " + spec.name() + " --host " + host + " --instance " + i;
    }

    /** "4211 S www-data node /srv/app/releases/41/server.js". */
    static String describe(ProcessSample p) {
        String args = p.cmdline().isEmpty() ? "[" + p.comm() + "]" : String.join(" ", p.cmdline());
        // One line whatever the arguments hold (a script passed with -c has newlines).
        args = args.replace("\n", "\\n").replace("\r", "\\r").replace("\t", " ");
        if (args.length() > 160) {
            args = args.substring(0, 157) + "...";
        }
        return p.pid() + " " + p.state().letter() + " " + (p.user().isEmpty() ? "uid " + p.uid() : p.user()) + " "
                + args;
    }

    private static String exitOf(InstanceStatus st) {
        if (!st.exitSignal().isEmpty()) {
            return "killed by SIG" + st.exitSignal();
        }
        return st.exitCode() >= 0 ? "exit status " + st.exitCode() : "unknown";
    }

    private static void addLines(List<Evidence> ev, List<String> lines) {
        int from = Math.max(0, lines.size() - 10);
        for (int k = from; k < lines.size(); k++) {
            ev.add(new Evidence("output", lines.get(k)));
        }
    }

    static String seconds(Duration d) {
        long s = d.toSeconds();
        return s < 120 ? s + " s" : (s / 60) + " min";
    }

    private static String minutes(Duration d) {
        long m = d.toMinutes();
        return m >= 1 ? m + " min" : d.toSeconds() + " s";
    }
}
