package dev.fleetkeeper.agent.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HostIdentityTest {

    private static final String MACHINE_ID = "4c4c4544004e3610804bb4c04f564433";

    @TempDir
    Path dir;

    private Path stateDir() {
        return dir.resolve("state");
    }

    private Path machineId(String content) throws Exception {
        Path file = dir.resolve("machine-id");
        Files.writeString(file, content);
        return file;
    }

    @Test
    void configuredId_wins_overStoredAndMachineId() throws Exception {
        Path machineId = machineId(MACHINE_ID + "\n");
        HostIdentity.resolve("", stateDir(), machineId);

        assertThat(HostIdentity.resolve("web-1.prod", stateDir(), machineId)).isEqualTo("web-1.prod");
    }

    @Test
    void firstStart_seedsFromMachineId_andStoresIt() throws Exception {
        String id = HostIdentity.resolve("", stateDir(), machineId(MACHINE_ID + "\n"));

        assertThat(id).isEqualTo(MACHINE_ID);
        assertThat(Files.readString(stateDir().resolve("host-id")).trim()).isEqualTo(MACHINE_ID);
    }

    @Test
    void storedId_isStable_evenWhenMachineIdChanges() throws Exception {
        String first = HostIdentity.resolve("", stateDir(), machineId(MACHINE_ID));
        Path changed = machineId("0123456789abcdef0123456789abcdef");

        assertThat(HostIdentity.resolve("", stateDir(), changed)).isEqualTo(first);
        assertThat(HostIdentity.resolve("", stateDir(), changed)).isEqualTo(first);
    }

    @Test
    void withoutMachineId_aRandomUuid_isCreatedOnce() {
        Path absent = dir.resolve("no-machine-id");

        String first = HostIdentity.resolve("", stateDir(), absent);

        assertThat(UUID.fromString(first).toString()).isEqualTo(first);
        assertThat(HostIdentity.resolve("", stateDir(), absent)).isEqualTo(first);
    }

    @Test
    void invalidMachineId_isNotUsedAsSeed() throws Exception {
        String id = HostIdentity.resolve("", stateDir(), machineId("not a valid id!\n"));

        assertThat(UUID.fromString(id).toString()).isEqualTo(id);
    }

    @Test
    void invalidConfiguredId_isRejected_sayingWhereAndWhatIsExpected() {
        assertThatThrownBy(() -> HostIdentity.resolve("web 1", stateDir(), dir.resolve("none")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hostId in the agent config: host id 'web 1' "
                        + "(expected: 1-128 characters of letters, digits, '.', '_', ':' or '-')");
        assertThatThrownBy(() -> HostIdentity.resolve("-leading-dash", stateDir(), dir.resolve("none")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'-leading-dash'");
        assertThatThrownBy(() -> HostIdentity.resolve("a".repeat(129), stateDir(), dir.resolve("none")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected: 1-128 characters");
        assertThat(HostIdentity.resolve("a".repeat(128), stateDir(), dir.resolve("none"))).hasSize(128);
    }

    @Test
    void corruptStoredId_isRejected_namingTheFile() throws Exception {
        Files.createDirectories(stateDir());
        Files.writeString(stateDir().resolve("host-id"), "bad id\n");

        assertThatThrownBy(() -> HostIdentity.resolve("", stateDir(), dir.resolve("none")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(stateDir().resolve("host-id") + ": host id 'bad id'");
    }
}
