package dev.fleetkeeper.controller.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Prints commit throughput and latency of a typical small batch (one host update and 20 memory
 * points), with and without fsync. A bench command, not a test: figures depend on the disk.
 * Run: {@code java -cp <test classpath> dev.fleetkeeper.controller.store.StoreBench [commits]}.
 */
final class StoreBench {
    private StoreBench() {}

    public static void main(String[] args) throws IOException {
        int commits = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        for (boolean sync : new boolean[] {true, false}) {
            Path dir = Files.createTempDirectory("fleetkeeper-bench");
            try (FleetStore store = FleetStore.open(dir, StoreOptions.defaults().withSyncWrites(sync))) {
                run(store, commits / 10, 0); // warm-up
                long[] nanos = run(store, commits, commits);
                Arrays.sort(nanos);
                long total = Arrays.stream(nanos).sum();
                System.out.printf("sync=%-5s commits=%d  %.0f batches/s  p50=%.3f ms  p99=%.3f ms  max=%.3f ms%n",
                        sync, commits, commits / (total / 1e9), nanos[commits / 2] / 1e6,
                        nanos[(int) (commits * 0.99)] / 1e6, nanos[commits - 1] / 1e6);
            } finally {
                deleteTree(dir);
            }
        }
    }

    private static long[] run(FleetStore store, int commits, int offset) {
        long[] nanos = new long[commits];
        for (int i = 0; i < commits; i++) {
            long time = Fixtures.T0 + (offset + i) * 10_000L;
            StoreBatch batch = store.newBatch().putHost(Fixtures.host("host-" + (i % 50)));
            for (int p = 0; p < 20; p++) {
                batch.addMemoryPoint("host-" + (i % 50), Fixtures.BOOT, 1000 + p, 5000 + p, Fixtures.point(time, 1L << 27));
            }
            long start = System.nanoTime();
            store.commit(batch);
            nanos[i] = System.nanoTime() - start;
        }
        return nanos;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
