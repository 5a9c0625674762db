package dev.fleetkeeper.controller.store;

import dev.fleetkeeper.proto.v1.EventType;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Which events {@link FleetStore#events} returns. Immutable; start from {@link #newest(int)} or
 * {@link #oldest(int)} and narrow with the {@code with*} methods.
 *
 * <p>The matching events are those with a sequence above {@code afterSequence}, of the host (if
 * given), of one of the types (if any given) and with a time at or after {@code sinceMillis}.
 * Of those, at most {@code limit} are returned, always in sequence order (oldest first):
 * the newest ones for a listing, the oldest ones for a reader that pages through the log with
 * {@code afterSequence} set to the last sequence it saw and must not skip any.
 *
 * @param hostId only events of this host, when present
 * @param sinceMillis only events whose time is at or after this, ms since the Unix epoch
 * @param types only events of these types; empty means every type
 * @param afterSequence only events with a larger sequence (0: from the start)
 * @param limit most events returned, 1 to 100 000
 * @param newest keep the newest {@code limit} matching events (true) or the oldest (false)
 */
public record EventQuery(
        Optional<String> hostId, long sinceMillis, Set<EventType> types, long afterSequence, int limit,
        boolean newest) {

    public static final int MAX_LIMIT = 100_000;

    public EventQuery {
        Objects.requireNonNull(hostId, "hostId");
        hostId.ifPresent(Preconditions::checkHostId);
        Preconditions.checkNotNegative("sinceMillis", sinceMillis);
        types = Set.copyOf(types);
        Preconditions.checkNotNegative("afterSequence", afterSequence);
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit: " + limit + " (expected: 1 to " + MAX_LIMIT + ")");
        }
    }

    /**
     * The newest {@code limit} matching events.
     *
     * @param hostId only this host's events, or null for every host
     */
    public EventQuery(String hostId, long sinceMillis, Set<EventType> types, long afterSequence, int limit) {
        this(Optional.ofNullable(hostId), sinceMillis, types, afterSequence, limit, true);
    }

    /** The newest {@code limit} events of every host and type. */
    public static EventQuery newest(int limit) {
        return new EventQuery(Optional.empty(), 0, Set.of(), 0, limit, true);
    }

    /** The oldest {@code limit} events of every host and type: for paging forward. */
    public static EventQuery oldest(int limit) {
        return new EventQuery(Optional.empty(), 0, Set.of(), 0, limit, false);
    }

    public EventQuery withHostId(String value) {
        return new EventQuery(Optional.of(value), sinceMillis, types, afterSequence, limit, newest);
    }

    public EventQuery withSinceMillis(long value) {
        return new EventQuery(hostId, value, types, afterSequence, limit, newest);
    }

    public EventQuery withTypes(Set<EventType> value) {
        return new EventQuery(hostId, sinceMillis, value, afterSequence, limit, newest);
    }

    public EventQuery withAfterSequence(long value) {
        return new EventQuery(hostId, sinceMillis, types, value, limit, newest);
    }
}
