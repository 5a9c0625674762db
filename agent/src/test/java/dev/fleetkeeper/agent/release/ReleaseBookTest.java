package dev.fleetkeeper.agent.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The durable book of each instance's release, and what a release makes of a declared spec. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ReleaseBookTest {

    @TempDir
    Path tmp;

    private static final Release V2 = new Release("2", "/usr/bin/python3", List.of("worker.py", "--v2"), true,
            Map.of("FEATURE", "on"));

    @Test
    void aRecordedRelease_survivesReopening_perInstance() {
        ReleaseBook book = ReleaseBook.open(tmp.resolve("releases"));
        book.put("web", 0, V2);
        book.put("web", 3, new Release("3", "", List.of(), false, Map.of()));

        ReleaseBook again = ReleaseBook.open(tmp.resolve("releases"));

        assertThat(again.get("web", 0)).isEqualTo(V2);
        assertThat(again.get("web", 3)).isEqualTo(new Release("3", "", List.of(), false, Map.of()));
        assertThat(again.get("web", 1)).isNull();
        assertThat(again.get("other", 0)).isNull();
        assertThat(tmp.resolve("releases")).isDirectoryNotContaining("glob:**.tmp");
    }

    @Test
    void aReleasesProbe_survivesReopening_andABookWrittenBeforeProbes_keepsTheDeclaredProbe() throws Exception {
        Release probed = new Release("4", "", List.of(), false, Map.of(), dev.fleetkeeper.agent.probe.ProbeSpec.parse(
                "http:/healthz"));
        ReleaseBook.open(tmp).put("web", 0, probed);
        assertThat(ReleaseBook.open(tmp).get("web", 0)).isEqualTo(probed);

        // As session-3 agents wrote it: no "probe" key.
        Files.writeString(tmp.resolve("api.json"), "{\"format\":1,\"instances\":{\"1\":{\"version\":\"7\","
                + "\"command\":\"\",\"args\":[],\"argsSet\":false,\"env\":{\"A\":\"b\"}}}}\n");
        assertThat(ReleaseBook.open(tmp).get("api", 1))
                .isEqualTo(new Release("7", "", List.of(), false, Map.of("A", "b"), null));
    }

    @Test
    void puttingNull_returnsTheInstanceToItsDeclaredSpec_durably() {
        ReleaseBook book = ReleaseBook.open(tmp);
        book.put("web", 0, V2);
        book.put("web", 0, null);

        assertThat(ReleaseBook.open(tmp).get("web", 0)).isNull();
    }

    @Test
    void aFailedWrite_changesNothing() throws Exception {
        Path blocked = Files.writeString(tmp.resolve("not-a-dir"), "x");
        ReleaseBook book = ReleaseBook.open(blocked);

        assertThatThrownBy(() -> book.put("web", 0, V2)).isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("cannot record releases");
        assertThat(book.get("web", 0)).isNull();
    }

    @Test
    void anUnreadableFile_isLeftAlone_andItsServiceRunsTheDeclaredSpec() throws Exception {
        Files.writeString(tmp.resolve("web.json"), "{not json");

        ReleaseBook book = ReleaseBook.open(tmp);

        assertThat(book.get("web", 0)).isNull();
        assertThat(tmp.resolve("web.json")).hasContent("{not json");
    }

    @Test
    void aRelease_replacesVersionCommandArgs_mergesEnv_andRunsFromItsReleaseDirectory() throws Exception {
        Path root = tmp.resolve("app");
        Path real = Files.createDirectories(tmp.resolve("builds/b2"));
        Files.createDirectories(root.resolve("releases"));
        Files.createSymbolicLink(root.resolve("releases/2"), real);
        ServiceSpec declared = ServiceSpec.builder("web", DriverKind.BUILTIN).command("/usr/bin/node", "server.js")
                .env(Map.of("NODE_ENV", "production", "FEATURE", "off")).workingDir(root.resolve("current"))
                .version("1").releases(root).build();

        ServiceSpec effective = V2.applyTo(declared);

        assertThat(effective.version()).isEqualTo("2");
        assertThat(effective.command()).isEqualTo("/usr/bin/python3");
        assertThat(effective.args()).containsExactly("worker.py", "--v2");
        assertThat(effective.env()).containsExactlyInAnyOrderEntriesOf(Map.of("NODE_ENV", "production", "FEATURE", "on"));
        assertThat(effective.workingDir()).as("resolved, not through current").isEqualTo(real.toRealPath());

        ServiceSpec labelOnly = new Release("3", "", List.of(), false, Map.of()).applyTo(declared.withRelease("1",
                "/usr/bin/node", List.of("server.js"), declared.env(), null, null));
        assertThat(labelOnly.command()).isEqualTo("/usr/bin/node");
        assertThat(labelOnly.args()).containsExactly("server.js");
    }

    @Test
    void aVersion_mustBeNonEmpty_andNamesADirectoryOnlyWithoutSlashesOrDots() {
        assertThatThrownBy(() -> new Release(" ", "", List.of(), false, Map.of()))
                .hasMessageContaining("version: ' ' (expected: a non-empty version label)");
        assertThat(new Release("2026.11.22-1+abc", "", List.of(), false, Map.of()).versionIsDirectoryName()).isTrue();
        assertThat(new Release("../etc", "", List.of(), false, Map.of()).versionIsDirectoryName()).isFalse();
        assertThat(new Release("..", "", List.of(), false, Map.of()).versionIsDirectoryName()).isFalse();
        assertThat(new Release("a/b", "", List.of(), false, Map.of()).versionIsDirectoryName()).isFalse();
    }
}
