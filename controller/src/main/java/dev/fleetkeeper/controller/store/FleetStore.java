package dev.fleetkeeper.controller.store;

import dev.fleetkeeper.controller.recycle.RecycleJob;
import dev.fleetkeeper.controller.recycle.RecycleJournal;
import dev.fleetkeeper.controller.rollout.Rollout;
import dev.fleetkeeper.controller.rollout.RolloutJournal;
import dev.fleetkeeper.controller.store.StoreUnavailableException.Reason;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.Snapshot;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Stream;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Status;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's durable state in one RocksDB directory: hosts, each host's latest state,
 * per-process memory series and the event log. Thread-safe: reads run concurrently with each
 * other and with a commit; commits and {@link #expire} are serialized. Whoever calls
 * {@link #open} owns the store and closes it (the controller's main, last, after everything
 * that writes to it).
 *
 * <p>This class owns every RocksDB native handle of the store (block cache, filter, options,
 * column family handles, the database) and closes them in order: column family handles, the
 * database, then the options. A commit returns only after RocksDB accepted the write into its
 * WAL (fsynced when {@link StoreOptions#syncWrites()}), so what a commit acknowledged survives
 * a crash of the controller.
 */
public final class FleetStore implements AutoCloseable, RecycleJournal, RolloutJournal {
    /** Format version written by and readable by this build. See {@link Keys}. */
    static final int SCHEMA_VERSION = 1;

    private static final Logger log = LoggerFactory.getLogger(FleetStore.class);
    private static final String DEFAULT_FAMILY = new String(RocksDB.DEFAULT_COLUMN_FAMILY, StandardCharsets.UTF_8);

    private final Path directory;
    private final StoreOptions options;
    private final InstantSource clock;
    private final Timer commitTimer;

    // Native handles, in the order they were made; close() releases them in reverse.
    private final LRUCache blockCache;
    private final BloomFilter bloomFilter;
    private final ColumnFamilyOptions familyOptions;
    private final DBOptions dbOptions;
    private final WriteOptions writeOptions;
    // Replaced by reopenAfterWriteFailure (under the write lock); null while a reopen failed.
    private RocksDB db;
    private List<ColumnFamilyHandle> allHandles;
    private Map<ColumnFamily, ColumnFamilyHandle> handles;

    // Readers and writers hold the read lock so that close() (the write lock) never frees the
    // native handles under them: a freed handle is a JVM crash, not an exception.
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    // Commits are serialized: sequences, host numbers and dedup checks must see every earlier
    // commit. The group-commit pipeline has one writer anyway, so this lock is uncontended.
    private final ReentrantLock commitLock = new ReentrantLock();
    private long nextEventSequence;
    private int nextHostNumber;
    private long lastEventHour;
    /**
     * The message of the last failed write (disk full, I/O error), null while writes succeed.
     * After a failed WAL write RocksDB keeps a background error and refuses every later write,
     * even once the cause is gone; RocksJava cannot call DB::Resume, so the store reopens the
     * database (see reopenAfterWriteFailure). Written under commitLock or the write lock.
     */
    private volatile String writeFailure;
    // Written under commitLock after a successful write, read by memorySeries without it.
    private final Map<String, Integer> hostNumbers;

    private FleetStore(Path directory, StoreOptions options, InstantSource clock, MeterRegistry registry,
            Natives natives, Meta meta) {
        this.directory = directory;
        this.options = options;
        this.clock = clock;
        this.commitTimer = Timer.builder("fleetkeeper.controller.store.commit")
                .description("Time to commit a group of store batches as one RocksDB write")
                .publishPercentileHistogram()
                .register(registry);
        this.blockCache = natives.blockCache;
        this.bloomFilter = natives.bloomFilter;
        this.familyOptions = natives.familyOptions;
        this.dbOptions = natives.dbOptions;
        this.writeOptions = natives.writeOptions;
        this.db = natives.db;
        this.allHandles = List.copyOf(natives.allHandles);
        this.handles = Collections.unmodifiableMap(new EnumMap<>(natives.handles));
        this.nextEventSequence = meta.nextEventSequence;
        this.nextHostNumber = meta.nextHostNumber;
        this.lastEventHour = meta.lastEventHour;
        this.hostNumbers = new ConcurrentHashMap<>(meta.hostNumbers);
    }

    /** Opens the store with the system clock and no metrics. */
    public static FleetStore open(Path directory, StoreOptions options) {
        return open(directory, options, InstantSource.system(), new CompositeMeterRegistry());
    }

    /**
     * Opens the store in {@code directory}, creating it if the directory is missing or empty.
     *
     * @param clock stamps stored values; event retention and dedup count from it
     * @param registry receives {@code fleetkeeper.controller.store.commit}
     * @throws StoreUnavailableException if the directory is corrupt, locked, not accessible, of a
     *     newer schema or not a Fleetkeeper store; nothing in it is changed then
     */
    public static FleetStore open(Path directory, StoreOptions options, InstantSource clock, MeterRegistry registry) {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(registry, "registry");
        Path dir = directory.toAbsolutePath().normalize();
        boolean fresh = prepareDirectory(dir);
        RocksDB.loadLibrary();
        List<String> existing = fresh ? List.of() : existingFamilies(dir);
        if (!fresh) {
            checkReadOnly(dir, existing);
        }
        Natives natives = new Natives();
        try {
            natives.openDatabase(dir, fresh, existing, options);
            Meta meta = Meta.loadOrInitialize(dir, natives, fresh);
            FleetStore store = new FleetStore(dir, options, clock, registry, natives, meta);
            log.info("Opened store at {} (schema {}, {} hosts, next event sequence {}) with {}",
                    dir, SCHEMA_VERSION, meta.hostNumbers.size(), meta.nextEventSequence, options);
            return store;
        } catch (RuntimeException | Error e) {
            natives.close();
            throw e;
        }
    }

    /**
     * What every action id issued at {@code issuedAtMillis} must begin with: stored action
     * results expire by the time their id names (see {@link Keys}).
     */
    public static String actionIdPrefix(long issuedAtMillis) {
        return Keys.actionIdPrefix(issuedAtMillis);
    }

    /** The directory the store lives in. */
    public Path directory() {
        return directory;
    }

    /** The options it was opened with. */
    public StoreOptions options() {
        return options;
    }

    /** Starts a batch of writes for {@link #commit}. */
    public StoreBatch newBatch() {
        return new StoreBatch(this, clock);
    }

    /** Commits one batch atomically; see {@link #commit(List)}. */
    public List<Event> commit(StoreBatch batch) {
        return commit(List.of(batch));
    }

    /**
     * Commits several batches as one atomic RocksDB write, in list order: either all of them are
     * stored or none is. Returns only once the write is durable as {@link StoreOptions#syncWrites()}
     * says; if it throws, nothing was stored and the batches may be committed again.
     *
     * <p>An event whose non-empty id was already stored within the dedup window (by an earlier
     * commit, or earlier in this one) is not stored again: a resend after a reconnect is stored
     * once. Such an event is simply absent from the result.
     *
     * @return the events this commit stored, each with the sequence the store assigned, in batch
     *     and then insertion order
     */
    public List<Event> commit(List<StoreBatch> batches) {
        List<StoreBatch> list = List.copyOf(batches);
        Set<StoreBatch> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (StoreBatch batch : list) {
            if (batch.owner() != this) {
                throw new IllegalArgumentException("batch from another store (expected: one from this store's newBatch())");
            }
            if (!seen.add(batch)) {
                throw new IllegalArgumentException("the same batch twice in one commit (expected: distinct batches)");
            }
        }
        long startNanos = System.nanoTime();
        reopenAfterWriteFailure();
        lifecycle.readLock().lock();
        try {
            checkOpen();
            commitLock.lock();
            try {
                return commitLocked(list);
            } finally {
                commitLock.unlock();
            }
        } finally {
            lifecycle.readLock().unlock();
            commitTimer.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
        }
    }

    private List<Event> commitLocked(List<StoreBatch> list) {
        for (StoreBatch batch : list) {
            if (batch.isCommitted()) {
                throw new IllegalStateException("batch already committed (expected: a new batch from newBatch())");
            }
        }
        long now = clock.millis();
        // Never index backwards: if the clock steps back, later events stay in the newer hour.
        long hour = Math.max(Keys.bucket(now), lastEventHour);
        long sequence = nextEventSequence;
        int hostNumber = nextHostNumber;
        Map<String, Integer> newHosts = new HashMap<>();
        Map<String, Long> idsThisCommit = new HashMap<>();
        Set<String> resultsThisCommit = new java.util.HashSet<>();
        List<Event> appended = new ArrayList<>();
        try (WriteBatch write = new WriteBatch()) {
            for (StoreBatch batch : list) {
                for (StoreBatch.Put put : batch.puts()) {
                    write.put(handles.get(put.family()), put.key(), put.value());
                }
                for (StoreBatch.PendingPoint point : batch.points()) {
                    Integer number = hostNumbers.get(point.hostId());
                    if (number == null) {
                        number = newHosts.get(point.hostId());
                    }
                    if (number == null) {
                        number = hostNumber++;
                        newHosts.put(point.hostId(), number);
                        write.put(handle(ColumnFamily.META), Keys.hostNumber(point.hostId()), Keys.u32(number));
                    }
                    write.put(handle(ColumnFamily.MEMORY), Keys.memory(number, point.bootId(), point.pid(),
                            point.startTicks(), point.timeMillis()), point.value());
                }
                for (StoreBatch.PendingResult result : batch.results()) {
                    if (resultsThisCommit.add(result.actionId())
                            && db.get(handle(ColumnFamily.ACTION_RESULTS), result.key()) == null) {
                        write.put(handle(ColumnFamily.ACTION_RESULTS), result.key(), result.value());
                    }
                }
                for (StoreBatch.PendingEvent pending : batch.events()) {
                    Event event = pending.event();
                    String id = pending.dedup() ? event.getId() : "";
                    if (!id.isEmpty()) {
                        Long stored = idsThisCommit.get(id);
                        if (stored == null) {
                            stored = storedSequence(id, hour, now);
                        }
                        if (stored != null) {
                            continue;
                        }
                    }
                    Event numbered = event.toBuilder().setSequence(sequence).build();
                    write.put(handle(ColumnFamily.EVENTS), Keys.event(sequence), Values.event(numbered, now));
                    if (!id.isEmpty()) {
                        write.put(handle(ColumnFamily.EVENT_IDS), Keys.eventId(hour, id), Keys.u64(sequence));
                        idsThisCommit.put(id, sequence);
                    }
                    appended.add(numbered);
                    sequence++;
                }
            }
            if (hostNumber != nextHostNumber) {
                write.put(handle(ColumnFamily.META), Keys.NEXT_HOST_NUMBER, Keys.u32(hostNumber));
            }
            boolean appendedEvents = sequence != nextEventSequence;
            if (appendedEvents) {
                write.put(handle(ColumnFamily.META), Keys.NEXT_EVENT_SEQUENCE, Keys.u64(sequence));
                if (hour > lastEventHour) {
                    write.put(handle(ColumnFamily.META), Keys.eventHour(hour), Keys.u64(nextEventSequence));
                }
            }
            if (write.count() > 0) {
                db.write(writeOptions, write);
            }
        } catch (RocksDBException e) {
            writeFailure = e.getMessage();
            throw new StoreException("Commit of " + list.size() + " batches to the store at " + directory
                    + " failed; nothing of it was stored: " + e.getMessage(), e);
        }
        // Only now that the write returned: a failed write leaves every counter as it was.
        writeFailure = null;
        if (sequence != nextEventSequence) {
            lastEventHour = hour;
        }
        nextEventSequence = sequence;
        nextHostNumber = hostNumber;
        hostNumbers.putAll(newHosts);
        for (StoreBatch batch : list) {
            batch.markCommitted();
        }
        return List.copyOf(appended);
    }

    /**
     * After a failed write, closes and reopens the database once the directory has room for it
     * again. Reopening replays the WAL up to its last complete record, so everything an earlier
     * commit acknowledged is kept and the failed write's partial record is dropped; then RocksDB
     * writes a new WAL. While the disk is still full this does nothing, so reads keep working
     * from the open database and commits fail fast with RocksDB's error.
     */
    private void reopenAfterWriteFailure() {
        if (writeFailure == null) {
            return;
        }
        lifecycle.writeLock().lock();
        try {
            String failure = writeFailure;
            if (closed || failure == null) {
                return;
            }
            if (db != null && usableBytes() < walBytes() + REOPEN_HEADROOM_BYTES) {
                return;
            }
            for (ColumnFamilyHandle handle : allHandles) {
                handle.close();
            }
            allHandles = List.of();
            if (db != null) {
                db.close();
                db = null;
            }
            List<String> names = new ArrayList<>();
            names.add(DEFAULT_FAMILY);
            for (ColumnFamily family : ColumnFamily.values()) {
                names.add(family.dbName());
            }
            List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
            for (String name : names) {
                descriptors.add(new ColumnFamilyDescriptor(name.getBytes(StandardCharsets.UTF_8), familyOptions));
            }
            List<ColumnFamilyHandle> opened = new ArrayList<>();
            try {
                db = RocksDB.open(dbOptions, directory.toString(), descriptors, opened);
            } catch (RocksDBException e) {
                log.warn("Reopening the store at {} after a failed write failed: {}; retrying at the next write",
                        directory, e.getMessage());
                return;
            }
            Map<ColumnFamily, ColumnFamilyHandle> byFamily = new EnumMap<>(ColumnFamily.class);
            for (ColumnFamily family : ColumnFamily.values()) {
                byFamily.put(family, opened.get(names.indexOf(family.dbName())));
            }
            allHandles = List.copyOf(opened);
            handles = Collections.unmodifiableMap(byFamily);
            // A write reported as failed may still have reached the WAL whole (its sync failed):
            // never hand out a sequence or host number it used.
            try {
                byte[] next = db.get(handles.get(ColumnFamily.META), Keys.NEXT_EVENT_SEQUENCE);
                if (next != null && next.length == 8) {
                    nextEventSequence = Math.max(nextEventSequence, Keys.readU64(next));
                }
                byte[] host = db.get(handles.get(ColumnFamily.META), Keys.NEXT_HOST_NUMBER);
                if (host != null && host.length == 4) {
                    nextHostNumber = Math.max(nextHostNumber, Keys.readU32(host));
                }
            } catch (RocksDBException e) {
                log.warn("Could not read the counters of the reopened store at {}: {}", directory, e.getMessage());
            }
            writeFailure = null;
            log.info("Reopened the store at {} after a failed write ({}); it accepts writes again", directory, failure);
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    /** Room a reopen needs besides the WAL it flushes into tables: a MANIFEST, OPTIONS, a new WAL. */
    private static final long REOPEN_HEADROOM_BYTES = 1L << 20;

    private long usableBytes() {
        try {
            return Files.getFileStore(directory).getUsableSpace();
        } catch (IOException e) {
            return 0;
        }
    }

    private long walBytes() {
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".log")).mapToLong(f -> {
                try {
                    return Files.size(f);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException e) {
            return Long.MAX_VALUE / 2;
        }
    }

    /** The sequence of an event stored with this id within the dedup window, or null. */
    private Long storedSequence(String id, long hour, long now) throws RocksDBException {
        long oldest = Keys.bucket(Math.max(0, now - options.eventDedupWindow().toMillis()));
        for (long h = hour; h >= oldest; h--) {
            byte[] value = db.get(handle(ColumnFamily.EVENT_IDS), Keys.eventId(h, id));
            if (value != null) {
                return Keys.readU64(value);
            }
        }
        return null;
    }

    /**
     * Removes memory points and events older than their retention, and event ids older than the
     * dedup window, in whole hours: an hour goes once all of it is older than the retention.
     * Action results go with the events, by their issue time. One range delete per column
     * family; nothing is iterated.
     */
    public void expire(long nowMillis) {
        Preconditions.checkNotNegative("nowMillis", nowMillis);
        long memoryCut = Keys.bucket(nowMillis - options.memoryRetention().toMillis());
        long eventCut = Keys.bucket(nowMillis - options.eventRetention().toMillis());
        long idCut = Keys.bucket(nowMillis - options.eventDedupWindow().toMillis());
        reopenAfterWriteFailure();
        lifecycle.readLock().lock();
        try {
            checkOpen();
            commitLock.lock();
            try (WriteBatch write = new WriteBatch()) {
                if (memoryCut > 0) {
                    write.deleteRange(handle(ColumnFamily.MEMORY), Keys.memoryHour(0), Keys.memoryHour(memoryCut));
                }
                if (eventCut > 0) {
                    long firstKept = firstSequenceStoredFrom(eventCut);
                    write.deleteRange(handle(ColumnFamily.EVENTS), Keys.event(0), Keys.event(firstKept));
                    write.deleteRange(handle(ColumnFamily.META), Keys.eventHour(0), Keys.eventHour(eventCut));
                    write.deleteRange(handle(ColumnFamily.ACTION_RESULTS), Keys.actionsIssuedFrom(0),
                            Keys.actionsIssuedFrom(Keys.bucketStartMillis(eventCut)));
                }
                if (idCut > 0) {
                    write.deleteRange(handle(ColumnFamily.EVENT_IDS), Keys.eventIdHour(0), Keys.eventIdHour(idCut));
                }
                if (write.count() > 0) {
                    db.write(writeOptions, write);
                }
            } catch (RocksDBException e) {
                writeFailure = e.getMessage();
                throw new StoreException("Expiry in the store at " + directory + " failed: " + e.getMessage(), e);
            } finally {
                commitLock.unlock();
            }
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** First sequence stored in {@code hour} or later, per the event hour index. */
    private long firstSequenceStoredFrom(long hour) throws RocksDBException {
        try (RocksIterator it = db.newIterator(handle(ColumnFamily.META))) {
            it.seek(Keys.eventHour(hour));
            if (it.isValid() && Keys.startsWith(it.key(), Keys.EVENT_HOUR_PREFIX)) {
                return Keys.readU64(it.value());
            }
            it.status();
        }
        // Every event was stored before that hour.
        return nextEventSequence;
    }

    /** The host's record, if it was ever stored. */
    public Optional<HostRecord> host(String hostId) {
        Preconditions.checkHostId(hostId);
        lifecycle.readLock().lock();
        try {
            checkOpen();
            byte[] value = db.get(handle(ColumnFamily.HOSTS), Keys.host(hostId));
            return value == null ? Optional.empty() : Optional.of(Values.host(hostId, value));
        } catch (RocksDBException e) {
            throw readFailed("host " + hostId, e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Every host ever stored, ordered by host id. */
    public List<HostRecord> hosts() {
        lifecycle.readLock().lock();
        try (RocksIterator it = iterator(ColumnFamily.HOSTS)) {
            List<HostRecord> out = new ArrayList<>();
            for (it.seekToFirst(); it.isValid(); it.next()) {
                out.add(Values.host(Keys.hostIdOfHostKey(it.key()), it.value()));
            }
            it.status();
            return List.copyOf(out);
        } catch (RocksDBException e) {
            throw readFailed("hosts", e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * The newest full state the host sent. It is the wire message itself: the controller stores
     * and serves process telemetry as data (see the package documentation).
     */
    public Optional<Snapshot> latestState(String hostId) {
        Preconditions.checkHostId(hostId);
        lifecycle.readLock().lock();
        try {
            checkOpen();
            byte[] value = db.get(handle(ColumnFamily.LATEST_STATE), Keys.latestState(hostId));
            return value == null ? Optional.empty() : Optional.of(Values.state(hostId, value));
        } catch (RocksDBException e) {
            throw readFailed("latest state of " + hostId, e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Every host's latest service report, by host id. */
    public Map<String, ServiceReport> serviceReports() {
        lifecycle.readLock().lock();
        try (RocksIterator it = iterator(ColumnFamily.SERVICE_REPORTS)) {
            Map<String, ServiceReport> out = new HashMap<>();
            for (it.seekToFirst(); it.isValid(); it.next()) {
                String hostId = Keys.hostIdOfServiceReportKey(it.key());
                out.put(hostId, Values.serviceReport(hostId, it.value()));
            }
            it.status();
            return Map.copyOf(out);
        } catch (RocksDBException e) {
            throw readFailed("service reports", e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Stores the job and appends the events in one commit, returning once it is durable as
     * {@link StoreOptions#syncWrites()} says (fsynced by default): the coordinator acts only after.
     */
    @Override
    public List<Event> saveRecycleJob(RecycleJob job, List<Event> events) {
        StoreBatch batch = newBatch().putRecycleJob(job);
        events.forEach(batch::appendUniqueEvent);
        return commit(batch);
    }

    /** Every stored recycle job, oldest first (ids start with their creation time). */
    @Override
    public List<RecycleJob> recycleJobs() {
        lifecycle.readLock().lock();
        try (RocksIterator it = iterator(ColumnFamily.RECYCLE_JOBS)) {
            List<RecycleJob> out = new ArrayList<>();
            for (it.seekToFirst(); it.isValid(); it.next()) {
                out.add(Values.recycleJob(new String(it.key(), java.nio.charset.StandardCharsets.UTF_8), it.value()));
            }
            it.status();
            return List.copyOf(out);
        } catch (RocksDBException e) {
            throw readFailed("recycle jobs", e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Stores the rollout and appends the events in one commit, returning once it is durable as
     * {@link StoreOptions#syncWrites()} says (fsynced by default): the coordinator acts only after.
     */
    @Override
    public List<Event> saveRollout(Rollout rollout, List<Event> events) {
        StoreBatch batch = newBatch().putRollout(rollout);
        events.forEach(batch::appendUniqueEvent);
        return commit(batch);
    }

    /** Every stored rollout, oldest first (ids start with their creation time). */
    @Override
    public List<Rollout> rollouts() {
        lifecycle.readLock().lock();
        try (RocksIterator it = iterator(ColumnFamily.ROLLOUTS)) {
            List<Rollout> out = new ArrayList<>();
            for (it.seekToFirst(); it.isValid(); it.next()) {
                out.add(Values.rollout(new String(it.key(), java.nio.charset.StandardCharsets.UTF_8), it.value()));
            }
            it.status();
            return List.copyOf(out);
        } catch (RocksDBException e) {
            throw readFailed("rollouts", e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** The stored result of an action, if its agent has answered (and it has not expired). */
    public Optional<StoredAction> actionResult(String actionId) {
        Objects.requireNonNull(actionId, "actionId");
        lifecycle.readLock().lock();
        try {
            checkOpen();
            byte[] value = db.get(handle(ColumnFamily.ACTION_RESULTS), Keys.actionResult(actionId));
            return value == null ? Optional.empty() : Optional.of(Values.actionResult(value));
        } catch (RocksDBException e) {
            throw readFailed("result of action " + actionId, e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Memory points of one process with {@code fromMillis <= time < toMillis}, oldest first. Seeks
     * once per hour in the range that holds any data, so its cost follows the points returned.
     */
    public List<MemoryPoint> memorySeries(String hostId, String bootId, int pid, long startTicks,
            long fromMillis, long toMillis) {
        Preconditions.checkHostId(hostId);
        UUID boot = Keys.bootId(Objects.requireNonNull(bootId, "bootId"));
        Preconditions.checkNotNegative("fromMillis", fromMillis);
        if (toMillis < fromMillis) {
            throw new IllegalArgumentException("toMillis: " + toMillis + " (expected: >= fromMillis " + fromMillis + ")");
        }
        Integer hostNumber = hostNumbers.get(hostId);
        if (hostNumber == null || toMillis == fromMillis) {
            return List.of();
        }
        lifecycle.readLock().lock();
        try (RocksIterator it = iterator(ColumnFamily.MEMORY)) {
            it.seekToFirst();
            if (!it.isValid()) {
                it.status();
                return List.of();
            }
            long firstHour = Keys.hourOfMemoryKey(it.key());
            it.seekToLast();
            long lastHour = Keys.hourOfMemoryKey(it.key());
            long fromHour = Math.max(Keys.bucket(fromMillis), firstHour);
            long toHour = Math.min(Keys.bucket(toMillis - 1), lastHour);
            List<MemoryPoint> out = new ArrayList<>();
            for (long h = fromHour; h <= toHour; h++) {
                byte[] prefix = Keys.memorySeriesPrefix(h, hostNumber, boot, pid, startTicks);
                long seekTime = Math.max(fromMillis, Keys.bucketStartMillis(h));
                for (it.seek(Keys.memory(hostNumber, boot, pid, startTicks, seekTime)); it.isValid(); it.next()) {
                    byte[] key = it.key();
                    if (!Keys.startsWith(key, prefix)) {
                        break;
                    }
                    long time = Keys.timeOfMemoryKey(key);
                    if (time >= toMillis) {
                        break;
                    }
                    out.add(Values.memoryPoint(time, it.value()));
                }
                it.status();
            }
            return List.copyOf(out);
        } catch (RocksDBException e) {
            throw readFailed("memory series of " + hostId + " pid " + pid, e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Events matching the query, in sequence order; see {@link EventQuery}. */
    public List<Event> events(EventQuery query) {
        Objects.requireNonNull(query, "query");
        lifecycle.readLock().lock();
        try (RocksIterator it = iterator(ColumnFamily.EVENTS)) {
            List<Event> out = new ArrayList<>();
            if (query.newest()) {
                for (it.seekToLast(); it.isValid() && out.size() < query.limit(); it.prev()) {
                    if (Keys.sequenceOfEventKey(it.key()) <= query.afterSequence()) {
                        break;
                    }
                    addIfMatches(query, it.value(), out);
                }
                Collections.reverse(out);
            } else {
                for (it.seek(Keys.event(query.afterSequence() + 1)); it.isValid() && out.size() < query.limit(); it.next()) {
                    addIfMatches(query, it.value(), out);
                }
            }
            it.status();
            return List.copyOf(out);
        } catch (RocksDBException e) {
            throw readFailed("events", e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private static void addIfMatches(EventQuery query, byte[] value, List<Event> out) {
        Event event = Values.event(value);
        if (query.hostId().isPresent() && !query.hostId().get().equals(event.getHostId())) {
            return;
        }
        if (!query.types().isEmpty() && !query.types().contains(event.getType())) {
            return;
        }
        if (event.getTimeUnixMs() < query.sinceMillis()) {
            return;
        }
        out.add(event);
    }

    /**
     * Closes the database and frees every native handle; idempotent. Waits for reads and commits
     * in progress; later calls fail with {@link IllegalStateException}.
     */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            if (db != null && !options.syncWrites()) {
                try {
                    // A clean shutdown should not lose what the OS had not written yet.
                    db.syncWal();
                } catch (RocksDBException e) {
                    log.warn("Could not sync the WAL of the store at {} on close", directory, e);
                }
            }
            for (ColumnFamilyHandle handle : allHandles) {
                handle.close();
            }
            if (db != null) {
                db.close();
            }
            writeOptions.close();
            dbOptions.close();
            familyOptions.close();
            bloomFilter.close();
            blockCache.close();
            log.info("Closed store at {}", directory);
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    private ColumnFamilyHandle handle(ColumnFamily family) {
        return handles.get(family);
    }

    /** Call with the read lock held. */
    private RocksIterator iterator(ColumnFamily family) {
        checkOpen();
        return db.newIterator(handle(family));
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("store at " + directory + " is closed");
        }
        if (db == null) {
            throw new IllegalStateException("store at " + directory + " is unavailable: reopening it after a "
                    + "failed write (" + writeFailure + ") failed; free space there, the controller retries at "
                    + "the next write");
        }
    }

    private StoreException readFailed(String what, RocksDBException e) {
        return new StoreException("Reading " + what + " from the store at " + directory + " failed: " + e.getMessage(), e);
    }

    // ---- opening

    /**
     * Checks the directory before RocksDB sees it, so that RocksDB never creates a database
     * inside a directory holding something else.
     *
     * @return true if there is no database yet (missing or empty directory)
     */
    private static boolean prepareDirectory(Path dir) {
        try {
            if (!Files.exists(dir)) {
                Files.createDirectories(dir);
                return true;
            }
            if (!Files.isDirectory(dir)) {
                throw new StoreUnavailableException(dir, Reason.NOT_A_STORE, "it is not a directory", null);
            }
            List<String> names;
            try (Stream<Path> entries = Files.list(dir)) {
                names = entries.map(p -> p.getFileName().toString()).toList();
            }
            if (names.isEmpty()) {
                return true;
            }
            if (!names.contains("CURRENT")) {
                throw new StoreUnavailableException(dir, Reason.NOT_A_STORE,
                        "the directory is not empty and holds no RocksDB database (no CURRENT file)", null);
            }
            return false;
        } catch (AccessDeniedException e) {
            throw new StoreUnavailableException(dir, Reason.PERMISSION_DENIED, e.getMessage(), e);
        } catch (IOException e) {
            throw new StoreUnavailableException(dir, ioReason(String.valueOf(e.getMessage()), Reason.UNREADABLE),
                    e.toString(), e);
        }
    }

    private static List<String> existingFamilies(Path dir) {
        List<byte[]> names;
        try (Options options = new Options()) {
            names = RocksDB.listColumnFamilies(options, dir.toString());
        } catch (RocksDBException e) {
            throw unavailable(dir, e);
        }
        List<String> out = names.stream().map(n -> new String(n, StandardCharsets.UTF_8)).toList();
        if (out.contains(ColumnFamily.META.dbName())) {
            return out;
        }
        // RocksJava's list skips what it cannot read: a garbage MANIFEST lists only "default"
        // and a garbage CURRENT lists nothing. Before calling the directory foreign, let a
        // read-only open (which writes nothing to the database) report what is wrong.
        try (Options options = new Options()) {
            RocksDB.openReadOnly(options, dir.toString()).close();
        } catch (RocksDBException e) {
            if (!(e.getMessage() != null && e.getMessage().contains("open all column families"))) {
                throw unavailable(dir, e);
            }
        }
        if (out.isEmpty()) {
            // Every readable RocksDB database lists at least "default".
            throw new StoreUnavailableException(dir, Reason.CORRUPT,
                    "RocksDB lists no column families: CURRENT or the MANIFEST is unreadable", null);
        }
        throw new StoreUnavailableException(dir, Reason.NOT_A_STORE,
                "a RocksDB database without Fleetkeeper's column families: " + out, null);
    }

    /**
     * Reads the schema version through a read-only open, which changes no file of the database
     * (a read-write open writes a new MANIFEST and flushes the WAL): a store this build must not
     * open is refused before anything in it changes.
     */
    private static void checkReadOnly(Path dir, List<String> families) {
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        try (DBOptions options = new DBOptions(); ColumnFamilyOptions familyOptions = new ColumnFamilyOptions()) {
            List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
            for (String name : families) {
                descriptors.add(new ColumnFamilyDescriptor(name.getBytes(StandardCharsets.UTF_8), familyOptions));
            }
            try (RocksDB db = RocksDB.openReadOnly(options, dir.toString(), descriptors, handles)) {
                ColumnFamilyHandle meta = handles.get(families.indexOf(ColumnFamily.META.dbName()));
                byte[] version = db.get(meta, Keys.SCHEMA_VERSION);
                if (version != null && version.length == 4 && Keys.readU32(version) > SCHEMA_VERSION) {
                    throw new StoreUnavailableException(dir, Reason.NEWER_SCHEMA, "schema version "
                            + Keys.readU32(version) + "; this build reads up to " + SCHEMA_VERSION, null);
                }
            } finally {
                for (ColumnFamilyHandle handle : handles) {
                    handle.close();
                }
            }
        } catch (RocksDBException e) {
            throw unavailable(dir, e);
        }
    }

    private static StoreUnavailableException unavailable(Path dir, RocksDBException e) {
        Status status = e.getStatus();
        Status.Code code = status == null ? null : status.getCode();
        String message = String.valueOf(e.getMessage());
        Reason reason;
        if (code == Status.Code.Corruption) {
            reason = Reason.CORRUPT;
        } else if (ioReason(message, null) != null) {
            reason = ioReason(message, null);
        } else if (message.contains("Permission denied")) {
            reason = Reason.PERMISSION_DENIED;
        } else if (message.contains("LOCK") || message.contains("lock hold")) {
            reason = Reason.LOCKED;
        } else if (code == Status.Code.IOError
                && (message.contains("No such file") || message.contains("does not exist"))) {
            // A file the MANIFEST names is gone: the database is incomplete.
            reason = Reason.CORRUPT;
        } else {
            reason = Reason.UNREADABLE;
        }
        return new StoreUnavailableException(dir, reason, "RocksDB: " + message, e);
    }

    /** A full or read-only file system, told apart by the OS's message (ENOSPC, EROFS); else {@code otherwise}. */
    private static Reason ioReason(String message, Reason otherwise) {
        if (message.contains("No space left on device")) {
            return Reason.NO_SPACE;
        }
        if (message.contains("Read-only file system")) {
            return Reason.READ_ONLY;
        }
        return otherwise;
    }

    /** Native handles while the store is being opened; closes what exists if opening fails. */
    private static final class Natives {
        LRUCache blockCache;
        BloomFilter bloomFilter;
        ColumnFamilyOptions familyOptions;
        DBOptions dbOptions;
        WriteOptions writeOptions;
        RocksDB db;
        final List<ColumnFamilyHandle> allHandles = new ArrayList<>();
        final Map<ColumnFamily, ColumnFamilyHandle> handles = new EnumMap<>(ColumnFamily.class);
        final List<String> foreignFamilies = new ArrayList<>();

        void openDatabase(Path dir, boolean fresh, List<String> existing, StoreOptions options) {
            blockCache = new LRUCache(options.blockCacheBytes());
            bloomFilter = new BloomFilter(10);
            familyOptions = new ColumnFamilyOptions()
                    .setTableFormatConfig(new BlockBasedTableConfig()
                            .setBlockCache(blockCache)
                            .setFilterPolicy(bloomFilter))
                    .setCompressionType(CompressionType.LZ4_COMPRESSION);
            dbOptions = new DBOptions()
                    // Never create a database where there was something else: prepareDirectory
                    // decided this directory is missing or empty.
                    .setCreateIfMissing(fresh)
                    // Ours only: the descriptors below name our families and those that exist.
                    .setCreateMissingColumnFamilies(true)
                    // Rarely written families (hosts, meta) would otherwise pin old WAL files.
                    .setMaxTotalWalSize(256L << 20)
                    .setKeepLogFileNum(5);
            writeOptions = new WriteOptions().setSync(options.syncWrites());

            Set<String> names = new LinkedHashSet<>();
            names.add(DEFAULT_FAMILY);
            for (ColumnFamily family : ColumnFamily.values()) {
                names.add(family.dbName());
            }
            for (String name : existing) {
                if (names.add(name)) {
                    foreignFamilies.add(name);
                }
            }
            List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
            for (String name : names) {
                descriptors.add(new ColumnFamilyDescriptor(name.getBytes(StandardCharsets.UTF_8), familyOptions));
            }
            try {
                db = RocksDB.open(dbOptions, dir.toString(), descriptors, allHandles);
            } catch (RocksDBException e) {
                throw unavailable(dir, e);
            }
            for (ColumnFamily family : ColumnFamily.values()) {
                handles.put(family, allHandles.get(List.copyOf(names).indexOf(family.dbName())));
            }
        }

        void close() {
            for (ColumnFamilyHandle handle : allHandles) {
                handle.close();
            }
            closeQuietly(db);
            closeQuietly(writeOptions);
            closeQuietly(dbOptions);
            closeQuietly(familyOptions);
            closeQuietly(bloomFilter);
            closeQuietly(blockCache);
        }

        private static void closeQuietly(AutoCloseable closeable) {
            if (closeable == null) {
                return;
            }
            try {
                closeable.close();
            } catch (Exception e) {
                log.warn("Could not close {} while abandoning a store open", closeable, e);
            }
        }
    }

    /** The counters and indexes read from the meta column family when opening. */
    private static final class Meta {
        long nextEventSequence;
        int nextHostNumber;
        long lastEventHour = -1;
        final Map<String, Integer> hostNumbers = new HashMap<>();

        static Meta loadOrInitialize(Path dir, Natives natives, boolean fresh) {
            try {
                RocksDB db = natives.db;
                ColumnFamilyHandle meta = natives.handles.get(ColumnFamily.META);
                byte[] version = db.get(meta, Keys.SCHEMA_VERSION);
                if (version == null) {
                    if (!fresh && !allEmpty(natives)) {
                        throw new StoreUnavailableException(dir, Reason.NOT_A_STORE,
                                "it holds data but no schema version", null);
                    }
                    initialize(db, meta);
                    version = Keys.u32(SCHEMA_VERSION);
                }
                int schema = (int) readMeta(dir, "schema_version", version, 4);
                if (schema > SCHEMA_VERSION) {
                    throw new StoreUnavailableException(dir, Reason.NEWER_SCHEMA,
                            "schema version " + schema + "; this build reads up to " + SCHEMA_VERSION, null);
                }
                if (schema < 1) {
                    throw new StoreUnavailableException(dir, Reason.CORRUPT, "schema version " + schema, null);
                }
                if (!natives.foreignFamilies.isEmpty()) {
                    throw new StoreUnavailableException(dir, Reason.NOT_A_STORE,
                            "column families this schema does not have: " + natives.foreignFamilies, null);
                }
                Meta out = new Meta();
                out.nextEventSequence = readMeta(dir, "next_event_sequence", db.get(meta, Keys.NEXT_EVENT_SEQUENCE), 8);
                out.nextHostNumber = (int) readMeta(dir, "next_host_number", db.get(meta, Keys.NEXT_HOST_NUMBER), 4);
                try (RocksIterator it = db.newIterator(meta)) {
                    for (it.seek(Keys.HOST_NUMBER_PREFIX); it.isValid() && Keys.startsWith(it.key(), Keys.HOST_NUMBER_PREFIX); it.next()) {
                        out.hostNumbers.put(Keys.hostIdOfHostNumberKey(it.key()), Keys.readU32(it.value()));
                    }
                    it.status();
                    it.seekForPrev(Keys.eventHour(Long.MAX_VALUE));
                    if (it.isValid() && Keys.startsWith(it.key(), Keys.EVENT_HOUR_PREFIX)) {
                        out.lastEventHour = Keys.hourOfEventHourKey(it.key());
                    }
                    it.status();
                }
                return out;
            } catch (RocksDBException e) {
                throw unavailable(dir, e);
            } catch (CorruptValueException e) {
                throw new StoreUnavailableException(dir, Reason.CORRUPT, "meta: " + e.getMessage(), e);
            }
        }

        private static void initialize(RocksDB db, ColumnFamilyHandle meta) throws RocksDBException {
            try (WriteBatch write = new WriteBatch(); WriteOptions sync = new WriteOptions().setSync(true)) {
                write.put(meta, Keys.SCHEMA_VERSION, Keys.u32(SCHEMA_VERSION));
                write.put(meta, Keys.NEXT_EVENT_SEQUENCE, Keys.u64(1));
                write.put(meta, Keys.NEXT_HOST_NUMBER, Keys.u32(1));
                db.write(sync, write);
            }
        }

        private static boolean allEmpty(Natives natives) {
            for (ColumnFamilyHandle handle : natives.allHandles) {
                try (RocksIterator it = natives.db.newIterator(handle)) {
                    it.seekToFirst();
                    if (it.isValid()) {
                        return false;
                    }
                }
            }
            return true;
        }

        private static long readMeta(Path dir, String name, byte[] value, int length) {
            if (value == null || value.length != length) {
                throw new StoreUnavailableException(dir, Reason.CORRUPT,
                        "meta " + name + " is " + (value == null ? "missing" : value.length + " bytes"), null);
            }
            return length == 4 ? Keys.readU32(value) : Keys.readU64(value);
        }
    }
}
