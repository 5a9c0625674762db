package dev.fleetkeeper.controller.rollout;

import dev.fleetkeeper.proto.v1.Event;
import java.util.List;

/**
 * Where rollouts are kept durably: implemented by the controller's store, and by an in-memory
 * fake in tests. Implementations are thread-safe.
 */
public interface RolloutJournal {

    /**
     * Stores {@code rollout} (replacing its previous version) and appends {@code events},
     * atomically and durably, before returning.
     *
     * @return the events as stored, with their sequences
     */
    List<Event> saveRollout(Rollout rollout, List<Event> events);

    /** Every stored rollout, oldest first. */
    List<Rollout> rollouts();
}
