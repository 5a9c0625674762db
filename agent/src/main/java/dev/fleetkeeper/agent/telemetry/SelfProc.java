package dev.fleetkeeper.agent.telemetry;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Facts about the agent's own process, read from {@code /proc/self} and
 * {@code /proc/thread-self} rather than through {@code java.lang.management}: its MXBeans load
 * some fifty classes (and JFR's MXBean provider) that stay in the metaspace of an agent whose
 * memory budget is counted in single mebibytes.
 */
final class SelfProc {

    private static final String THREAD_SCHEDSTAT = "/proc/thread-self/schedstat";

    private SelfProc() {
    }

    /**
     * CPU time of the calling thread in nanoseconds, user and system (the first field of
     * {@code /proc/thread-self/schedstat}, the scheduler's {@code sum_exec_runtime}); 0 where
     * that file cannot be read, so that differences read as "not measured".
     */
    static long threadCpuNanos() {
        byte[] buf = new byte[64];
        try (RandomAccessFile f = new RandomAccessFile(THREAD_SCHEDSTAT, "r")) {
            int n = f.read(buf);
            long v = 0;
            for (int i = 0; i < n; i++) {
                int d = buf[i] - '0';
                if (d < 0 || d > 9) {
                    return i == 0 ? 0 : v;
                }
                v = v * 10 + d;
            }
            return v;
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * File descriptors this process may still open: the soft "Max open files" limit of
     * {@code /proc/self/limits} less the entries of {@code /proc/self/fd}; -1 when either cannot
     * be read.
     */
    static long freeFileDescriptors() {
        long limit = openFilesLimit(Path.of("/proc/self/limits"));
        String[] open = new File("/proc/self/fd").list();
        return limit < 0 || open == null ? -1 : Math.max(0, limit - open.length);
    }

    /**
     * The soft limit on the "Max open files" line of a {@code limits} file, {@link Long#MAX_VALUE}
     * for "unlimited"; -1 if there is no such line or it cannot be read.
     */
    static long openFilesLimit(Path limits) {
        try {
            for (String line : Files.readAllLines(limits, StandardCharsets.US_ASCII)) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                    if (soft.equals("unlimited")) {
                        return Long.MAX_VALUE;
                    }
                    return !soft.isEmpty() && soft.chars().allMatch(Character::isDigit) ? Long.parseLong(soft) : -1;
                }
            }
            return -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
