package dev.fleetkeeper.controller.store;

import java.nio.charset.StandardCharsets;

/**
 * The store's column families. Their names are part of the on-disk format: renaming one loses
 * its data. Families are only ever appended: an older store gains the new ones on open (missing
 * column families of ours are created, foreign ones refused).
 */
enum ColumnFamily {
    /** Schema version, counters, host numbers, the event hour index. See {@link Keys}. */
    META("meta"),
    /** Host id → {@code StoredHost}. */
    HOSTS("hosts"),
    /** Host id → {@code StoredState}: the newest full state of each host. */
    LATEST_STATE("latest_state"),
    /** (hour, host number, boot, pid, start ticks, time) → {@code StoredMemoryPoint}. */
    MEMORY("memory"),
    /** Sequence → {@code StoredEvent}. */
    EVENTS("events"),
    /** (hour stored, event id) → sequence: recognises an event an agent sends again. */
    EVENT_IDS("event_ids"),
    /** Host id → {@code StoredServiceReport}: each host's newest service report. */
    SERVICE_REPORTS("service_reports"),
    /** Action id → {@code StoredActionResult}: the first result of each action, with its output. */
    ACTION_RESULTS("action_results"),
    /** Job id → {@code StoredRecycleJob}: fleet-wide recycle jobs with their steps. */
    RECYCLE_JOBS("recycle_jobs"),
    /** Rollout id → {@code fleetkeeper.v1.Rollout}: rollouts with their steps, as the admin API shows them. */
    ROLLOUTS("rollouts");

    private final String dbName;

    ColumnFamily(String dbName) {
        this.dbName = dbName;
    }

    String dbName() {
        return dbName;
    }

    byte[] nameBytes() {
        return dbName.getBytes(StandardCharsets.UTF_8);
    }
}
