package dev.fleetkeeper.agent.service;

import dev.fleetkeeper.agent.probe.ProbeSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a managed service should be on this host: a plain, immutable value. Read from the
 * agent's YAML today; the controller will push the same value later (rollouts), so it holds
 * no behaviour beyond validation and derived names.
 *
 * <p>A service is a pool of {@code instances} identical processes, numbered from 0. Per-instance
 * values are derived from the spec: the ports ({@link #portsOf}), the pidfile
 * ({@link #pidfileOf}: {@code {instance}} in the path is replaced by the index), and the
 * environment ({@code FLEETKEEPER_INSTANCE}, set by the built-in driver).
 *
 * @param name           unique on the host; letters, digits, '-', '_', '.'
 * @param driver         which process manager runs it
 * @param instances      pool size, at least 1
 * @param command        the executable (absolute, or looked up on PATH by the manager)
 * @param args           its arguments
 * @param env            extra environment variables
 * @param workingDir     the working directory; null: the manager's default (built-in: the user's home or /)
 * @param user           the user the processes run as; "" for the agent's own user
 * @param ports          expected listening ports of instance 0; instance i expects each plus
 *                       {@code i * portStride}
 * @param portStride     the distance between instances' ports; 0 when every instance shares
 *                       the ports (SO_REUSEPORT, Node cluster)
 * @param pidfile        the pidfile the service writes, "" if none; may contain {@code {instance}}
 * @param writablePaths  paths the service user must be able to write, with the owner and mode
 *                       a remedy may restore
 * @param stopSignal     the graceful stop signal, without "SIG" (TERM, INT, QUIT, HUP, USR1, USR2)
 * @param stopTimeout    how long to wait after the stop signal before SIGKILL to the group
 * @param restart        what to do when an instance exits
 * @param backoff        delays between automatic restarts
 * @param crashLoop      when repeated restarts count as a crash loop
 * @param startTimeout   an instance still starting after this long is stuck
 * @param version        a label of the release this spec runs ("" if unset)
 * @param remedies       whether pre-flight applies the safe remedies or refuses
 * @param logs           the built-in driver's output files
 * @param supervisor     supervisord settings; non-null exactly when {@code driver} is SUPERVISOR
 * @param pm2            PM2 settings; non-null exactly when {@code driver} is PM2
 * @param memory         the memory policy (leak detection and recycling); null: none
 * @param releases       the deploy root ({@code releases/<version>} directories and a {@code current}
 *                       symlink) an applied release runs from; null: none declared
 * @param probe          the health probe the agent runs against each running instance; null: none
 */
public record ServiceSpec(
        String name,
        DriverKind driver,
        int instances,
        String command,
        List<String> args,
        Map<String, String> env,
        Path workingDir,
        String user,
        List<Integer> ports,
        int portStride,
        String pidfile,
        List<WritablePath> writablePaths,
        String stopSignal,
        Duration stopTimeout,
        RestartPolicy restart,
        BackoffSpec backoff,
        CrashLoopSpec crashLoop,
        Duration startTimeout,
        String version,
        RemedyPolicy remedies,
        LogSpec logs,
        SupervisorSpec supervisor,
        Pm2Spec pm2,
        MemorySpec memory,
        Path releases,
        ProbeSpec probe) {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    /** Signals a stop may use; KILL and STOP are not graceful. */
    public static final List<String> STOP_SIGNALS = List.of("TERM", "INT", "QUIT", "HUP", "USR1", "USR2");

    public static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(60);

    public ServiceSpec {
        Objects.requireNonNull(name, "name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("name: '" + name
                    + "' (expected: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)");
        }
        Objects.requireNonNull(driver, "driver");
        if (instances < 1 || instances > 1024) {
            throw new IllegalArgumentException("instances: " + instances + " (expected: 1 to 1024)");
        }
        Objects.requireNonNull(command, "command");
        args = List.copyOf(args);
        env = Map.copyOf(env);
        Objects.requireNonNull(user, "user");
        ports = List.copyOf(ports);
        for (int p : ports) {
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException("ports: " + p + " (expected: 1 to 65535)");
            }
        }
        if (portStride < 0) {
            throw new IllegalArgumentException("portStride: " + portStride + " (expected: >= 0)");
        }
        for (int p : ports) {
            if (p + (long) (instances - 1) * portStride > 65535) {
                throw new IllegalArgumentException("ports: " + p + " + " + (instances - 1) + " x portStride "
                        + portStride + " is beyond 65535");
            }
        }
        Objects.requireNonNull(pidfile, "pidfile");
        if (!pidfile.isEmpty() && !pidfile.startsWith("/")) {
            throw new IllegalArgumentException("pidfile: '" + pidfile + "' (expected: an absolute path)");
        }
        writablePaths = List.copyOf(writablePaths);
        Objects.requireNonNull(stopSignal, "stopSignal");
        if (!STOP_SIGNALS.contains(stopSignal)) {
            throw new IllegalArgumentException("stopSignal: '" + stopSignal + "' (expected one of: "
                    + String.join(", ", STOP_SIGNALS) + ")");
        }
        requirePositive("stopTimeout", stopTimeout);
        Objects.requireNonNull(restart, "restart");
        Objects.requireNonNull(backoff, "backoff");
        Objects.requireNonNull(crashLoop, "crashLoop");
        requirePositive("startTimeout", startTimeout);
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(remedies, "remedies");
        Objects.requireNonNull(logs, "logs");
        if (driver == DriverKind.BUILTIN && command.isEmpty()) {
            throw new IllegalArgumentException("command: missing (the built-in driver starts the command itself)");
        }
        if ((driver == DriverKind.SUPERVISOR) != (supervisor != null)) {
            throw new IllegalArgumentException("supervisor: settings are for driver 'supervisor' only"
                    + (supervisor == null ? " (missing)" : ""));
        }
        if ((driver == DriverKind.PM2) != (pm2 != null)) {
            throw new IllegalArgumentException("pm2: settings are for driver 'pm2' only" + (pm2 == null ? " (missing)" : ""));
        }
        if (memory != null) {
            memory.check(instances);
        }
        if (releases != null && (!releases.isAbsolute() || !releases.normalize().equals(releases)
                || releases.getNameCount() == 0)) {
            throw new IllegalArgumentException("releases: '" + releases + "' (expected: an absolute path without "
                    + "'.' or '..' below /, such as /srv/app)");
        }
        if (probe != null && ports.isEmpty()) {
            throw new IllegalArgumentException("probe: '" + probe + "' needs a port to probe (expected: 'ports' "
                    + "declared, or no probe)");
        }
        if (probe != null && portStride == 0 && instances > 1) {
            throw new IllegalArgumentException("probe: '" + probe + "' cannot tell the instances apart: they share "
                    + "their ports (portStride 0), so a probe reaches whichever one the kernel picks (expected: no "
                    + "probe, or ports of their own with portStride >= 1)");
        }
    }

    /**
     * The directory of release {@code version} under the declared deploy root
     * ({@code releases/<version>}), or null when the service declares no root.
     */
    public Path releaseDir(String version) {
        return releases == null ? null : releases.resolve("releases").resolve(version);
    }

    /**
     * Whether a probe can reach each instance on ports of its own: ports declared, and not
     * shared by several instances (a probe of a shared port reaches any of them).
     */
    public boolean probeable() {
        return !ports.isEmpty() && (portStride != 0 || instances == 1);
    }

    /** The ports instance {@code instance} is expected to listen on. */
    public List<Integer> portsOf(int instance) {
        checkInstance(instance);
        if (ports.isEmpty()) {
            return List.of();
        }
        List<Integer> out = new ArrayList<>(ports.size());
        for (int p : ports) {
            out.add(p + instance * portStride);
        }
        return List.copyOf(out);
    }

    /** The pidfile of instance {@code instance}, or null if the service declares none. */
    public Path pidfileOf(int instance) {
        checkInstance(instance);
        return pidfile.isEmpty() ? null : Path.of(pidfile.replace("{instance}", Integer.toString(instance)));
    }

    /**
     * Whether an instance can be replaced start-first: its replacement runs next to it for a
     * while, so nothing may be the instance's alone. True without a pidfile (both would claim
     * it) when the service declares no ports, or ports its instances share ({@code portStride}
     * 0 with several instances: they already bind them with {@code SO_REUSEPORT}, so the
     * replacement can too). Ports of its own (a stride) the old process holds until it stops.
     */
    public boolean startFirstPossible() {
        return pidfile.isEmpty() && (ports.isEmpty() || (portStride == 0 && instances > 1));
    }

    /**
     * The capacity floor the service declares, in instances, as the agent reports it for
     * rollouts: the memory policy's floor ({@link MemorySpec#declaredFloor}), 0 without a memory
     * policy. 0 means "none declared".
     */
    public int declaredFloor() {
        return memory == null ? 0 : memory.declaredFloor(instances);
    }

    /** The user the processes run as, or the agent's own user when none is set. */
    public String effectiveUser() {
        return user.isEmpty() ? System.getProperty("user.name") : user;
    }

    private void checkInstance(int instance) {
        if (instance < 0 || instance >= instances) {
            throw new IllegalArgumentException("instance " + instance + " of service '" + name + "' (it has "
                    + instances + (instances == 1 ? " instance: 0)" : " instances: 0 to " + (instances - 1) + ")"));
        }
    }

    private static void requirePositive(String key, Duration d) {
        Objects.requireNonNull(d, key);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(key + ": " + d + " (expected: > 0)");
        }
    }

    /** When the manager restarts an instance that exited. */
    public enum RestartPolicy {
        /** Whatever the exit status. */
        ALWAYS,
        /** Only after a non-zero exit status or a signal. */
        ON_FAILURE,
        /** Never: an exited instance stays down. */
        NEVER
    }

    /** What pre-flight does with a finding that has a safe remedy. */
    public enum RemedyPolicy {
        /** Apply the safe remedies, then start. */
        AUTO,
        /** Refuse the start and report the findings. */
        REFUSE
    }

    /**
     * A path the service must be able to write; {@code owner} (default: the service user) and
     * {@code mode} (octal, -1: leave as is) are what the PATH_NOT_WRITABLE remedy restores.
     */
    public record WritablePath(Path path, String owner, int mode) {
        public WritablePath {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(owner, "owner");
            if (!path.isAbsolute()) {
                throw new IllegalArgumentException("writablePaths: '" + path + "' (expected: an absolute path)");
            }
            if (mode < -1 || mode > 07777) {
                throw new IllegalArgumentException("writablePaths: mode " + Integer.toOctalString(mode)
                        + " of '" + path + "' (expected: octal, 0 to 7777)");
            }
        }
    }

    /**
     * Exponential backoff between automatic restarts: {@code initial}, doubling up to
     * {@code max}; back to {@code initial} after an instance stayed up {@code resetAfter}.
     */
    public record BackoffSpec(Duration initial, Duration max, Duration resetAfter) {
        public static final BackoffSpec DEFAULT = new BackoffSpec(Duration.ofSeconds(1), Duration.ofMinutes(1),
                Duration.ofMinutes(5));

        public BackoffSpec {
            requirePositive("backoff.initial", initial);
            requirePositive("backoff.max", max);
            requirePositive("backoff.resetAfter", resetAfter);
            if (max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("backoff.max: " + max + " (expected: >= backoff.initial " + initial + ")");
            }
        }
    }

    /** A crash loop: {@code restarts} restarts or more within {@code window}. */
    public record CrashLoopSpec(int restarts, Duration window) {
        public static final CrashLoopSpec DEFAULT = new CrashLoopSpec(5, Duration.ofMinutes(5));

        public CrashLoopSpec {
            if (restarts < 1) {
                throw new IllegalArgumentException("crashLoop.restarts: " + restarts + " (expected: >= 1)");
            }
            requirePositive("crashLoop.window", window);
        }
    }

    /**
     * The built-in driver's output files: {@code dir} (null: the agent's
     * {@code stateDir/logs/SERVICE}), rotated at {@code maxBytes}, {@code keep} old files kept.
     */
    public record LogSpec(Path dir, long maxBytes, int keep) {
        public static final LogSpec DEFAULT = new LogSpec(null, 10L << 20, 3);

        public LogSpec {
            if (maxBytes < 4096) {
                throw new IllegalArgumentException("logs.maxSize: " + maxBytes + " bytes (expected: >= 4096)");
            }
            if (keep < 0 || keep > 100) {
                throw new IllegalArgumentException("logs.keep: " + keep + " (expected: 0 to 100)");
            }
        }
    }

    /**
     * How to reach supervisord and which program is this service.
     *
     * @param url        {@code unix:///var/run/supervisor.sock} or {@code http://127.0.0.1:9001}
     * @param username   for supervisord's HTTP basic auth, "" if none
     * @param password   idem
     * @param program    the program (or group) name in supervisord's config; default: the service name
     * @param configFile where the agent writes this program's section (then reread + update);
     *                   null: the operator keeps the supervisord config and the agent only reads it
     */
    public record SupervisorSpec(String url, String username, String password, String program, Path configFile) {
        public static final String DEFAULT_URL = "unix:///var/run/supervisor.sock";

        public SupervisorSpec {
            Objects.requireNonNull(url, "url");
            Objects.requireNonNull(username, "username");
            Objects.requireNonNull(password, "password");
            Objects.requireNonNull(program, "program");
            if (!url.startsWith("unix://") && !url.startsWith("http://")) {
                throw new IllegalArgumentException("supervisor.url: '" + url
                        + "' (expected: unix:///path/to/supervisor.sock or http://host:port)");
            }
        }
    }

    /**
     * How to reach PM2 and which app is this service.
     *
     * @param bin  the pm2 executable (default "pm2", looked up on PATH)
     * @param home PM2_HOME of the daemon that runs the app; null: the service user's ~/.pm2
     * @param app  the app name in PM2; default: the service name
     */
    public record Pm2Spec(String bin, Path home, String app) {
        public Pm2Spec {
            Objects.requireNonNull(bin, "bin");
            Objects.requireNonNull(app, "app");
        }
    }

    /**
     * The memory policy of a service: when an instance counts as leaking or too big, and how many
     * instances may be recycled (stopped gracefully and started again) at once. The agent applies it
     * on its own, also while the controller is unreachable.
     *
     * <p><b>Limit.</b> {@code limitBytes > 0} is each instance's own limit (RSS). {@code 0} means the
     * instance's share of the host: its current RSS plus the host's {@code MemAvailable} divided
     * by the service's instance count, evaluated at each sample, i.e. what it could still grow into
     * if the memory left were split evenly between the service's instances.
     *
     * <p><b>Triggers</b> (any one recycles): RSS above the limit for {@code overLimitSamples}
     * consecutive samples (monit's {@code for N cycles}); a leak verdict whose forecast time to the
     * limit is at most {@code forecastUnder} (zero: off); an age of at least {@code maxAge} (zero:
     * off). Samples during {@code warmUp} after a start do not count towards a trend, and the
     * trend is fitted over the last {@code window}.
     *
     * <p><b>Staggering.</b> At most {@code maxRecycling} instances of the service recycle at once
     * on a host (zero: detect and report, never recycle), and a recycle never takes the available
     * instances below {@code minAvailable} (a number or a percentage of {@code instances}, rounded
     * up; null: {@code instances - maxRecycling}).
     *
     * @param limitBytes        per-instance limit in bytes; 0: the instance's share of the host (above)
     * @param window            the leak detector's window
     * @param warmUp            ignored after each start
     * @param overLimitSamples  consecutive samples over the limit that trigger a recycle, at least 1
     * @param forecastUnder     recycle a leaking instance forecast to reach its limit within this; zero: off
     * @param maxAge            recycle an instance this old; zero: off
     * @param maxRecycling      recycles in flight at once on the host, 0 to {@code instances}
     * @param minAvailable      the capacity floor; null: {@code instances - maxRecycling}
     */
    public record MemorySpec(long limitBytes, Duration window, Duration warmUp, int overLimitSamples,
                             Duration forecastUnder, Duration maxAge, int maxRecycling, Capacity minAvailable,
                             Duration baselineSettle, double baselineTolerance) {
        public static final Duration DEFAULT_BASELINE_SETTLE = Duration.ofMinutes(2);
        public static final double DEFAULT_BASELINE_TOLERANCE = 0.2;
        public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(30);
        public static final Duration DEFAULT_WARM_UP = Duration.ofMinutes(2);
        public static final int DEFAULT_OVER_LIMIT_SAMPLES = 3;
        public static final Duration DEFAULT_FORECAST_UNDER = Duration.ofMinutes(10);
        /** Every default: the host share as limit, trend over 30 min after a 2 min warm-up, one recycle at a time. */
        public static final MemorySpec DEFAULTS = new MemorySpec(0, DEFAULT_WINDOW, DEFAULT_WARM_UP,
                DEFAULT_OVER_LIMIT_SAMPLES, DEFAULT_FORECAST_UNDER, Duration.ZERO, 1, null, DEFAULT_BASELINE_SETTLE,
                DEFAULT_BASELINE_TOLERANCE);

        public MemorySpec {
            if (limitBytes < 0) {
                throw new IllegalArgumentException("memory.limit: " + limitBytes + " bytes (expected: >= 0; 0: the host share)");
            }
            requirePositive("memory.window", window);
            requireNotNegative("memory.warmUp", warmUp);
            if (overLimitSamples < 1) {
                throw new IllegalArgumentException("memory.overLimitFor: " + overLimitSamples + " (expected: >= 1 samples)");
            }
            requireNotNegative("memory.forecastUnder", forecastUnder);
            requireNotNegative("memory.maxAge", maxAge);
            if (maxRecycling < 0) {
                throw new IllegalArgumentException("memory.maxRecycling: " + maxRecycling + " (expected: >= 0)");
            }
            requirePositive("memory.baselineSettle", baselineSettle);
            if (!(baselineTolerance > 0 && baselineTolerance <= 10)) {
                throw new IllegalArgumentException("memory.baselineTolerance: " + Math.round(baselineTolerance * 100)
                        + "% (expected: above 0%, at most 1000%)");
            }
        }

        /** Checks what depends on the pool size. */
        void check(int instances) {
            if (maxRecycling > instances) {
                throw new IllegalArgumentException("memory.maxRecycling: " + maxRecycling + " (expected: at most instances, "
                        + instances + ")");
            }
            if (minAvailable != null && !minAvailable.percent() && minAvailable.value() > instances) {
                throw new IllegalArgumentException("memory.minAvailable: " + minAvailable + " (expected: at most instances, "
                        + instances + ")");
            }
            if (maxRecycling > 0 && minAvailable(instances) >= instances) {
                throw new IllegalArgumentException("memory.minAvailable: " + minAvailable + " of " + instances
                        + " instance(s) leaves no room to recycle one (expected: below instances; or maxRecycling: 0 "
                        + "to detect without recycling)");
            }
        }

        /** The floor of available instances for a pool of {@code instances}. */
        public int minAvailable(int instances) {
            return minAvailable == null ? Math.max(0, instances - maxRecycling) : minAvailable.of(instances);
        }

        /**
         * The floor this policy declares for taking instances down on purpose (a rollout, not only
         * a recycle), in a pool of {@code instances}: {@code minAvailable} when set; else
         * {@code instances - maxRecycling}, the floor the agent's own recycling keeps; else 0
         * (none) when {@code maxRecycling} is 0, since "detect, never recycle" says nothing about
         * how many instances may be down for a deploy.
         */
        public int declaredFloor(int instances) {
            if (minAvailable != null) {
                return minAvailable.of(instances);
            }
            return maxRecycling == 0 ? 0 : Math.max(0, instances - maxRecycling);
        }

        /** The limit of one instance now: its own, or its share of the host (see the type's Javadoc). */
        public long effectiveLimit(long rssBytes, long memAvailableBytes, int instances) {
            if (limitBytes > 0) {
                return limitBytes;
            }
            return Math.max(0, rssBytes) + Math.max(0, memAvailableBytes) / Math.max(1, instances);
        }

        private static void requireNotNegative(String key, Duration d) {
            Objects.requireNonNull(d, key);
            if (d.isNegative()) {
                throw new IllegalArgumentException(key + ": " + d + " (expected: >= 0)");
            }
        }
    }

    /**
     * A number of instances, absolute ({@code "2"}) or a percentage of the pool ({@code "50%"},
     * rounded up, so that the floor it sets is never lower than said).
     */
    public record Capacity(int value, boolean percent) {
        public Capacity {
            if (value < 0 || (percent && value > 100)) {
                throw new IllegalArgumentException("memory.minAvailable: " + value + (percent ? "%" : "")
                        + " (expected: a number >= 0 or a percentage 0% to 100%)");
            }
        }

        /** "2" or "50%". */
        public static Capacity parse(String text) {
            String s = text.trim();
            boolean pct = s.endsWith("%");
            String digits = pct ? s.substring(0, s.length() - 1).trim() : s;
            if (digits.isEmpty() || !digits.chars().allMatch(Character::isDigit) || digits.length() > 9) {
                throw new IllegalArgumentException("'" + text + "' (expected: a number of instances such as 2, or a "
                        + "percentage such as 50%)");
            }
            return new Capacity(Integer.parseInt(digits), pct);
        }

        /** How many instances this is in a pool of {@code instances}. */
        public int of(int instances) {
            return percent ? (int) ((value * (long) instances + 99) / 100) : value;
        }

        @Override
        public String toString() {
            return value + (percent ? "%" : "");
        }
    }

    /** A copy with another version label, command and arguments (a rollout's change). */
    public ServiceSpec withRelease(String newVersion, String newCommand, List<String> newArgs) {
        return withRelease(newVersion, newCommand, newArgs, env, workingDir, probe);
    }

    /**
     * A copy with another version label, command, arguments, environment, working directory and
     * probe: what one instance runs once a release is applied to it. Everything else (ports,
     * stop signal, policies) stays the declared service's.
     */
    public ServiceSpec withRelease(String newVersion, String newCommand, List<String> newArgs,
                                   Map<String, String> newEnv, Path newWorkingDir, ProbeSpec newProbe) {
        return new ServiceSpec(name, driver, instances, newCommand, newArgs, newEnv, newWorkingDir, user, ports,
                portStride, pidfile, writablePaths, stopSignal, stopTimeout, restart, backoff, crashLoop, startTimeout,
                newVersion, remedies, logs, supervisor, pm2, memory, releases, newProbe);
    }

    /** A spec for tests and demos: the given driver settings, defaults everywhere else. */
    public static Builder builder(String name, DriverKind driver) {
        return new Builder(name, driver);
    }

    /** Builds a {@link ServiceSpec}; the defaults are those of the configuration file. */
    public static final class Builder {
        private final String name;
        private final DriverKind driver;
        private int instances = 1;
        private String command = "";
        private List<String> args = List.of();
        private Map<String, String> env = Map.of();
        private Path workingDir;
        private String user = "";
        private List<Integer> ports = List.of();
        private int portStride = 1;
        private String pidfile = "";
        private List<WritablePath> writablePaths = List.of();
        private String stopSignal = "TERM";
        private Duration stopTimeout = DEFAULT_STOP_TIMEOUT;
        private RestartPolicy restart = RestartPolicy.ALWAYS;
        private BackoffSpec backoff = BackoffSpec.DEFAULT;
        private CrashLoopSpec crashLoop = CrashLoopSpec.DEFAULT;
        private Duration startTimeout = DEFAULT_START_TIMEOUT;
        private String version = "";
        private RemedyPolicy remedies = RemedyPolicy.REFUSE;
        private LogSpec logs = LogSpec.DEFAULT;
        private SupervisorSpec supervisor;
        private Pm2Spec pm2;
        private MemorySpec memory;
        private Path releases;
        private ProbeSpec probe;

        private Builder(String name, DriverKind driver) {
            this.name = name;
            this.driver = driver;
        }

        public Builder instances(int v) { this.instances = v; return this; }
        public Builder command(String v, String... a) { this.command = v; this.args = List.of(a); return this; }
        public Builder args(List<String> v) { this.args = v; return this; }
        public Builder env(Map<String, String> v) { this.env = v; return this; }
        public Builder workingDir(Path v) { this.workingDir = v; return this; }
        public Builder user(String v) { this.user = v; return this; }
        public Builder ports(List<Integer> v, int stride) { this.ports = v; this.portStride = stride; return this; }
        public Builder pidfile(String v) { this.pidfile = v; return this; }
        public Builder writablePaths(List<WritablePath> v) { this.writablePaths = v; return this; }
        public Builder stopSignal(String v) { this.stopSignal = v; return this; }
        public Builder stopTimeout(Duration v) { this.stopTimeout = v; return this; }
        public Builder restart(RestartPolicy v) { this.restart = v; return this; }
        public Builder backoff(BackoffSpec v) { this.backoff = v; return this; }
        public Builder crashLoop(CrashLoopSpec v) { this.crashLoop = v; return this; }
        public Builder startTimeout(Duration v) { this.startTimeout = v; return this; }
        public Builder version(String v) { this.version = v; return this; }
        public Builder remedies(RemedyPolicy v) { this.remedies = v; return this; }
        public Builder logs(LogSpec v) { this.logs = v; return this; }
        public Builder supervisor(SupervisorSpec v) { this.supervisor = v; return this; }
        public Builder pm2(Pm2Spec v) { this.pm2 = v; return this; }
        public Builder memory(MemorySpec v) { this.memory = v; return this; }
        public Builder releases(Path v) { this.releases = v; return this; }
        public Builder probe(ProbeSpec v) { this.probe = v; return this; }

        public ServiceSpec build() {
            return new ServiceSpec(name, driver, instances, command, args, env, workingDir, user, ports, portStride,
                    pidfile, writablePaths, stopSignal, stopTimeout, restart, backoff, crashLoop, startTimeout, version,
                    remedies, logs, supervisor, pm2, memory, releases, probe);
        }
    }
}
