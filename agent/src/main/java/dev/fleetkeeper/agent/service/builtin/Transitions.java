package dev.fleetkeeper.agent.service.builtin;

import static dev.fleetkeeper.agent.service.ManagerState.BACKOFF;
import static dev.fleetkeeper.agent.service.ManagerState.EXITED;
import static dev.fleetkeeper.agent.service.ManagerState.FATAL;
import static dev.fleetkeeper.agent.service.ManagerState.RUNNING;
import static dev.fleetkeeper.agent.service.ManagerState.STARTING;
import static dev.fleetkeeper.agent.service.ManagerState.STOPPED;
import static dev.fleetkeeper.agent.service.ManagerState.STOPPING;

import dev.fleetkeeper.agent.service.ManagerState;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The allowed state changes of one built-in instance. Stateless and thread-safe.
 *
 * <pre>
 *            start             after 1 s
 *  STOPPED --------&gt; STARTING ---------&gt; RUNNING      (adoption: STOPPED -&gt; RUNNING)
 *     ^                  |                  |
 *     |                  +--- exits --------+--- stop ---&gt; STOPPING --&gt; STOPPED
 *     |                  v                                   (SIGKILL failed: -&gt; RUNNING)
 *     |       EXITED (policy: stay down)
 *     |       BACKOFF (restart timer) ---- timer: start ---&gt; STARTING
 *     |       FATAL (crash loop, start refused or failed)
 *     +------ stop: EXITED, BACKOFF, FATAL -&gt; STOPPED;  start: EXITED, BACKOFF, FATAL -&gt; STARTING
 *
 *  start-first replacement: RUNNING -&gt; STARTING (a new process; the old one retires once the new
 *  one is up long enough, or takes the instance back, STARTING -&gt; RUNNING, if it is not)
 * </pre>
 */
final class Transitions {

    private static final Map<ManagerState, Set<ManagerState>> ALLOWED = new EnumMap<>(ManagerState.class);

    static {
        ALLOWED.put(STOPPED, EnumSet.of(STARTING, RUNNING, FATAL));
        ALLOWED.put(STARTING, EnumSet.of(RUNNING, STOPPING, EXITED, BACKOFF, FATAL));
        ALLOWED.put(RUNNING, EnumSet.of(STARTING, STOPPING, EXITED, BACKOFF, FATAL));
        // STOPPING -> RUNNING: the group survived SIGKILL; the stop failed and may be tried again.
        ALLOWED.put(STOPPING, EnumSet.of(STOPPED, RUNNING));
        ALLOWED.put(EXITED, EnumSet.of(STARTING, STOPPED, FATAL));
        ALLOWED.put(BACKOFF, EnumSet.of(STARTING, STOPPED, FATAL));
        ALLOWED.put(FATAL, EnumSet.of(STARTING, STOPPED, FATAL));
    }

    private Transitions() {
    }

    /** Returns {@code to}, or throws if the state machine has no edge {@code from -> to}. */
    static ManagerState check(ManagerState from, ManagerState to) {
        Set<ManagerState> next = ALLOWED.get(from);
        if (next == null || !next.contains(to)) {
            throw new IllegalStateException("built-in instance: illegal state change " + from + " -> " + to);
        }
        return to;
    }
}
