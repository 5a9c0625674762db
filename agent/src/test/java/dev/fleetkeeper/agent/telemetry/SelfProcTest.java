package dev.fleetkeeper.agent.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.FileInputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent's own CPU and descriptor figures, read from /proc, against what the JDK says. */
class SelfProcTest {

    @Test
    void threadCpuAgreesWithTheJdkAndGrowsWithWork() {
        var jdk = ManagementFactory.getThreadMXBean();
        long ours0 = SelfProc.threadCpuNanos();
        long jdk0 = jdk.getCurrentThreadCpuTime();
        long sink = 0;
        long until = System.nanoTime() + 200_000_000L;
        while (System.nanoTime() < until) {
            sink += Long.numberOfTrailingZeros(sink + System.nanoTime());
        }
        long ours = SelfProc.threadCpuNanos() - ours0;
        long theirs = jdk.getCurrentThreadCpuTime() - jdk0;
        assertThat(sink).isNotNegative();
        assertThat(ours).isGreaterThan(100_000_000L);
        // Both are the scheduler's runtime of this thread; they differ by the reads in between.
        assertThat((double) ours).isCloseTo(theirs, org.assertj.core.data.Percentage.withPercentage(10));
    }

    @Test
    void freeDescriptorsShrinkAsFilesAreOpened() throws IOException {
        long before = SelfProc.freeFileDescriptors();
        assertThat(before).isPositive();
        List<FileInputStream> open = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                open.add(new FileInputStream("/proc/self/stat"));
            }
            // Other threads of this JVM may open or close a few meanwhile.
            assertThat(SelfProc.freeFileDescriptors()).isBetween(before - 25, before - 15);
        } finally {
            for (FileInputStream f : open) {
                f.close();
            }
        }
    }

    @Test
    void readsTheSoftLimitOfALimitsFile(@TempDir Path dir) throws IOException {
        Path limits = dir.resolve("limits");
        Files.writeString(limits, """
                Limit                     Soft Limit           Hard Limit           Units
                Max cpu time              unlimited            unlimited            seconds
                Max open files            4096                 524288               files
                Max locked memory         8388608              8388608              bytes
                """);
        assertThat(SelfProc.openFilesLimit(limits)).isEqualTo(4096);

        Files.writeString(limits, "Max open files            unlimited            unlimited            files\n");
        assertThat(SelfProc.openFilesLimit(limits)).isEqualTo(Long.MAX_VALUE);

        Files.writeString(limits, "Max processes             100                  100                  processes\n");
        assertThat(SelfProc.openFilesLimit(limits)).isEqualTo(-1);
        assertThat(SelfProc.openFilesLimit(dir.resolve("missing"))).isEqualTo(-1);
    }
}
