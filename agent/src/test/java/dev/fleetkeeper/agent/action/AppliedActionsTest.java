package dev.fleetkeeper.agent.action;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AppliedActionsTest {

    @TempDir
    Path stateDir;

    @Test
    void markApplied_isTrueOnce_thenFalse() {
        AppliedActions applied = AppliedActions.open(stateDir, 16);

        assertThat(applied.contains("a-1")).isFalse();
        assertThat(applied.markApplied("a-1")).isTrue();
        assertThat(applied.contains("a-1")).isTrue();
        assertThat(applied.markApplied("a-1")).isFalse();
        assertThat(applied.recent(10)).containsExactly("a-1");
    }

    @Test
    void appliedIds_surviveReopen_soAnActionIsAppliedAtMostOnce() {
        AppliedActions first = AppliedActions.open(stateDir.resolve("nested"), 16);
        first.markApplied("a-1");
        first.markApplied("a-2");

        AppliedActions reopened = AppliedActions.open(stateDir.resolve("nested"), 16);

        assertThat(reopened.markApplied("a-1")).isFalse();
        assertThat(reopened.markApplied("a-2")).isFalse();
        assertThat(reopened.markApplied("a-3")).isTrue();
        assertThat(reopened.recent(10)).containsExactly("a-1", "a-2", "a-3");
        assertThat(AppliedActions.open(stateDir.resolve("nested"), 16).markApplied("a-3")).isFalse();
    }

    @Test
    void idIsOnDisk_beforeMarkAppliedReturns() throws Exception {
        AppliedActions applied = AppliedActions.open(stateDir, 16);

        applied.markApplied("a-1");

        assertThat(Files.readAllLines(stateDir.resolve("applied-actions"), StandardCharsets.UTF_8))
                .containsExactly("a-1");
    }

    @Test
    void capacity_keepsTheNewestIds_inMemoryAndAcrossReopen() {
        AppliedActions applied = AppliedActions.open(stateDir, 3);
        for (int i = 1; i <= 5; i++) {
            assertThat(applied.markApplied("a-" + i)).isTrue();
        }

        assertThat(applied.recent(10)).containsExactly("a-3", "a-4", "a-5");
        assertThat(applied.contains("a-2")).isFalse();

        AppliedActions reopened = AppliedActions.open(stateDir, 3);
        assertThat(reopened.recent(10)).containsExactly("a-3", "a-4", "a-5");
        assertThat(reopened.markApplied("a-5")).isFalse();
    }

    @Test
    void compaction_boundsTheFile_andKeepsTheNewestIds() throws Exception {
        AppliedActions applied = AppliedActions.open(stateDir, 3);
        Path file = stateDir.resolve("applied-actions");

        for (int i = 1; i <= 50; i++) {
            applied.markApplied("a-" + i);
            assertThat(Files.readAllLines(file, StandardCharsets.UTF_8)).as("after a-%d", i).hasSizeLessThanOrEqualTo(6);
        }

        List<String> onDisk = Files.readAllLines(file, StandardCharsets.UTF_8);
        assertThat(onDisk).endsWith("a-48", "a-49", "a-50");
        assertThat(Files.exists(stateDir.resolve("applied-actions.tmp"))).isFalse();
        AppliedActions reopened = AppliedActions.open(stateDir, 3);
        assertThat(reopened.recent(10)).containsExactly("a-48", "a-49", "a-50");
        for (int i = 48; i <= 50; i++) {
            assertThat(reopened.markApplied("a-" + i)).isFalse();
        }
    }

    @Test
    void recent_returnsAtMostMax_newestLast() {
        AppliedActions applied = AppliedActions.open(stateDir, 16);
        for (int i = 1; i <= 5; i++) {
            applied.markApplied("a-" + i);
        }

        assertThat(applied.recent(2)).containsExactly("a-4", "a-5");
        assertThat(applied.recent(0)).isEmpty();
    }

    @Test
    void blankLinesAndSurroundingSpaces_inTheFile_areIgnored() throws Exception {
        Files.writeString(stateDir.resolve("applied-actions"), "a-1\n\n  a-2  \n");

        AppliedActions applied = AppliedActions.open(stateDir, 16);

        assertThat(applied.recent(10)).containsExactly("a-1", "a-2");
    }

    @Test
    void nonPositiveCapacity_isRejected() {
        assertThatThrownBy(() -> AppliedActions.open(stateDir, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("capacity: 0 (expected: > 0)");
    }
}
