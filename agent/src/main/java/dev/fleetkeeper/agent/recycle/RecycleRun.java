package dev.fleetkeeper.agent.recycle;

import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One recycle in flight: the planner's decision and how far the service manager got with it.
 * The instance counts as unavailable from {@link Phase#REQUESTED} until a terminal phase.
 *
 * <pre>
 *   REQUESTED --driver restart returned--> RESTARTED --running, ports bound--> DONE
 *       |                                      |
 *       +--driver failed--> FAILED             +--startTimeout passed--> TIMED_OUT
 * </pre>
 *
 * Thread-safe: the ops thread moves it to RESTARTED or FAILED, the reconcile thread to the ends.
 * Owned by the service manager.
 */
public final class RecycleRun {

    /** Where a recycle is. */
    public enum Phase {
        /** Decided; the graceful restart is queued or running on the ops thread. */
        REQUESTED,
        /** The driver's restart returned: a new process was started, not yet seen up. */
        RESTARTED,
        /** Seen running again with its ports bound. */
        DONE,
        /** The driver's restart failed. */
        FAILED,
        /** Not up again within the start timeout. */
        TIMED_OUT;

        public boolean terminal() {
            return this == DONE || this == FAILED || this == TIMED_OUT;
        }
    }

    private static final Map<Phase, Set<Phase>> ALLOWED = Map.of(
            Phase.REQUESTED, EnumSet.of(Phase.RESTARTED, Phase.FAILED),
            Phase.RESTARTED, EnumSet.of(Phase.DONE, Phase.TIMED_OUT),
            Phase.DONE, EnumSet.noneOf(Phase.class),
            Phase.FAILED, EnumSet.noneOf(Phase.class),
            Phase.TIMED_OUT, EnumSet.noneOf(Phase.class));

    private final String service;
    private final RecyclePlanner.Recycle decision;
    private final int pidBefore;
    private final long requestedAtMillis;
    private Phase phase = Phase.REQUESTED;
    private long restartedAtMillis;
    private boolean startFirst;
    private String error = "";

    public RecycleRun(String service, RecyclePlanner.Recycle decision, int pidBefore, long requestedAtMillis) {
        this.service = Objects.requireNonNull(service, "service");
        this.decision = Objects.requireNonNull(decision, "decision");
        this.pidBefore = pidBefore;
        this.requestedAtMillis = requestedAtMillis;
    }

    /**
     * The driver's replacement returned at {@code atMillis}: {@code startFirst} if the new process
     * was up before the old one was stopped, else a stop-first restart.
     */
    public synchronized void restarted(long atMillis, boolean startFirst) {
        move(Phase.RESTARTED);
        restartedAtMillis = atMillis;
        this.startFirst = startFirst;
    }

    /** Whether the instance was replaced start-first (set once RESTARTED). */
    public synchronized boolean startFirst() {
        return startFirst;
    }

    /** The driver's restart failed with {@code message}. */
    public synchronized void failed(String message) {
        move(Phase.FAILED);
        error = Objects.requireNonNull(message, "message");
    }

    /** Seen up again. */
    public synchronized void done() {
        move(Phase.DONE);
    }

    /** Not up again in time. */
    public synchronized void timedOut() {
        move(Phase.TIMED_OUT);
    }

    private void move(Phase to) {
        if (!ALLOWED.get(phase).contains(to)) {
            throw new IllegalStateException("recycle of " + service + "#" + decision.instance() + ": " + phase + " -> "
                    + to + " is not a transition (allowed from " + phase + ": " + ALLOWED.get(phase) + ")");
        }
        phase = to;
    }

    public synchronized Phase phase() {
        return phase;
    }

    public synchronized long restartedAtMillis() {
        return restartedAtMillis;
    }

    public synchronized String error() {
        return error;
    }

    public String service() {
        return service;
    }

    public RecyclePlanner.Recycle decision() {
        return decision;
    }

    public int pidBefore() {
        return pidBefore;
    }

    public long requestedAtMillis() {
        return requestedAtMillis;
    }
}
