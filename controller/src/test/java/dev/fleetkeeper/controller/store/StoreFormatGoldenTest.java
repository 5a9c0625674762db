package dev.fleetkeeper.controller.store;

import static dev.fleetkeeper.controller.store.Fixtures.BOOT;
import static dev.fleetkeeper.controller.store.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.proto.v1.Event;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Pins the on-disk format: the key and value bytes of one representative record per column
 * family are checked in under {@code src/test/resources/golden/} as hex. If this fails, the
 * format changed and stores written by earlier builds may no longer read: bump
 * {@code FleetStore.SCHEMA_VERSION} with a migration, or undo the change. To record new golden
 * files deliberately, run with {@code -Dfleetkeeper.golden.write=true} and review the diff.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
final class StoreFormatGoldenTest {
    private static final boolean WRITE = Boolean.getBoolean("fleetkeeper.golden.write");
    private static final Path SOURCE_DIR = Path.of("src/test/resources/golden");

    @Test
    void hostsRecord_encodesToGoldenBytes_andDecodesBack() {
        HostRecord host = Fixtures.host("web-1");
        byte[] key = Keys.host(host.hostId());
        byte[] value = Values.host(host);

        assertGolden("hosts.key", key);
        assertGolden("hosts.value", value);
        assertThat(Values.host(Keys.hostIdOfHostKey(golden("hosts.key")), golden("hosts.value"))).isEqualTo(host);
    }

    @Test
    void latestStateRecord_encodesToGoldenBytes_andDecodesBack() {
        assertGolden("latest_state.key", Keys.latestState("web-1"));
        assertGolden("latest_state.value", Values.state(Fixtures.snapshot(T0), T0 + 1));
        assertThat(Values.state("web-1", golden("latest_state.value"))).isEqualTo(Fixtures.snapshot(T0));
    }

    @Test
    void memoryRecord_encodesToGoldenBytes_andDecodesBack() {
        long time = T0 + 90 * 60_000 + 10_000;
        MemoryPoint point = new MemoryPoint(time, 157_286_400, 120_000_000, 100_000_000, 90_000_000);
        assertGolden("memory.key", Keys.memory(7, Keys.bootId(BOOT), 4242, 123_456, time));
        assertGolden("memory.value", Values.memoryPoint(point));

        byte[] key = golden("memory.key");
        assertThat(Keys.hourOfMemoryKey(key)).isEqualTo(Keys.bucket(time));
        assertThat(Keys.timeOfMemoryKey(key)).isEqualTo(time);
        assertThat(Values.memoryPoint(Keys.timeOfMemoryKey(key), golden("memory.value"))).isEqualTo(point);
    }

    @Test
    void eventRecords_encodeToGoldenBytes_andDecodeBack() {
        Event event = Fixtures.exitEvent("web-1", "web-1:42", T0 + 5).toBuilder().setSequence(1234).build();
        assertGolden("events.key", Keys.event(1234));
        assertGolden("events.value", Values.event(event, T0 + 6));
        assertGolden("event_ids.key", Keys.eventId(Keys.bucket(T0 + 6), "web-1:42"));
        assertGolden("event_ids.value", Keys.u64(1234));

        assertThat(Keys.sequenceOfEventKey(golden("events.key"))).isEqualTo(1234);
        assertThat(Values.event(golden("events.value"))).isEqualTo(event);
        assertThat(Keys.readU64(golden("event_ids.value"))).isEqualTo(1234);
    }

    @Test
    void serviceReportRecord_encodesToGoldenBytes_andDecodesBack() {
        assertGolden("service_reports.key", Keys.serviceReport("web-1"));
        assertGolden("service_reports.value", Values.serviceReport(Fixtures.serviceReport(T0, "api", "worker"), T0 + 1));

        assertThat(Keys.hostIdOfServiceReportKey(golden("service_reports.key"))).isEqualTo("web-1");
        assertThat(Values.serviceReport("web-1", golden("service_reports.value")))
                .isEqualTo(Fixtures.serviceReport(T0, "api", "worker"));
    }

    @Test
    void actionResultRecord_encodesToGoldenBytes_andDecodesBack() {
        String id = FleetStore.actionIdPrefix(T0) + "-7";
        assertThat(id).isEqualTo("019b76daa800-7");
        assertGolden("action_results.key", Keys.actionResult(id));
        assertGolden("action_results.value", Values.actionResult("web-1", Fixtures.doctorResult(id, "done"), T0 + 3));

        assertThat(Values.actionResult(golden("action_results.value")))
                .isEqualTo(new StoredAction("web-1", Fixtures.doctorResult(id, "done"), T0 + 3));
    }

    @Test
    void recycleJobRecord_encodesToGoldenBytes_andDecodesBack() {
        assertGolden("recycle_jobs.key", Keys.recycleJob("rc-019b76daa800-00ff"));
        assertGolden("recycle_jobs.value", Values.recycleJob(Fixtures.recycleJob("rc-019b76daa800-00ff")));

        assertThat(Values.recycleJob("rc-019b76daa800-00ff", golden("recycle_jobs.value")))
                .isEqualTo(Fixtures.recycleJob("rc-019b76daa800-00ff"));
    }

    @Test
    void rolloutRecord_encodesToGoldenBytes_andDecodesBack() {
        assertGolden("rollouts.key", Keys.rollout("ro-019b76daa800-00ff"));
        assertGolden("rollouts.value", Values.rollout(Fixtures.rollout("ro-019b76daa800-00ff")));

        assertThat(Values.rollout("ro-019b76daa800-00ff", golden("rollouts.value")))
                .isEqualTo(Fixtures.rollout("ro-019b76daa800-00ff"));
    }

    @Test
    void metaRecords_encodeToGoldenBytes_andDecodeBack() {
        assertGolden("meta.schema_version.key", Keys.SCHEMA_VERSION);
        assertGolden("meta.schema_version.value", Keys.u32(FleetStore.SCHEMA_VERSION));
        assertGolden("meta.next_event_sequence.key", Keys.NEXT_EVENT_SEQUENCE);
        assertGolden("meta.next_event_sequence.value", Keys.u64(1235));
        assertGolden("meta.next_host_number.key", Keys.NEXT_HOST_NUMBER);
        assertGolden("meta.next_host_number.value", Keys.u32(8));
        assertGolden("meta.host_number.key", Keys.hostNumber("web-1"));
        assertGolden("meta.host_number.value", Keys.u32(7));
        assertGolden("meta.event_hour.key", Keys.eventHour(Keys.bucket(T0)));
        assertGolden("meta.event_hour.value", Keys.u64(1200));

        assertThat(Keys.hostIdOfHostNumberKey(golden("meta.host_number.key"))).isEqualTo("web-1");
        assertThat(Keys.hourOfEventHourKey(golden("meta.event_hour.key"))).isEqualTo(Keys.bucket(T0));
        assertThat(Keys.readU32(golden("meta.schema_version.value"))).isEqualTo(1);
    }

    @Test
    void columnFamilyNames_areTheGoldenOnes() {
        StringBuilder names = new StringBuilder();
        for (ColumnFamily family : ColumnFamily.values()) {
            names.append(family.dbName()).append('\n');
        }
        assertGolden("column_families", names.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static void assertGolden(String name, byte[] actual) {
        String hex = HexFormat.of().formatHex(actual);
        if (WRITE) {
            try {
                Files.createDirectories(SOURCE_DIR);
                Files.writeString(SOURCE_DIR.resolve(name + ".hex"), hex + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return;
        }
        assertThat(hex)
                .as("bytes of %s differ from golden/%s.hex: the stored format changed", name, name)
                .isEqualTo(HexFormat.of().formatHex(golden(name)));
    }

    private static byte[] golden(String name) {
        String resource = "/golden/" + name + ".hex";
        try (InputStream in = StoreFormatGoldenTest.class.getResourceAsStream(resource)) {
            if (in == null) {
                if (WRITE) {
                    return readSource(name);
                }
                throw new AssertionError("missing golden file " + resource);
            }
            return HexFormat.of().parseHex(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] readSource(String name) throws IOException {
        return HexFormat.of().parseHex(Files.readString(SOURCE_DIR.resolve(name + ".hex")).strip());
    }
}
