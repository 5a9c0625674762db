package dev.fleetkeeper.agent.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The atomic switch of a deploy root's {@code current} symlink. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CurrentLinkTest {

    @TempDir
    Path root;

    @Test
    void switchTo_pointsCurrentAtTheRelease_andReturnsThePreviousTarget() throws Exception {
        Files.createDirectories(root.resolve("releases/1"));
        Files.createDirectories(root.resolve("releases/2"));
        CurrentLink link = new CurrentLink(root);

        assertThat(link.switchTo("1")).isNull();
        assertThat(link.switchTo("2")).isEqualTo(Path.of("releases/1"));

        assertThat(Files.readSymbolicLink(root.resolve("current"))).isEqualTo(Path.of("releases/2"));
        assertThat(root.resolve("current").toRealPath()).isEqualTo(root.resolve("releases/2").toRealPath());
        assertThat(root.resolve("releases/1")).isDirectory();
        try (var files = Files.list(root)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("releases", "current");
        }
    }

    @Test
    void aMissingRelease_isRefused_andCurrentStaysAsItWas() throws Exception {
        Files.createDirectories(root.resolve("releases/1"));
        CurrentLink link = new CurrentLink(root);
        link.switchTo("1");

        assertThat(link.refusal("9")).contains("releases/9 does not exist").contains("never creates releases");
        assertThatThrownBy(() -> link.switchTo("9")).isInstanceOf(IOException.class);
        assertThat(Files.readSymbolicLink(root.resolve("current"))).isEqualTo(Path.of("releases/1"));
        assertThat(root.resolve("releases/9")).doesNotExist();
    }

    @Test
    void aCurrentThatIsARealDirectory_isNeverReplaced() throws Exception {
        Files.createDirectories(root.resolve("releases/1"));
        Files.createDirectories(root.resolve("current"));
        Files.writeString(root.resolve("current/keep"), "data");

        assertThat(new CurrentLink(root).refusal("1")).contains("is not a symlink");
        assertThatThrownBy(() -> new CurrentLink(root).switchTo("1")).isInstanceOf(IOException.class);
        assertThat(root.resolve("current/keep")).hasContent("data");
    }
}
