package dev.fleetkeeper.controller.recycle;

import dev.fleetkeeper.proto.v1.Event;
import java.util.List;

/**
 * Where recycle jobs are kept durably: implemented by the controller's store, and by an
 * in-memory fake in tests. Implementations are thread-safe.
 */
public interface RecycleJournal {

    /**
     * Stores {@code job} (replacing its previous version) and appends {@code events}, atomically
     * and durably, before returning.
     *
     * @return the events as stored, with their sequences
     */
    List<Event> saveRecycleJob(RecycleJob job, List<Event> events);

    /** Every stored job, oldest first. */
    List<RecycleJob> recycleJobs();
}
