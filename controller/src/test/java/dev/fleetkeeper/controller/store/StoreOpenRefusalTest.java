package dev.fleetkeeper.controller.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.fleetkeeper.controller.store.StoreUnavailableException.Reason;
import dev.fleetkeeper.proto.v1.EventType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

/** A directory the store cannot trust is refused with a clear message, and left as it was. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
final class StoreOpenRefusalTest {
    @TempDir
    Path dir;

    /** A closed store with data in the WAL and, after one reopen (recovery flushes), in an SST. */
    private void createStoreWithTable() {
        try (FleetStore store = FleetStore.open(dir, StoreOptions.defaults())) {
            store.commit(store.newBatch().putHost(Fixtures.host("h"))
                    .appendEvent(Fixtures.event("h", "h:1", Fixtures.T0, EventType.EVENT_TYPE_HOST_ONLINE)));
        }
        FleetStore.open(dir, StoreOptions.defaults()).close();
    }

    @Test
    void garbageInCurrent_isRefusedAsCorrupt_andNothingIsTouched() throws IOException {
        createStoreWithTable();
        Files.writeString(dir.resolve("CURRENT"), "garbage, not a manifest name");

        assertRefusedUntouched(Reason.CORRUPT, "corrupt");
    }

    @Test
    void garbageInManifest_isRefusedAsCorrupt_andNothingIsTouched() throws IOException {
        createStoreWithTable();
        overwriteWithGarbage(only("MANIFEST-"));

        assertRefusedUntouched(Reason.CORRUPT, "corrupt");
    }

    @Test
    void garbageInTableFile_isRefusedAsCorrupt_andNothingIsTouched() throws IOException {
        createStoreWithTable();
        overwriteWithGarbage(any(".sst"));

        assertRefusedUntouched(Reason.CORRUPT, "corrupt");
    }

    @Test
    void storeOpenElsewhere_isRefusedAsLocked() {
        try (FleetStore first = FleetStore.open(dir, StoreOptions.defaults())) {
            assertThatThrownBy(() -> FleetStore.open(dir, StoreOptions.defaults()))
                    .isInstanceOfSatisfying(StoreUnavailableException.class,
                            e -> assertThat(e.reason()).isEqualTo(Reason.LOCKED))
                    .hasMessageContaining(dir.toString())
                    .hasMessageContaining("has it open")
                    .hasMessageContaining("Stop the other controller");
            // The refused open must not have disturbed the store that holds the lock.
            first.commit(first.newBatch().putHost(Fixtures.host("h")));
            assertThat(first.host("h")).isPresent();
        }
    }

    @Test
    void directoryWithOtherFiles_isRefusedAsNotAStore_andLeftAlone() throws IOException {
        Files.writeString(dir.resolve("notes.txt"), "precious");

        assertRefusedUntouched(Reason.NOT_A_STORE, "not a Fleetkeeper store");
        assertThat(dir.resolve("CURRENT")).doesNotExist();
    }

    @Test
    void foreignRocksDb_isRefusedAsNotAStore() throws Exception {
        RocksDB.loadLibrary();
        try (Options options = new Options().setCreateIfMissing(true);
                RocksDB db = RocksDB.open(options, dir.toString())) {
            db.put("someone".getBytes(StandardCharsets.UTF_8), "else's".getBytes(StandardCharsets.UTF_8));
        }

        assertRefusedUntouched(Reason.NOT_A_STORE, "without Fleetkeeper's column families");
    }

    @Test
    void regularFile_isRefusedAsNotAStore() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");

        assertThatThrownBy(() -> FleetStore.open(file, StoreOptions.defaults()))
                .isInstanceOfSatisfying(StoreUnavailableException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.NOT_A_STORE))
                .hasMessageContaining("not a directory");
    }

    @Test
    void newerSchema_isRefused_withBothVersionsInTheMessage() throws Exception {
        createStoreWithTable();
        writeSchemaVersion(FleetStore.SCHEMA_VERSION + 1);

        assertRefusedUntouched(Reason.NEWER_SCHEMA, "schema version 2; this build reads up to 1");
    }

    @Test
    void unwritableDirectory_isRefusedAsPermissionDenied() throws IOException {
        createStoreWithTable();
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));
        try {
            // Root ignores permission bits, and the tests may run as root: then this cannot be shown.
            assumeFalse(Files.isWritable(dir), "running as a user that ignores permissions (root)");
            assertThatThrownBy(() -> FleetStore.open(dir, StoreOptions.defaults()))
                    .isInstanceOfSatisfying(StoreUnavailableException.class,
                            e -> assertThat(e.reason()).isEqualTo(Reason.PERMISSION_DENIED))
                    .hasMessageContaining("permission denied");
        } finally {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
    }

    @Test
    void refusalMessage_namesDirectoryProblemAndRemedy() {
        StoreUnavailableException e = new StoreUnavailableException(dir, Reason.CORRUPT, "RocksDB: bad magic", null);

        assertThat(e.getMessage()).isEqualTo("Cannot open the Fleetkeeper store at " + dir
                + ": the database is corrupt or incomplete (RocksDB: bad magic). Restore the directory from a"
                + " backup, or move it aside to start an empty store. Fleetkeeper never deletes or repairs"
                + " data on its own.");
    }

    /**
     * Every file but RocksDB's info LOG (which any open attempt rotates to LOG.old.*) and the empty
     * LOCK file keeps its name and bytes.
     */
    private void assertRefusedUntouched(Reason reason, String messagePart) {
        Map<String, byte[]> before = dataFiles();
        assertThatThrownBy(() -> FleetStore.open(dir, StoreOptions.defaults()))
                .isInstanceOfSatisfying(StoreUnavailableException.class, e -> {
                    assertThat(e.reason()).isEqualTo(reason);
                    assertThat(e.directory()).isEqualTo(dir.toAbsolutePath());
                })
                .hasMessageContaining(dir.toString())
                .hasMessageContaining(messagePart)
                .hasMessageContaining("never deletes or repairs data");
        assertSameFiles(before, dataFiles());
    }

    private void writeSchemaVersion(int version) throws Exception {
        List<byte[]> names;
        try (Options options = new Options()) {
            names = RocksDB.listColumnFamilies(options, dir.toString());
        }
        List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
        for (byte[] name : names) {
            descriptors.add(new ColumnFamilyDescriptor(name));
        }
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        try (DBOptions options = new DBOptions();
                RocksDB db = RocksDB.open(options, dir.toString(), descriptors, handles)) {
            for (int i = 0; i < names.size(); i++) {
                if (Arrays.equals(names.get(i), ColumnFamily.META.nameBytes())) {
                    db.put(handles.get(i), Keys.SCHEMA_VERSION, Keys.u32(version));
                }
            }
            for (ColumnFamilyHandle handle : handles) {
                handle.close();
            }
        }
    }

    private Path any(String namePart) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().contains(namePart)).findFirst().orElseThrow();
        }
    }

    private Path only(String namePart) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> matches = files.filter(p -> p.getFileName().toString().contains(namePart)).toList();
            assertThat(matches).as("files named *%s*", namePart).hasSize(1);
            return matches.get(0);
        }
    }

    private static void overwriteWithGarbage(Path file) throws IOException {
        byte[] garbage = new byte[(int) Files.size(file)];
        Arrays.fill(garbage, (byte) 0x5a);
        Files.write(file, garbage);
    }

    private Map<String, byte[]> dataFiles() {
        return files(name -> !name.startsWith("LOG") && !name.equals("LOCK"));
    }

    private Map<String, byte[]> files(java.util.function.Predicate<String> include) {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                if (include.test(name) && Files.isRegularFile(p)) {
                    out.put(name, Files.readAllBytes(p));
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    private static void assertSameFiles(Map<String, byte[]> before, Map<String, byte[]> after) {
        assertThat(after.keySet()).containsExactlyElementsOf(before.keySet());
        for (Map.Entry<String, byte[]> entry : before.entrySet()) {
            assertThat(after.get(entry.getKey())).as("content of %s", entry.getKey()).isEqualTo(entry.getValue());
        }
    }
}
