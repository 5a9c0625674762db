package dev.fleetkeeper.cli.e2e;

import dev.fleetkeeper.controller.store.TmpfsMount;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fleetkeeper-controller} on a data directory it cannot write (a full disk, a read-only
 * file system) exits non-zero with one line on stderr that names the directory and the cause.
 * Uses real tmpfs mounts; skipped where mount is not permitted.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ControllerStartRefusalTest {

    private static final String MAIN = "dev.fleetkeeper.controller.ControllerMain";

    @TempDir
    Path dir;

    private TmpfsMount tmpfs;

    @AfterEach
    void unmount() throws Exception {
        if (tmpfs != null) {
            tmpfs.close();
        }
    }

    @Test
    void startOnAFullDisk_exitsNonZero_withOneLineNamingTheDirectoryAndTheCause() throws Exception {
        tmpfs = TmpfsMount.mount(dir.resolve("disk"), 4);
        Path data = tmpfs.dir().resolve("data");
        Files.createDirectories(data);
        tmpfs.fill("filler");

        JavaMain.Result r = JavaMain.run(dir, MAIN, "--config", config(data).toString());

        assertThat(r.exitCode()).as(r.err()).isNotZero();
        assertThat(r.errLines()).as(r.err()).singleElement().asString()
                .startsWith("fleetkeeper-controller: cannot start: ")
                .contains(data.toString())
                .contains("No space left on device")
                .contains("the disk is full").contains("Free space on that file system");
    }

    @Test
    void startOnAReadOnlyFileSystem_exitsNonZero_withOneLineNamingTheDirectoryAndTheCause() throws Exception {
        tmpfs = TmpfsMount.mount(dir.resolve("disk"), 4);
        Path data = tmpfs.dir().resolve("data");
        tmpfs.remountReadOnly();

        JavaMain.Result r = JavaMain.run(dir, MAIN, "--config", config(data).toString());

        assertThat(r.exitCode()).as(r.err()).isNotZero();
        assertThat(r.errLines()).as(r.err()).singleElement().asString()
                .startsWith("fleetkeeper-controller: cannot start: ")
                .contains(data.toString())
                .contains("Read-only file system")
                .contains("the file system is read-only").contains("Remount it read-write");
    }

    private Path config(Path data) throws java.io.IOException {
        Path file = dir.resolve("controller.yaml");
        Files.writeString(file, "listen: 127.0.0.1:0\ndataDir: " + data + "\nmetrics: {listen: \"\"}\n");
        return file;
    }
}
