package dev.fleetkeeper.agent.service.builtin;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The stored instance record: what an agent wrote must be read by the next one, across upgrades. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class BuiltinInstanceRecordTest {

    private static final InstanceRecord GOLDEN = new InstanceRecord(4242, 987654L,
            "0f3c2f5e-7d1a-4b8e-9c2d-1a2b3c4d5e6f", 1735689600000L, "v1.4.2", 3);

    @TempDir
    Path tmp;

    @Test
    void goldenFile_v1_isReadAndWrittenByteForByte() throws IOException {
        String golden;
        try (InputStream in = getClass().getResourceAsStream("/builtin/instance-record-v1")) {
            golden = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }

        assertThat(InstanceRecord.decode(golden)).isEqualTo(GOLDEN);
        assertThat(GOLDEN.encode()).isEqualTo(golden);
    }

    @Test
    void write_replacesTheRecordAtomically_andLeavesNoTempFile() {
        Path file = tmp.resolve("services/web/0");
        new InstanceRecord(1, 2, "b", 3, "old", 0).write(file);

        GOLDEN.write(file);

        assertThat(InstanceRecord.read(file)).isEqualTo(GOLDEN);
        assertThat(file.resolveSibling("0.tmp")).doesNotExist();
        InstanceRecord.delete(file);
        assertThat(InstanceRecord.read(file)).isNull();
    }

    @Test
    void decode_ignoresUnknownKeys_andRejectsOtherFormats() throws IOException {
        assertThat(InstanceRecord.decode(GOLDEN.encode() + "cgroup=/fleetkeeper/web\n")).isEqualTo(GOLDEN);
        assertThat(InstanceRecord.decode(GOLDEN.encode().replace("format=1", "format=2"))).isNull();
        Files.writeString(tmp.resolve("garbage"), "pid=notanumber\n");
        assertThat(InstanceRecord.read(tmp.resolve("garbage"))).isNull();
    }
}
