package dev.fleetkeeper.controller.rollout;

import dev.fleetkeeper.controller.coordination.CoordinatorThread;
import dev.fleetkeeper.controller.coordination.ServiceSnapshot;
import dev.fleetkeeper.controller.coordination.Watchers;
import dev.fleetkeeper.controller.fleet.ActionReply;
import dev.fleetkeeper.controller.fleet.AgentAction;
import dev.fleetkeeper.controller.fleet.EventBus;
import dev.fleetkeeper.controller.fleet.FleetEngine;
import dev.fleetkeeper.controller.fleet.HostOfflineException;
import dev.fleetkeeper.proto.v1.ActionResult;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.Evidence;
import dev.fleetkeeper.proto.v1.Finding;
import dev.fleetkeeper.proto.v1.InstanceView;
import dev.fleetkeeper.proto.v1.ManagerState;
import dev.fleetkeeper.proto.v1.MemoryBaseline;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import dev.fleetkeeper.proto.v1.Severity;
import io.micrometer.core.instrument.MeterRegistry;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs rollouts: on every tick it observes the fleet (through the {@link FleetEngine}'s
 * queries), asks {@link RolloutPlanner} what to do, stores the resulting rollout and its events
 * in the {@link RolloutJournal} (synchronously, before anything is sent), then sends the
 * {@code ApplyRelease} actions with the ids it stored. On start it loads the stored rollouts and
 * resumes those not ended: a step that was SENT is sent again with the same id (the agent
 * applies an id at most once and answers DUPLICATE), a step already answered is not sent again.
 *
 * <p><b>Threading.</b> All rollout state lives on one thread, {@code fleetkeeper-rollout};
 * public methods may be called from any thread and return futures completed there. Watchers are
 * called on that thread and must not block. Owns its thread; not the engine or the journal.
 */
public final class RolloutCoordinator implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RolloutCoordinator.class);
    /** Host id of the events about a whole rollout, which concern no single host. */
    public static final String ROLLOUT_EVENT_HOST = "controller";
    /** Rollouts listed when the caller does not say. */
    public static final int DEFAULT_LIST_LIMIT = 50;
    private static final String REGRESSED_EVIDENCE = "current";

    private final RolloutJournal journal;
    private final FleetEngine engine;
    private final EventBus bus;
    private final InstantSource clock;
    private final Duration tickInterval;
    private final CoordinatorThread thread;
    private final SecureRandom random = new SecureRandom();

    // Rollout-thread state.
    private final Map<String, Rollout> rollouts = new LinkedHashMap<>();
    private final Set<String> awaiting = new HashSet<>();
    private final Watchers<Rollout> watchers;

    /**
     * @param tickInterval how often running rollouts are re-decided (also after every answer)
     */
    public RolloutCoordinator(RolloutJournal journal, FleetEngine engine, InstantSource clock, Duration tickInterval,
                              MeterRegistry registry) {
        if (tickInterval.isNegative() || tickInterval.isZero()) {
            throw new IllegalArgumentException("tickInterval: " + tickInterval + " (expected: > 0)");
        }
        this.journal = journal;
        this.engine = engine;
        this.bus = engine.events();
        this.clock = clock;
        this.tickInterval = tickInterval;
        this.thread = new CoordinatorThread("rollout", "Rollout coordinator", registry);
        this.watchers = new Watchers<>(thread, "rollout watcher");
    }

    /** Loads the stored rollouts and starts deciding; rollouts not ended resume. */
    public void start() {
        CoordinatorThread.join(thread.call(() -> {
            for (Rollout r : journal.rollouts()) {
                rollouts.put(r.rolloutId(), r);
                if (moves(r)) {
                    log.info("Resuming rollout {} of '{}' to {}: {} ({})", r.rolloutId(), r.service(),
                            r.release().version(), r.state(), r.message());
                }
            }
            return null;
        }));
        thread.tickEvery(tickInterval, this::tick);
    }

    // ---------------------------------------------------------------- API (any thread)

    /**
     * Starts a rollout: plans it over the hosts as they are now, stores it, and takes its first
     * decision. Fails with {@link RolloutRefusedException} when no online host declares the
     * service or a rollout of the same service is still in progress, and with
     * {@link IllegalArgumentException} when the release or plan does not fit.
     */
    public CompletableFuture<Rollout> start(RolloutRequest request) {
        return thread.call(() -> {
            Rollout running = inProgress(request.service());
            if (running != null) {
                throw new RolloutRefusedException("rollout " + running.rolloutId() + " of '" + running.service()
                        + "' to " + running.release().version() + " is still " + running.state() + " ("
                        + running.message() + "); follow it with 'fleetkeeper rollout status " + running.rolloutId()
                        + "' or stop it with 'fleetkeeper rollout abort " + running.rolloutId() + "'");
            }
            long now = clock.millis();
            String id = String.format(Locale.ROOT, "ro-%012x-%04x", now, random.nextInt(0x10000));
            Rollout planned = RolloutPlanner.plan(id, request.service(), request.selector(), request.release(),
                    request.plan(), request.reason(), observe(request.service()).values(), now);
            save(null, planned);
            log.info("Rollout {} of '{}' to {} accepted: {}", id, planned.service(), planned.release().version(),
                    planned.message());
            thread.guarded("rollout " + id, () -> advance(id));
            return rollouts.get(id);
        });
    }

    /** One rollout. */
    public CompletableFuture<Rollout> get(String rolloutId) {
        return thread.call(() -> find(rolloutId));
    }

    /** Rollouts, newest first, of {@code service} ("" for all), at most {@code limit} (0: the default). */
    public CompletableFuture<List<Rollout>> list(String service, int limit) {
        return thread.call(() -> {
            List<Rollout> out = new ArrayList<>();
            for (Rollout r : rollouts.values()) {
                if (service.isEmpty() || r.service().equals(service)) {
                    out.add(r);
                }
            }
            out.sort(Comparator.comparing(Rollout::rolloutId).reversed());
            return List.copyOf(out.subList(0, Math.min(out.size(), limit <= 0 ? DEFAULT_LIST_LIMIT : limit)));
        });
    }

    /** Pauses a CANARY or ROLLING rollout: nothing new starts; instances in flight finish their gates. */
    public CompletableFuture<Rollout> pause(String rolloutId) {
        return control(rolloutId, r -> RolloutPlanner.pause(r, clock.millis()));
    }

    /** Resumes a PAUSED rollout where it paused. */
    public CompletableFuture<Rollout> resume(String rolloutId) {
        return control(rolloutId, r -> RolloutPlanner.resume(r, clock.millis()));
    }

    /** Goes on after a healthy canary. */
    public CompletableFuture<Rollout> promote(String rolloutId) {
        return control(rolloutId, r -> RolloutPlanner.promote(r, clock.millis()));
    }

    /** Stops a rollout: nothing more is changed; instances keep what they run. */
    public CompletableFuture<Rollout> abort(String rolloutId) {
        return control(rolloutId, r -> RolloutPlanner.abort(r, clock.millis()));
    }

    /** Moves every instance the rollout changed back to its previous release. */
    public CompletableFuture<Rollout> rollback(String rolloutId) {
        return control(rolloutId, r -> {
            Rollout newer = inProgress(r.service());
            if (newer != null && !newer.rolloutId().equals(r.rolloutId())) {
                throw new RolloutRefusedException("cannot roll back rollout " + r.rolloutId() + ": rollout "
                        + newer.rolloutId() + " of '" + r.service() + "' is " + newer.state()
                        + " now; abort or roll back that one first");
            }
            return RolloutPlanner.rollback(r, clock.millis());
        });
    }

    /**
     * Calls {@code watcher} with the rollout now and after every change, until it ends (the
     * last call carries the ended rollout; FAILED counts as ended). The returned handle stops
     * the calls.
     */
    public CompletableFuture<AutoCloseable> watch(String rolloutId, Consumer<Rollout> watcher) {
        return thread.call(() -> {
            Rollout r = find(rolloutId);
            return watchers.add(rolloutId, r, ended(r), watcher);
        });
    }

    /** Whether a watch of {@code r} is over: SUCCEEDED, ROLLED_BACK, ABORTED or FAILED. */
    public static boolean ended(Rollout r) {
        return r.state().isTerminal() || r.state() == RolloutState.FAILED;
    }

    // ---------------------------------------------------------------- rollout thread

    private CompletableFuture<Rollout> control(String rolloutId, UnaryOperator<Rollout> change) {
        return thread.call(() -> {
            Rollout r = find(rolloutId);
            Rollout next = change.apply(r);
            if (!next.equals(r)) {
                save(r, next);
                log.info("Rollout {} of '{}': {} -> {} ({})", rolloutId, r.service(), r.state(), next.state(),
                        next.message());
            }
            if (moves(next)) {
                thread.guarded("rollout " + rolloutId, () -> advance(rolloutId));
            }
            return rollouts.get(rolloutId);
        });
    }

    /** The rollout of {@code service} that still changes instances, or null. */
    private Rollout inProgress(String service) {
        for (Rollout r : rollouts.values()) {
            if (r.service().equals(service) && moves(r)) {
                return r;
            }
        }
        return null;
    }

    /** Whether the coordinator still decides for {@code r}: active, or rolling back. */
    private static boolean moves(Rollout r) {
        return r.state().isActive() || r.state() == RolloutState.ROLLING_BACK;
    }

    private Rollout find(String rolloutId) {
        Rollout r = rollouts.get(rolloutId);
        if (r == null) {
            throw new RolloutNotFoundException(rolloutId);
        }
        return r;
    }

    private void tick() {
        for (String id : List.copyOf(rollouts.keySet())) {
            if (moves(rollouts.get(id))) {
                thread.guarded("rollout " + id, () -> advance(id));
            }
        }
    }

    /** One decision for the rollout, stored, then carried out. */
    private void advance(String rolloutId) {
        Rollout r = rollouts.get(rolloutId);
        long now = clock.millis();
        RolloutPlanner.Decision d = RolloutPlanner.decide(r, observe(r.service()), Set.copyOf(awaiting), now);
        if (!d.rollout().equals(r)) {
            save(r, d.rollout());
        }
        for (RolloutPlanner.Send s : d.sends()) {
            send(d.rollout(), s);
        }
    }

    private void send(Rollout r, RolloutPlanner.Send s) {
        String id = s.actionId();
        CompletableFuture<ActionReply> reply;
        try {
            reply = engine.sendAction(s.step().hostId(), id, new AgentAction.ApplyRelease(r.service(),
                    s.step().instance(), s.release(), s.toDeclared(), r.rolloutId(), s.currentTarget()),
                    Duration.ofMillis(r.plan().healthyDeadlineMillis()));
        } catch (RuntimeException e) {
            log.warn("Could not send {} of rollout {} ({}): {}", id, r.rolloutId(), s.step().describe(r.service()),
                    e.toString());
            return;
        }
        awaiting.add(id);
        reply.whenComplete((answer, error) -> {
            // Once stopping, dropped: the step stays SENT in the store and is re-sent after the restart.
            thread.execute("answer " + id, () -> onReply(r.rolloutId(), id, answer, error));
        });
    }

    private void onReply(String rolloutId, String actionId, ActionReply reply, Throwable error) {
        awaiting.remove(actionId);
        Rollout r = rollouts.get(rolloutId);
        if (error != null) {
            Throwable cause = error.getCause() != null ? error.getCause() : error;
            if (cause instanceof HostOfflineException) {
                log.debug("Rollout action {} waits for its host: {}", actionId, cause.getMessage());
            } else {
                log.warn("Rollout action {} of {} not answered yet: {}; it is re-sent with the same id", actionId,
                        rolloutId, cause.toString());
            }
            return;
        }
        Rollout next = RolloutPlanner.answered(r, actionId, answer(reply.result()), clock.millis());
        if (!next.equals(r)) {
            save(r, next);
        }
        if (moves(next)) {
            advance(rolloutId);
        }
    }

    /** The planner's view of an agent's answer: applied, applied before, or not applied and why. */
    static RolloutPlanner.Answer answer(ActionResult r) {
        if (r.getStatus() == ActionStatus.ACTION_STATUS_SUCCEEDED) {
            return new RolloutPlanner.Answer(RolloutPlanner.Answer.Kind.SUCCEEDED, r.getMessage(),
                    r.getRelease().getOldPid(), r.getRelease().getPreviousCurrent());
        }
        if (r.getStatus() == ActionStatus.ACTION_STATUS_DUPLICATE) {
            return new RolloutPlanner.Answer(RolloutPlanner.Answer.Kind.DUPLICATE, r.getMessage(), 0);
        }
        String status = r.getStatus().name().replace("ACTION_STATUS_", "").toLowerCase(Locale.ROOT);
        return new RolloutPlanner.Answer(RolloutPlanner.Answer.Kind.FAILED, r.getMessage().isEmpty()
                ? "the agent answered " + status : "the agent answered " + status + ": " + r.getMessage(), 0);
    }

    /** Stores {@code next} with the events its change from {@code previous} makes, then tells the watchers. */
    private void save(Rollout previous, Rollout next) {
        List<Event> stored = journal.saveRollout(next, RolloutEvents.between(previous, next, clock.millis()));
        rollouts.put(next.rolloutId(), next);
        bus.publish(stored);
        watchers.publish(next.rolloutId(), next, ended(next));
        if (previous != null && previous.state() != next.state() && ended(next)) {
            log.info("Rollout {} of '{}' to {} ended {}: {}", next.rolloutId(), next.service(),
                    next.release().version(), next.state(), next.message());
        }
    }

    /** Every host as the engine knows it now, with the service as last reported, by host id. */
    private Map<String, RolloutHost> observe(String service) {
        return ServiceSnapshot.byHost(engine, service, (h, status) -> host(h.hostId(), h.hostname(), h.labels(),
                h.online(), h.lastSeenMillis(), status));
    }

    /** The planner's view of one host and its report of the service ({@code status} null: not reported). */
    static RolloutHost host(String hostId, String hostname, Map<String, String> labels, boolean online,
                            long lastSeenMillis, ServiceStatus status) {
        List<RolloutHost.Instance> instances = new ArrayList<>();
        List<RolloutHost.Finding> findings = new ArrayList<>();
        Map<String, Long> baselines = new HashMap<>();
        if (status != null) {
            for (InstanceView v : status.getInstancesList()) {
                instances.add(new RolloutHost.Instance(v.getIndex(),
                        v.getManagerState() == ManagerState.MANAGER_STATE_RUNNING,
                        v.getManagerState().name().replace("MANAGER_STATE_", ""), v.getManagerPid(),
                        // An agent that never applied a release runs the declared version.
                        v.getVersion().isEmpty() ? status.getVersion() : v.getVersion(),
                        ServiceSnapshot.available(v), v.getExpectedPortsList(), v.getBoundPortsList(),
                        v.hasRelease() ? RolloutMessages.fromProto(v.getRelease()) : null,
                        v.hasProbe() ? new RolloutHost.Probe(v.getProbe().getProbe(), v.getProbe().getOk(),
                                v.getProbe().getDetail(), v.getProbe().getPid()) : null));
            }
            for (Finding f : status.getFindingsList()) {
                findings.add(new RolloutHost.Finding(f.getCode(), f.getInstance(),
                        f.getCode().equals(RolloutGates.BASELINE_REGRESSED) ? regressedVersion(f) : "",
                        f.getSummary()));
            }
            for (MemoryBaseline b : status.getBaselinesList()) {
                baselines.putIfAbsent(b.getVersion(), b.getRssBytes()); // newest first
            }
        }
        return new RolloutHost(hostId, hostname, labels, online, lastSeenMillis,
                status == null ? -1 : status.getInstancesDeclared(), status == null ? "" : status.getVersion(),
                status == null ? 0 : Math.max(0, status.getMinAvailable()), instances, findings, baselines);
    }

    /** The version a MEMORY_BASELINE_REGRESSED finding is about: its "current" evidence is "VERSION: N MiB". */
    private static String regressedVersion(Finding f) {
        for (Evidence e : f.getEvidenceList()) {
            if (e.getLabel().equals(REGRESSED_EVIDENCE)) {
                int colon = e.getValue().lastIndexOf(": ");
                String v = colon >= 0 ? e.getValue().substring(0, colon) : e.getValue();
                return v.equals("(unlabelled)") ? "" : v;
            }
        }
        return "";
    }




    /** Stops deciding. Rollouts not ended stay stored as they are and resume at the next start. Idempotent. */
    @Override
    public void close() {
        thread.close();
    }

    /**
     * The events a change of a rollout makes: started, state changed, an instance healthy,
     * failed or rolled back, ended. Ids are unique by construction ("ctl-" + rollout id + what
     * changed). Stateless.
     */
    static final class RolloutEvents {
        private RolloutEvents() {
        }

        static List<Event> between(Rollout previous, Rollout next, long now) {
            List<Event> out = new ArrayList<>();
            String name = "rollout " + next.rolloutId() + " of " + next.service() + " to " + next.release().version();
            if (previous == null) {
                out.add(event(next, ROLLOUT_EVENT_HOST, now, Severity.SEVERITY_INFO, "ROLLOUT_STARTED", ":start",
                        name + " started: " + next.message()).build());
            }
            for (int k = 0; k < next.steps().size(); k++) {
                RolloutStep s = next.steps().get(k);
                RolloutStepState before = previous == null ? RolloutStepState.PENDING : previous.steps().get(k).state();
                if (before == s.state()) {
                    continue;
                }
                String kind;
                String what;
                Severity severity;
                switch (s.state()) {
                    case HEALTHY -> {
                        kind = "STEP_HEALTHY";
                        what = " healthy on " + next.release().version() + " (pid " + pid(s.oldPid()) + " -> "
                                + pid(s.newPid()) + ")";
                        severity = Severity.SEVERITY_INFO;
                    }
                    case FAILED -> {
                        kind = "STEP_FAILED";
                        what = " failed: " + s.message();
                        severity = Severity.SEVERITY_WARNING;
                    }
                    case ROLLED_BACK -> {
                        kind = "STEP_ROLLED_BACK";
                        what = " rolled back to " + s.previous().describe();
                        severity = Severity.SEVERITY_INFO;
                    }
                    default -> {
                        continue;
                    }
                }
                out.add(event(next, s.hostId(), now, severity, kind, ":step:" + k + ":" + s.state().name(),
                        "rollout " + next.rolloutId() + ": " + next.service() + "#" + s.instance() + what)
                        .putAttributes("instance", Integer.toString(s.instance()))
                        .putAttributes("old_pid", Integer.toString(s.oldPid()))
                        .putAttributes("new_pid", Integer.toString(s.newPid()))
                        .build());
            }
            if (previous != null && previous.state() != next.state()) {
                boolean end = ended(next);
                boolean bad = next.state() == RolloutState.FAILED || next.state() == RolloutState.ROLLING_BACK
                        || next.state() == RolloutState.ROLLED_BACK || next.state() == RolloutState.PAUSED;
                String state = next.state().name().toLowerCase(Locale.ROOT).replace('_', ' ');
                out.add(event(next, ROLLOUT_EVENT_HOST, now, bad ? Severity.SEVERITY_WARNING : Severity.SEVERITY_INFO,
                        end ? "ROLLOUT_ENDED" : "STATE_CHANGED",
                        (end ? ":end:" : ":state:") + next.state().name() + ":" + now,
                        name + " " + state + ": " + next.message()).build());
            }
            return out;
        }

        private static Event.Builder event(Rollout r, String hostId, long now, Severity severity, String kind,
                                           String idSuffix, String message) {
            return Event.newBuilder()
                    .setId("ctl-" + r.rolloutId() + idSuffix)
                    .setHostId(hostId)
                    .setTimeUnixMs(now)
                    .setType(EventType.EVENT_TYPE_ROLLOUT)
                    .setSeverity(severity)
                    .setMessage(message)
                    .putAttributes("rollout_id", r.rolloutId())
                    .putAttributes("kind", kind)
                    .putAttributes("service", r.service())
                    .putAttributes("version", r.release().version())
                    .putAttributes("state", r.state().name());
        }

        private static String pid(int pid) {
            return pid > 0 ? Integer.toString(pid) : "-";
        }
    }
}
