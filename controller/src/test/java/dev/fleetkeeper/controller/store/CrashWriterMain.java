package dev.fleetkeeper.controller.store;

import dev.fleetkeeper.proto.v1.EventType;
import java.nio.file.Path;

/**
 * Child process of {@link StoreCrashTest}: commits numbered batches until it is killed, and
 * prints "committed N" only after commit N returned. Arguments: store directory, sync flag.
 */
final class CrashWriterMain {
    private CrashWriterMain() {}

    public static void main(String[] args) {
        StoreOptions options = StoreOptions.defaults().withSyncWrites(Boolean.parseBoolean(args[1]));
        // Deliberately never closed: the parent kills this process with SIGKILL.
        FleetStore store = FleetStore.open(Path.of(args[0]), options);
        for (int i = 1; ; i++) {
            StoreBatch batch = store.newBatch().putHost(Fixtures.host("host-" + i));
            for (int p = 0; p < 20; p++) {
                batch.addMemoryPoint("crash", Fixtures.BOOT, p, 1, Fixtures.point(Fixtures.T0 + i * 10_000L, i));
            }
            batch.appendEvent(Fixtures.event("crash", "crash:" + i, Fixtures.T0 + i, EventType.EVENT_TYPE_AGENT));
            store.commit(batch);
            System.out.println("committed " + i);
            System.out.flush();
        }
    }
}
