package dev.fleetkeeper.agent.service.builtin;

import dev.fleetkeeper.agent.service.ServiceSpec.BackoffSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.CrashLoopSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.RestartPolicy;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Decides what happens after an instance exited on its own: stay down, restart after a delay,
 * or give up because it is crash-looping. Pure (no I/O, no clock of its own) and immutable;
 * thread-safe.
 *
 * <ul>
 *   <li>Policy: {@code NEVER} stays down; {@code ON_FAILURE} restarts after a non-zero exit
 *       status, a signal, or an unknown status (an adopted process, whose status the agent
 *       cannot collect: treated as a failure so that the service comes back);
 *       {@code ALWAYS} restarts whatever the status.</li>
 *   <li>Backoff: {@code initial}, doubling per consecutive restart up to {@code max}; back to
 *       {@code initial} when the run that just ended lasted at least {@code resetAfter}.</li>
 *   <li>Crash loop: when {@code crashLoop.restarts} automatic restarts already happened within
 *       {@code crashLoop.window} before this exit, the instance is not restarted again.</li>
 * </ul>
 */
final class RestartPlanner {

    private final RestartPolicy policy;
    private final BackoffSpec backoff;
    private final CrashLoopSpec crashLoop;

    RestartPlanner(RestartPolicy policy, BackoffSpec backoff, CrashLoopSpec crashLoop) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.backoff = Objects.requireNonNull(backoff, "backoff");
        this.crashLoop = Objects.requireNonNull(crashLoop, "crashLoop");
    }

    /**
     * What to do after a run that started at {@code startedAt} ended at {@code now} with
     * {@code exit}, given the automatic restarts so far ({@code history}).
     */
    Decision onExit(History history, Exit exit, Instant startedAt, Instant now) {
        if (policy == RestartPolicy.NEVER || (policy == RestartPolicy.ON_FAILURE && exit.clean())) {
            return new Decision.Stay(policy == RestartPolicy.NEVER ? "restart policy is 'never'"
                    : "exited with status 0 and the restart policy is 'on-failure'");
        }
        Instant windowStart = now.minus(crashLoop.window());
        List<Instant> recent = new ArrayList<>();
        for (Instant t : history.restarts()) {
            if (t.isAfter(windowStart)) {
                recent.add(t);
            }
        }
        if (recent.size() >= crashLoop.restarts()) {
            return new Decision.GiveUp(recent.size(), crashLoop.window());
        }
        Duration uptime = Duration.between(startedAt, now);
        int attempt = uptime.compareTo(backoff.resetAfter()) >= 0 ? 0 : history.attempt();
        recent.add(now);
        return new Decision.Restart(delay(attempt), new History(attempt + 1, recent));
    }

    /** The delay before consecutive restart {@code attempt} (0 for the first). */
    Duration delay(int attempt) {
        long initial = backoff.initial().toMillis();
        long max = backoff.max().toMillis();
        int shift = Math.min(attempt, 40);
        // Compare before shifting: initial << shift overflows for large attempts.
        return Duration.ofMillis(initial > (max >> shift) ? max : initial << shift);
    }

    /**
     * Automatic restarts so far: the consecutive-restart counter that sets the next delay, and
     * when each recent restart was decided (only those inside the crash-loop window are kept).
     */
    record History(int attempt, List<Instant> restarts) {
        static final History EMPTY = new History(0, List.of());

        History {
            if (attempt < 0) {
                throw new IllegalArgumentException("attempt: " + attempt + " (expected: >= 0)");
            }
            restarts = List.copyOf(restarts);
        }
    }

    /** How a run ended: an exit status, a signal name, or neither when unknown (adopted). */
    record Exit(int code, String signal) {
        static final Exit UNKNOWN = new Exit(-1, "");

        Exit {
            Objects.requireNonNull(signal, "signal");
        }

        boolean clean() {
            return code == 0 && signal.isEmpty();
        }
    }

    /** The outcome of {@link #onExit}. */
    sealed interface Decision {
        /** Leave the instance down (state EXITED). */
        record Stay(String why) implements Decision { }

        /** Start it again after {@code delay}; {@code next} replaces the history. */
        record Restart(Duration delay, History next) implements Decision { }

        /** Crash loop: {@code restarts} restarts within {@code window}; state FATAL. */
        record GiveUp(int restarts, Duration window) implements Decision { }
    }
}
