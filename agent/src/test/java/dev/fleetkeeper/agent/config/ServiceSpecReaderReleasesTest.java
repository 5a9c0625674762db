package dev.fleetkeeper.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The {@code releases:} key of a service entry: the deploy root of its releases. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ServiceSpecReaderReleasesTest {

    private static final String SOURCE = ServiceEntries.SOURCE;

    private static ServiceDeclaration only(String... extraLines) {
        return ServiceEntries.only("web", List.of("driver: builtin", "instances: 2", "command: /usr/bin/node"), extraLines);
    }

    @Test
    void noReleasesKey_meansNoDeployRoot() {
        ServiceDeclaration d = only();

        assertThat(d.error()).isNull();
        assertThat(d.spec().releases()).isNull();
        assertThat(d.spec().releaseDir("42")).isNull();
    }

    @Test
    void anAbsoluteRoot_isTheDeployRoot_withReleasesBelowIt() {
        ServiceDeclaration d = only("releases: /srv/app");

        assertThat(d.error()).isNull();
        assertThat(d.spec().releases()).isEqualTo(Path.of("/srv/app"));
        assertThat(d.spec().releaseDir("42")).isEqualTo(Path.of("/srv/app/releases/42"));
    }

    @Test
    void aRelativeRoot_isRejected_withFileLineAndKey() {
        ServiceDeclaration d = only("releases: srv/app");

        assertThat(d.isValid()).isFalse();
        assertThat(d.error()).startsWith(SOURCE + ":6:").contains("service 'web'")
                .contains("releases: 'srv/app' (expected: an absolute path");
    }

    @Test
    void aRootWithDotDotOrTheFileSystemRoot_isRejected() {
        assertThat(only("releases: /srv/../etc").error()).startsWith(SOURCE + ":6:").contains("releases: '/srv/../etc'");
        assertThat(only("releases: /").error()).startsWith(SOURCE + ":6:").contains("releases: '/'");
    }

    @Test
    void aListInsteadOfAPath_isRejected_withTheKey() {
        ServiceDeclaration d = only("releases: [/srv/app]");

        assertThat(d.isValid()).isFalse();
        assertThat(d.error()).startsWith(SOURCE + ":6:").contains("services[0].releases");
    }
}
