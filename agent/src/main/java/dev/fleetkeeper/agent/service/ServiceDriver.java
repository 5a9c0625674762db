package dev.fleetkeeper.agent.service;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Drives the instances of services through one process manager. One driver per manager
 * endpoint (the built-in supervisor, one supervisord socket, one PM2 home); it may serve many
 * services. Methods block until the manager answered (a stop waits up to the spec's stop
 * timeout), so callers run them off the scan loop. Implementations are thread-safe.
 *
 * <p>Every failure is an (unchecked) {@link DriverException} whose message names the service, the manager's
 * endpoint and what to do; a manager that cannot be reached throws
 * {@link DriverException#unreachable}. A driver never signals a process it did not start or
 * cannot prove belongs to the service (see {@link #isMember}).
 */
public interface ServiceDriver extends AutoCloseable {

    DriverKind kind();

    /**
     * Brings the manager's configuration in line with {@code spec} and remembers the spec:
     * supervisord rewrites the agent-owned program file, then reread + update; the built-in
     * driver adopts or keeps its instances. Does not start anything by itself, except what the
     * manager starts on its own when a program is added (supervisord's autostart).
     */
    void apply(ServiceSpec spec);

    /**
     * Remembers {@code spec} as what instance {@code instance} runs from now on, where it differs
     * from the service's applied spec (a release applied to that instance): every start the
     * driver makes on its own (a crash restart) uses it. Starts and stops nothing. Call after
     * {@link #apply}. The default does nothing: a manager that holds one program definition for
     * every instance (supervisord, PM2) cannot run instances of one service on different specs.
     */
    default void applyInstance(ServiceSpec spec, int instance) {
    }

    /**
     * Forgets a service the configuration no longer declares. The built-in driver stops its
     * instances; supervisord removes the agent-owned program; PM2 deletes the app.
     */
    void remove(ServiceSpec spec);

    /** One status per instance index, 0 to {@code spec.instances() - 1}, in order. */
    List<InstanceStatus> status(ServiceSpec spec);

    /** Starts instance {@code instance}; a no-op if it is already up. */
    void start(ServiceSpec spec, int instance);

    /**
     * Stops instance {@code instance} gracefully: its stop signal to its process group, SIGKILL
     * to the group after the stop timeout. Returns when it is down.
     */
    void stop(ServiceSpec spec, int instance);

    /** Stops (gracefully) then starts instance {@code instance}. */
    void restart(ServiceSpec spec, int instance);

    /**
     * Replaces instance {@code instance}'s process start-first where the driver and the spec
     * allow it ({@link ServiceSpec#startFirstPossible}, the instance up): starts a new process,
     * and stops the old one gracefully only once the new one has been up for {@code upFor}. If
     * the new one does not get there, the old one keeps running and this throws. Otherwise, and
     * by default, a stop-first {@link #restart}. Returns whether it was start-first.
     */
    default boolean replace(ServiceSpec spec, int instance, Duration upFor) {
        restart(spec, instance);
        return false;
    }

    /** Sends {@code signal} ("HUP", "USR2", ...) to instance {@code instance}'s process group. */
    void signal(ServiceSpec spec, int instance, String signal);

    /** The last {@code lines} lines of instance {@code instance}'s output (stdout and stderr), oldest first. */
    List<String> tail(ServiceSpec spec, int instance, int lines);

    /**
     * Whether a process whose environment is {@code environ} was started by this manager for
     * {@code spec}'s service (any instance, any release): the proof that lets a remedy stop an
     * old or orphaned process of the service. Managers mark their children's environment
     * (FLEETKEEPER_SERVICE, SUPERVISOR_PROCESS_NAME, PM2's name and pm_id), and children
     * inherit it.
     */
    boolean isMember(ServiceSpec spec, Map<String, String> environ);

    /**
     * How the manager's own configuration for this service differs from {@code spec}, one
     * sentence each ("supervisord runs 'node old.js', the spec says 'node server.js'"); empty
     * when they agree or when the driver owns the whole configuration.
     */
    List<String> configDrift(ServiceSpec spec);

    /** Releases connections and threads. The built-in driver leaves its instances running, to be adopted. */
    @Override
    void close();
}
