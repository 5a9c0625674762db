package dev.fleetkeeper.controller.store;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;

/**
 * Every key byte layout of the store, and nothing else; stateless.
 *
 * <p>Integers are big-endian so that RocksDB's bytewise order is numeric order; times and
 * sequences are never negative (checked at the edge), so their sign bit is always clear.
 *
 * <pre>
 * column family  key                                                          bytes
 * meta           "schema_version"                                 → u32       14
 *                "next_event_sequence"                            → u64       19
 *                "next_host_number"                               → u32       16
 *                "host_number/" host id (UTF-8)                   → u32       12+n
 *                "event_hour/" u64 hour                           → u64       19
 * hosts          host id (UTF-8)                                  → StoredHost
 * latest_state   host id (UTF-8)                                  → StoredState
 * memory         u64 hour, u32 host number, 16 boot id, i32 pid,
 *                u64 start ticks, u64 time ms                     → StoredMemoryPoint  48
 * events         u64 sequence                                     → StoredEvent        8
 * event_ids      u64 hour stored, event id (UTF-8)                → u64 sequence       8+n
 * service_reports host id (UTF-8)                                 → StoredServiceReport
 * action_results action id (UTF-8)                                → StoredActionResult n
 * </pre>
 *
 * <p>Action ids the controller issues begin with the issue time as 12 lowercase hex digits of
 * milliseconds ({@link #actionIdPrefix}), so that {@code action_results} is in issue order and
 * expires like the time-ordered families: one {@code DeleteRange} up to the first id kept.
 *
 * <p>"hour" is {@code floor(millis / 3 600 000)}. Putting it first in the time-ordered column
 * families is what makes expiry one {@code DeleteRange} per column family: everything before
 * the first hour still kept. In {@code event_ids} and {@code meta/event_hour/} the hour is the
 * controller's clock at commit, not the event's own time, so an agent's wrong clock can neither
 * keep events forever nor drop them early.
 */
final class Keys {
    /** Width of one time bucket, in milliseconds. Part of the format. */
    static final long BUCKET_MILLIS = 3_600_000L;

    static final byte[] SCHEMA_VERSION = ascii("schema_version");
    static final byte[] NEXT_EVENT_SEQUENCE = ascii("next_event_sequence");
    static final byte[] NEXT_HOST_NUMBER = ascii("next_host_number");
    static final byte[] HOST_NUMBER_PREFIX = ascii("host_number/");
    static final byte[] EVENT_HOUR_PREFIX = ascii("event_hour/");

    /** Length of a memory key up to (excluding) its time: what one series shares in a bucket. */
    static final int MEMORY_SERIES_PREFIX_LENGTH = 8 + 4 + 16 + 4 + 8;
    static final int MEMORY_KEY_LENGTH = MEMORY_SERIES_PREFIX_LENGTH + 8;

    private Keys() {}

    static long bucket(long millis) {
        return Math.floorDiv(millis, BUCKET_MILLIS);
    }

    static long bucketStartMillis(long bucket) {
        return bucket * BUCKET_MILLIS;
    }

    // ---- meta

    static byte[] hostNumber(String hostId) {
        return concat(HOST_NUMBER_PREFIX, utf8(hostId));
    }

    static String hostIdOfHostNumberKey(byte[] key) {
        return new String(key, HOST_NUMBER_PREFIX.length, key.length - HOST_NUMBER_PREFIX.length,
                StandardCharsets.UTF_8);
    }

    static byte[] eventHour(long hour) {
        return concat(EVENT_HOUR_PREFIX, u64(hour));
    }

    static long hourOfEventHourKey(byte[] key) {
        return ByteBuffer.wrap(key, EVENT_HOUR_PREFIX.length, 8).getLong();
    }

    // ---- hosts, latest_state

    static byte[] host(String hostId) {
        return utf8(hostId);
    }

    static String hostIdOfHostKey(byte[] key) {
        return new String(key, StandardCharsets.UTF_8);
    }

    static byte[] latestState(String hostId) {
        return utf8(hostId);
    }

    // ---- memory

    static byte[] memory(int hostNumber, UUID bootId, int pid, long startTicks, long timeMillis) {
        return ByteBuffer.allocate(MEMORY_KEY_LENGTH)
                .put(memorySeriesPrefix(bucket(timeMillis), hostNumber, bootId, pid, startTicks))
                .putLong(timeMillis)
                .array();
    }

    static byte[] memorySeriesPrefix(long hour, int hostNumber, UUID bootId, int pid, long startTicks) {
        return ByteBuffer.allocate(MEMORY_SERIES_PREFIX_LENGTH)
                .putLong(hour)
                .putInt(hostNumber)
                .putLong(bootId.getMostSignificantBits())
                .putLong(bootId.getLeastSignificantBits())
                .putInt(pid)
                .putLong(startTicks)
                .array();
    }

    /** First possible memory key of an hour: expiry deletes {@code [memoryHour(0), memoryHour(h))}. */
    static byte[] memoryHour(long hour) {
        return u64(hour);
    }

    static long hourOfMemoryKey(byte[] key) {
        return ByteBuffer.wrap(key, 0, 8).getLong();
    }

    static long timeOfMemoryKey(byte[] key) {
        return ByteBuffer.wrap(key, MEMORY_SERIES_PREFIX_LENGTH, 8).getLong();
    }

    // ---- events, event_ids

    static byte[] event(long sequence) {
        return u64(sequence);
    }

    static long sequenceOfEventKey(byte[] key) {
        return ByteBuffer.wrap(key).getLong();
    }

    static byte[] eventId(long hourStored, String eventId) {
        return concat(u64(hourStored), utf8(eventId));
    }

    /** First possible event id key of an hour: expiry deletes {@code [eventIdHour(0), eventIdHour(h))}. */
    static byte[] eventIdHour(long hour) {
        return u64(hour);
    }

    // ---- service_reports, action_results

    static byte[] serviceReport(String hostId) {
        return utf8(hostId);
    }

    static String hostIdOfServiceReportKey(byte[] key) {
        return new String(key, StandardCharsets.UTF_8);
    }

    /** A recycle job's key: its id, which starts with its creation time, so keys sort by age. */
    static byte[] recycleJob(String jobId) {
        return utf8(jobId);
    }

    /** A rollout's key: its id, which starts with its creation time, so keys sort by age. */
    static byte[] rollout(String rolloutId) {
        return utf8(rolloutId);
    }

    static byte[] actionResult(String actionId) {
        return utf8(actionId);
    }

    /**
     * The first 12 characters of every action id issued at {@code millis}: lowercase hex, zero
     * padded, so that ids sort by issue time (until the year 10889).
     */
    static String actionIdPrefix(long millis) {
        Preconditions.checkNotNegative("millis", millis);
        String hex = Long.toHexString(millis);
        return "0".repeat(Math.max(0, 12 - hex.length())) + hex;
    }

    /** First action result key issued at {@code millis}: expiry deletes {@code [actionsIssuedFrom(0), actionsIssuedFrom(cut))}. */
    static byte[] actionsIssuedFrom(long millis) {
        return ascii(actionIdPrefix(millis));
    }

    // ---- boot ids

    /**
     * Parses a boot id as the kernel prints it ({@code /proc/sys/kernel/random/boot_id}) into the
     * 16 bytes the memory keys hold.
     */
    static UUID bootId(String bootId) {
        try {
            return UUID.fromString(bootId);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bootId: \"" + bootId
                    + "\" (expected: a UUID as in /proc/sys/kernel/random/boot_id)", e);
        }
    }

    // ---- fixed-width values, also used for meta values

    static byte[] u32(int value) {
        return ByteBuffer.allocate(4).putInt(value).array();
    }

    static byte[] u64(long value) {
        return ByteBuffer.allocate(8).putLong(value).array();
    }

    static int readU32(byte[] bytes) {
        checkLength(bytes, 4);
        return ByteBuffer.wrap(bytes).getInt();
    }

    static long readU64(byte[] bytes) {
        checkLength(bytes, 8);
        return ByteBuffer.wrap(bytes).getLong();
    }

    static boolean startsWith(byte[] bytes, byte[] prefix) {
        return bytes.length >= prefix.length
                && Arrays.equals(bytes, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static void checkLength(byte[] bytes, int expected) {
        if (bytes.length != expected) {
            throw new CorruptValueException(
                    "value of " + bytes.length + " bytes (expected: " + expected + ")");
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
