package dev.fleetkeeper.controller.recycle;

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
import dev.fleetkeeper.proto.v1.InstanceView;
import dev.fleetkeeper.proto.v1.Severity;
import io.micrometer.core.instrument.MeterRegistry;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs fleet-wide recycle jobs: on every tick it observes the fleet (through the
 * {@link FleetEngine}'s queries), asks {@link RecyclePlanner} what to do, stores the resulting
 * job and its events in the {@link RecycleJournal} (synchronously, before anything is sent),
 * then sends the recycle actions with the ids it stored. On start it loads the stored jobs and
 * resumes those not ended: a step that was SENT is sent again with the same id.
 *
 * <p><b>Threading.</b> All job state lives on one thread, {@code fleetkeeper-recycle}; public
 * methods may be called from any thread and return futures completed there. Watchers are
 * called on that thread and must not block. Owns its thread; not the engine or the journal.
 */
public final class RecycleCoordinator implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RecycleCoordinator.class);
    /** Host id of the events about a whole job, which concern no single host. */
    public static final String JOB_EVENT_HOST = "controller";
    /** Jobs listed when the caller does not say. */
    public static final int DEFAULT_LIST_LIMIT = 50;

    private final RecycleJournal journal;
    private final FleetEngine engine;
    private final EventBus bus;
    private final InstantSource clock;
    private final Duration tickInterval;
    private final CoordinatorThread thread;
    private final SecureRandom random = new SecureRandom();

    // Recycle-thread state.
    private final Map<String, RecycleJob> jobs = new LinkedHashMap<>();
    private final Set<String> awaiting = new HashSet<>();
    private final Watchers<RecycleJob> watchers;

    /**
     * @param tickInterval how often running jobs are re-decided (also after every answer)
     */
    public RecycleCoordinator(RecycleJournal journal, FleetEngine engine, InstantSource clock, Duration tickInterval,
                              MeterRegistry registry) {
        if (tickInterval.isNegative() || tickInterval.isZero()) {
            throw new IllegalArgumentException("tickInterval: " + tickInterval + " (expected: > 0)");
        }
        this.journal = journal;
        this.engine = engine;
        this.bus = engine.events();
        this.clock = clock;
        this.tickInterval = tickInterval;
        this.thread = new CoordinatorThread("recycle", "Recycle coordinator", registry);
        this.watchers = new Watchers<>(thread, "recycle watcher");
    }

    /** Loads the stored jobs and starts deciding; jobs not ended resume. */
    public void start() {
        CompletableFuture<Void> loaded = thread.call(() -> {
            for (RecycleJob j : journal.recycleJobs()) {
                jobs.put(j.jobId(), j);
                if (!j.state().isTerminal()) {
                    log.info("Resuming recycle job {} of '{}': {}", j.jobId(), j.service(), j.message());
                }
            }
            return null;
        });
        CoordinatorThread.join(loaded);
        thread.tickEvery(tickInterval, this::tick);
    }

    // ---------------------------------------------------------------- API (any thread)

    /**
     * Starts a recycle: plans it over the hosts as they are now, stores it, and takes its first
     * decision. Fails with {@link RecycleRefusedException} when no host matches or a job of the
     * same service is still running.
     */
    public CompletableFuture<RecycleJob> start(RecycleRequest request) {
        return thread.call(() -> {
            for (RecycleJob j : jobs.values()) {
                if (j.service().equals(request.service()) && !j.state().isTerminal()) {
                    throw new RecycleRefusedException("recycle " + j.jobId() + " of '" + j.service()
                            + "' is still running (" + j.message() + "); follow it with 'fleetkeeper recycle --status "
                            + j.jobId() + "' or stop it with 'fleetkeeper recycle --abort " + j.jobId() + "'");
                }
            }
            long now = clock.millis();
            String id = String.format(Locale.ROOT, "rc-%012x-%04x", now, random.nextInt(0x10000));
            RecycleJob job = RecyclePlanner.plan(id, request, observe(request.service()).values(), now);
            save(null, job);
            log.info("Recycle job {} of '{}' accepted: {} (max {} at once, floor {})", id, job.service(),
                    job.message(), job.maxParallel(), MinAvailable.parse(job.minAvailable()));
            advance(job.jobId());
            return jobs.get(id);
        });
    }

    /** One job. */
    public CompletableFuture<RecycleJob> get(String jobId) {
        return thread.call(() -> find(jobId));
    }

    /** Jobs, newest first, of {@code service} ("" for all), at most {@code limit} (0: the default). */
    public CompletableFuture<List<RecycleJob>> list(String service, int limit) {
        return thread.call(() -> {
            List<RecycleJob> out = new ArrayList<>();
            for (RecycleJob j : jobs.values()) {
                if (service.isEmpty() || j.service().equals(service)) {
                    out.add(j);
                }
            }
            out.sort(Comparator.comparing(RecycleJob::jobId).reversed());
            return List.copyOf(out.subList(0, Math.min(out.size(), limit <= 0 ? DEFAULT_LIST_LIMIT : limit)));
        });
    }

    /** Stops a job: no further instance is recycled; those in flight finish on their hosts. */
    public CompletableFuture<RecycleJob> abort(String jobId) {
        return thread.call(() -> {
            RecycleJob job = find(jobId);
            RecycleJob next = RecyclePlanner.abort(job, clock.millis());
            if (next != job) {
                save(job, next);
            }
            return jobs.get(jobId);
        });
    }

    /**
     * Calls {@code watcher} with the job now and after every change, until it ends (the last
     * call carries the ended job). The returned handle stops the calls.
     */
    public CompletableFuture<AutoCloseable> watch(String jobId, Consumer<RecycleJob> watcher) {
        return thread.call(() -> {
            RecycleJob job = find(jobId);
            return watchers.add(jobId, job, job.state().isTerminal(), watcher);
        });
    }

    // ---------------------------------------------------------------- recycle thread

    private RecycleJob find(String jobId) {
        RecycleJob job = jobs.get(jobId);
        if (job == null) {
            throw new RecycleJobNotFoundException(jobId);
        }
        return job;
    }

    private void tick() {
        for (String id : List.copyOf(jobs.keySet())) {
            if (!jobs.get(id).state().isTerminal()) {
                thread.guarded("job " + id, () -> advance(id));
            }
        }
    }

    /** One decision for the job, stored, then carried out. */
    private void advance(String jobId) {
        RecycleJob job = jobs.get(jobId);
        long now = clock.millis();
        RecyclePlanner.Decision d = RecyclePlanner.decide(job, observe(job.service()), Set.copyOf(awaiting), now);
        if (!d.job().equals(job)) {
            save(job, d.job());
        }
        for (RecyclePlanner.Send s : d.sends()) {
            send(d.job(), s.step(), now);
        }
    }

    private void send(RecycleJob job, RecycleStep step, long now) {
        String id = step.actionId();
        long left = Math.max(1000, step.sentAtMillis() + job.stepTimeoutMillis() - now);
        CompletableFuture<ActionReply> reply;
        try {
            reply = engine.sendAction(step.hostId(), id, new AgentAction.RecycleInstance(job.service(),
                    step.instance(), job.reason(), job.jobId()), Duration.ofMillis(left));
        } catch (RuntimeException e) {
            log.warn("Could not send recycle {} of {}: {}", id, step.describe(job.service()), e.toString());
            return;
        }
        awaiting.add(id);
        reply.whenComplete((r, error) -> {
            // Once stopping, dropped: the step stays SENT in the store and is re-sent after the restart.
            thread.execute("answer " + id, () -> onReply(job.jobId(), id, r, error));
        });
    }

    private void onReply(String jobId, String actionId, ActionReply reply, Throwable error) {
        awaiting.remove(actionId);
        RecycleJob job = jobs.get(jobId);
        if (error != null) {
            Throwable cause = error.getCause() != null ? error.getCause() : error;
            if (cause instanceof HostOfflineException) {
                log.debug("Recycle {} waits for its host: {}", actionId, cause.getMessage());
            } else {
                log.warn("Recycle {} of job {} not answered yet: {}; it is re-sent with the same id", actionId, jobId,
                        cause.toString());
            }
            return;
        }
        ActionResult r = reply.result();
        RecyclePlanner.Answer.Kind kind = r.getStatus() == ActionStatus.ACTION_STATUS_SUCCEEDED
                ? RecyclePlanner.Answer.Kind.SUCCEEDED
                : r.getStatus() == ActionStatus.ACTION_STATUS_DUPLICATE ? RecyclePlanner.Answer.Kind.DUPLICATE
                : RecyclePlanner.Answer.Kind.FAILED;
        RecycleJob next = RecyclePlanner.answered(job, actionId,
                new RecyclePlanner.Answer(kind, r.getMessage(), r.getRecycle().getOldPid(), r.getRecycle().getNewPid()),
                clock.millis());
        if (next != job) {
            save(job, next);
        }
    }

    /** Stores {@code next} with the events its change from {@code previous} makes, then tells the watchers. */
    private void save(RecycleJob previous, RecycleJob next) {
        List<Event> stored = journal.saveRecycleJob(next, RecycleEvents.between(previous, next, clock.millis()));
        jobs.put(next.jobId(), next);
        bus.publish(stored);
        watchers.publish(next.jobId(), next, next.state().isTerminal());
        if (next.state().isTerminal() && (previous == null || !previous.state().isTerminal())) {
            log.info("Recycle job {} of '{}' ended {}: {}", next.jobId(), next.service(), next.state(), next.message());
        }
    }

    /** Every host as the engine knows it now, with the service's instances as last reported. */
    private Map<String, HostObservation> observe(String service) {
        return ServiceSnapshot.byHost(engine, service, (h, status) -> {
            List<HostObservation.Instance> instances = new ArrayList<>();
            if (status != null) {
                for (InstanceView v : status.getInstancesList()) {
                    instances.add(new HostObservation.Instance(v.getIndex(), v.getManagerPid(),
                            ServiceSnapshot.available(v), v.getManagerState().name().replace("MANAGER_STATE_", "")));
                }
            }
            return new HostObservation(h.hostId(), h.hostname(), h.labels(), h.online(), h.lastSeenMillis(),
                    status == null ? -1 : status.getInstancesDeclared(), instances);
        });
    }

    /** Stops deciding. Jobs not ended stay stored as they are and resume at the next start. Idempotent. */
    @Override
    public void close() {
        thread.close();
    }

    /** The events a change of a job makes: job started, step done or failed, job ended. Stateless. */
    static final class RecycleEvents {
        private RecycleEvents() {
        }

        static List<Event> between(RecycleJob previous, RecycleJob next, long now) {
            List<Event> out = new ArrayList<>();
            boolean wasStarted = previous != null && previous.state() != JobState.PENDING;
            if (!wasStarted && next.state() != JobState.PENDING) {
                out.add(event(next, JOB_EVENT_HOST, now, Severity.SEVERITY_INFO, "JOB_STARTED", ":start",
                        "recycle " + next.jobId() + " of " + next.service() + " started: " + next.steps().size()
                                + " instance(s), at most " + next.maxParallel() + " at once, floor "
                                + MinAvailable.parse(next.minAvailable()) + " per host").build());
            }
            for (int k = 0; k < next.steps().size(); k++) {
                RecycleStep s = next.steps().get(k);
                StepState before = previous == null ? StepState.PENDING : previous.steps().get(k).state();
                if (before == s.state() || !s.state().isTerminal()) {
                    continue;
                }
                boolean ok = s.state() == StepState.DONE;
                out.add(event(next, s.hostId(), now, ok ? Severity.SEVERITY_INFO : Severity.SEVERITY_WARNING,
                        ok ? "STEP_DONE" : "STEP_FAILED", ":step:" + k,
                        "recycle " + next.jobId() + ": " + next.service() + "#" + s.instance()
                                + (ok ? " recycled (pid " + pid(s.oldPid()) + " -> " + pid(s.newPid()) + ")"
                                : " failed: " + s.message()))
                        .putAttributes("instance", Integer.toString(s.instance()))
                        .putAttributes("old_pid", Integer.toString(s.oldPid()))
                        .putAttributes("new_pid", Integer.toString(s.newPid()))
                        .build());
            }
            if (next.state().isTerminal() && (previous == null || !previous.state().isTerminal())) {
                out.add(event(next, JOB_EVENT_HOST, now, next.state() == JobState.SUCCEEDED ? Severity.SEVERITY_INFO
                        : Severity.SEVERITY_WARNING, "JOB_ENDED", ":end", "recycle " + next.jobId() + " of "
                        + next.service() + " " + next.state().name().toLowerCase(Locale.ROOT) + ": " + next.message())
                        .putAttributes("state", next.state().name())
                        .build());
            }
            return out;
        }

        private static Event.Builder event(RecycleJob job, String hostId, long now, Severity severity, String kind,
                                           String idSuffix, String message) {
            return Event.newBuilder()
                    .setId("ctl-" + job.jobId() + idSuffix)
                    .setHostId(hostId)
                    .setTimeUnixMs(now)
                    .setType(EventType.EVENT_TYPE_RECYCLE)
                    .setSeverity(severity)
                    .setMessage(message)
                    .putAttributes("job_id", job.jobId())
                    .putAttributes("kind", kind)
                    .putAttributes("service", job.service());
        }

        private static String pid(int pid) {
            return pid > 0 ? Integer.toString(pid) : "-";
        }
    }
}
