package dev.fleetkeeper.controller.store;

import dev.fleetkeeper.controller.recycle.RecycleJob;
import dev.fleetkeeper.controller.rollout.Rollout;
import dev.fleetkeeper.proto.v1.ActionResult;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.Snapshot;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * Writes to apply to a {@link FleetStore} atomically, in the order they were added. Not
 * thread-safe: one thread fills it, then hands it to {@link FleetStore#commit}; a batch is
 * committed at most once. Made by {@link FleetStore#newBatch()}; holds no native resources,
 * so an abandoned batch needs no cleanup.
 *
 * <p>Values are encoded as they are added, on the caller's thread, so that the commit (which
 * is serialized) only assigns host numbers and event sequences and writes.
 */
public final class StoreBatch {
    /** A put whose key and value are known when it is added. */
    record Put(ColumnFamily family, byte[] key, byte[] value) {}

    /** A memory point: its key needs the host number, which the commit assigns. */
    record PendingPoint(String hostId, UUID bootId, int pid, long startTicks, long timeMillis, byte[] value) {}

    private final FleetStore owner;
    private final InstantSource clock;
    private final List<Put> puts = new ArrayList<>();
    private final List<PendingPoint> points = new ArrayList<>();
    /** An event to append; {@code dedup}: look its id up in the dedup window first. */
    record PendingEvent(Event event, boolean dedup) {}
    private final List<PendingEvent> events = new ArrayList<>();
    /** An action result to store unless one with its id is stored already (first copy wins). */
    record PendingResult(String actionId, byte[] key, byte[] value) {}
    private final List<PendingResult> results = new ArrayList<>();
    // Read by the committing thread, set by it after a successful write.
    private volatile boolean committed;

    StoreBatch(FleetStore owner, InstantSource clock) {
        this.owner = owner;
        this.clock = clock;
    }

    /** Creates or replaces the host's record. */
    public StoreBatch putHost(HostRecord host) {
        Objects.requireNonNull(host, "host");
        checkOpen();
        puts.add(new Put(ColumnFamily.HOSTS, Keys.host(host.hostId()), Values.host(host)));
        return this;
    }

    /** Replaces the host's latest full state. */
    public StoreBatch putLatestState(String hostId, Snapshot snapshot) {
        Preconditions.checkHostId(hostId);
        Objects.requireNonNull(snapshot, "snapshot");
        checkOpen();
        puts.add(new Put(ColumnFamily.LATEST_STATE, Keys.latestState(hostId),
                Values.state(snapshot, clock.millis())));
        return this;
    }

    /** Replaces the host's latest service report. */
    public StoreBatch putServiceReport(String hostId, ServiceReport report) {
        Preconditions.checkHostId(hostId);
        Objects.requireNonNull(report, "report");
        checkOpen();
        puts.add(new Put(ColumnFamily.SERVICE_REPORTS, Keys.serviceReport(hostId),
                Values.serviceReport(report, clock.millis())));
        return this;
    }

    /** Creates or replaces a recycle job with all its steps. */
    public StoreBatch putRecycleJob(RecycleJob job) {
        Objects.requireNonNull(job, "job");
        checkOpen();
        puts.add(new Put(ColumnFamily.RECYCLE_JOBS, Keys.recycleJob(job.jobId()), Values.recycleJob(job)));
        return this;
    }

    /** Creates or replaces a rollout with all its steps. */
    public StoreBatch putRollout(Rollout rollout) {
        Objects.requireNonNull(rollout, "rollout");
        checkOpen();
        puts.add(new Put(ColumnFamily.ROLLOUTS, Keys.rollout(rollout.rolloutId()), Values.rollout(rollout)));
        return this;
    }

    /**
     * Stores an action's result from {@code hostId}, unless a result with the same action id is
     * stored already (by an earlier commit or earlier in this one): an agent resends results
     * until they are acknowledged, and a resent copy, or a later DUPLICATE answer, must not
     * replace the first.
     */
    public StoreBatch addActionResult(String hostId, ActionResult result) {
        Preconditions.checkHostId(hostId);
        Objects.requireNonNull(result, "result");
        if (result.getActionId().isEmpty()) {
            throw new IllegalArgumentException("result.action_id: \"\" (expected: the id of the action)");
        }
        checkOpen();
        results.add(new PendingResult(result.getActionId(), Keys.actionResult(result.getActionId()),
                Values.actionResult(hostId, result, clock.millis())));
        return this;
    }

    /**
     * Adds one memory sample of the process {@code (pid, startTicks)} of boot {@code bootId} on
     * the host; a second point with the same identity and time replaces the first.
     */
    public StoreBatch addMemoryPoint(String hostId, String bootId, int pid, long startTicks, MemoryPoint point) {
        Preconditions.checkHostId(hostId);
        UUID boot = Keys.bootId(Objects.requireNonNull(bootId, "bootId"));
        Preconditions.checkNotNegative("pid", pid);
        Preconditions.checkNotNegative("startTicks", startTicks);
        Objects.requireNonNull(point, "point");
        checkOpen();
        points.add(new PendingPoint(hostId, boot, pid, startTicks, point.timeMillis(), Values.memoryPoint(point)));
        return this;
    }

    /**
     * Appends an event. The commit assigns its sequence, or, if an event with the same non-empty
     * id was stored within the dedup window, leaves it out; the commit's result lists the events
     * it stored.
     */
    public StoreBatch appendEvent(Event event) {
        return append(event, true);
    }

    /**
     * Appends an event whose id is unique by construction (the controller's own events), so it
     * is stored without the dedup lookups (one per hour of the window) and without an id index
     * entry; only events an agent may send again need those.
     */
    public StoreBatch appendUniqueEvent(Event event) {
        return append(event, false);
    }

    private StoreBatch append(Event event, boolean dedup) {
        Objects.requireNonNull(event, "event");
        Preconditions.checkHostId(event.getHostId());
        Preconditions.checkNotNegative("event.time_unix_ms", event.getTimeUnixMs());
        if (event.getSequence() != 0) {
            throw new IllegalArgumentException("event.sequence: " + event.getSequence()
                    + " (expected: 0; the store assigns sequences)");
        }
        checkOpen();
        events.add(new PendingEvent(event, dedup));
        return this;
    }

    /** Whether nothing was added. */
    public boolean isEmpty() {
        return puts.isEmpty() && points.isEmpty() && events.isEmpty() && results.isEmpty();
    }

    FleetStore owner() {
        return owner;
    }

    List<Put> puts() {
        return puts;
    }

    List<PendingPoint> points() {
        return points;
    }

    List<PendingResult> results() {
        return results;
    }

    List<PendingEvent> events() {
        return events;
    }

    boolean isCommitted() {
        return committed;
    }

    void markCommitted() {
        committed = true;
    }

    private void checkOpen() {
        if (committed) {
            throw new IllegalStateException("batch already committed (expected: a new batch from FleetStore.newBatch())");
        }
    }
}
