package dev.fleetkeeper.controller.store;

import java.time.Duration;
import java.util.Objects;

/**
 * How the store keeps data: retention, durability, cache. Immutable; validated on construction.
 *
 * @param memoryRetention how long memory points are kept (default 48 h; at least 1 h). Expiry
 *     drops whole hours, so a point lives between this and this plus one hour.
 * @param eventRetention how long events are kept after they were stored (default 14 days; at
 *     least 1 h), again in whole hours
 * @param eventDedupWindow how long an event id is remembered so that an agent's resend is stored
 *     once (default 24 h; between 0 and {@code eventRetention}). Each new event with an id costs
 *     one bloom-filtered lookup per hour of this window.
 * @param syncWrites whether a commit returns only after its WAL record is fsynced (default
 *     true). Without it a commit survives a controller crash but not a power loss or kernel crash.
 * @param blockCacheBytes size of the block cache shared by all column families (default 64 MiB;
 *     at least 1 MiB)
 */
public record StoreOptions(
        Duration memoryRetention,
        Duration eventRetention,
        Duration eventDedupWindow,
        boolean syncWrites,
        long blockCacheBytes) {

    public static final Duration DEFAULT_MEMORY_RETENTION = Duration.ofHours(48);
    public static final Duration DEFAULT_EVENT_RETENTION = Duration.ofDays(14);
    public static final Duration DEFAULT_EVENT_DEDUP_WINDOW = Duration.ofHours(24);
    public static final boolean DEFAULT_SYNC_WRITES = true;
    public static final long DEFAULT_BLOCK_CACHE_BYTES = 64L << 20;

    private static final Duration MIN_RETENTION = Duration.ofMillis(Keys.BUCKET_MILLIS);

    public StoreOptions {
        checkRetention("memoryRetention", memoryRetention);
        checkRetention("eventRetention", eventRetention);
        Objects.requireNonNull(eventDedupWindow, "eventDedupWindow");
        if (eventDedupWindow.isNegative() || eventDedupWindow.compareTo(eventRetention) > 0) {
            throw new IllegalArgumentException("eventDedupWindow: " + eventDedupWindow
                    + " (expected: >= 0 and <= eventRetention " + eventRetention + ")");
        }
        if (blockCacheBytes < (1L << 20)) {
            throw new IllegalArgumentException(
                    "blockCacheBytes: " + blockCacheBytes + " (expected: >= 1048576)");
        }
    }

    /** The defaults listed on each component. */
    public static StoreOptions defaults() {
        return new StoreOptions(DEFAULT_MEMORY_RETENTION, DEFAULT_EVENT_RETENTION,
                DEFAULT_EVENT_DEDUP_WINDOW, DEFAULT_SYNC_WRITES, DEFAULT_BLOCK_CACHE_BYTES);
    }

    public StoreOptions withMemoryRetention(Duration value) {
        return new StoreOptions(value, eventRetention, eventDedupWindow, syncWrites, blockCacheBytes);
    }

    public StoreOptions withEventRetention(Duration value) {
        return new StoreOptions(memoryRetention, value, eventDedupWindow, syncWrites, blockCacheBytes);
    }

    public StoreOptions withEventDedupWindow(Duration value) {
        return new StoreOptions(memoryRetention, eventRetention, value, syncWrites, blockCacheBytes);
    }

    public StoreOptions withSyncWrites(boolean value) {
        return new StoreOptions(memoryRetention, eventRetention, eventDedupWindow, value, blockCacheBytes);
    }

    public StoreOptions withBlockCacheBytes(long value) {
        return new StoreOptions(memoryRetention, eventRetention, eventDedupWindow, syncWrites, value);
    }

    private static void checkRetention(String name, Duration value) {
        Objects.requireNonNull(value, name);
        if (value.compareTo(MIN_RETENTION) < 0 || value.compareTo(Duration.ofDays(36_500)) > 0) {
            throw new IllegalArgumentException(
                    name + ": " + value + " (expected: between 1 h and 36500 days)");
        }
    }
}
