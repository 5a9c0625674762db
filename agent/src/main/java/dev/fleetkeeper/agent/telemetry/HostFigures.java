package dev.fleetkeeper.agent.telemetry;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Reads the host-wide figures of a {@code /proc} tree: per scan memory ({@code meminfo}), load
 * ({@code loadavg}), memory pressure ({@code pressure/memory}), OOM kills ({@code vmstat}) and
 * uptime into a {@link HostSample}; once, the {@link HostInfo} facts (host name, kernel, boot
 * id and time, CPU count) with USER_HZ and the page size. Not thread-safe; owned by one
 * {@link ProcScanner}. Malformed input is counted in {@link ScanCounts#malformed}; a missing
 * file leaves its figures unknown (-1, NaN or null).
 */
final class HostFigures {

    /** Clock ticks per second when {@code /proc/self/auxv} does not say (USER_HZ on x86/arm). */
    static final int DEFAULT_CLOCK_TICKS = 100;
    static final int DEFAULT_PAGE_SIZE = 4096;

    private static final long AT_PAGESZ = 6;
    private static final long AT_CLKTCK = 17;

    private final String root;
    private final ProcReader reader;
    private final ScanCounts counts;
    private final FieldCursor cursor;

    private HostInfo hostInfo;
    private int clockTicks = DEFAULT_CLOCK_TICKS;
    private long pageSize = DEFAULT_PAGE_SIZE;

    HostFigures(String root, ProcReader reader, ScanCounts counts, FieldCursor cursor) {
        this.root = root;
        this.reader = reader;
        this.counts = counts;
        this.cursor = cursor;
    }

    /** Host facts, read once on first use. */
    HostInfo info() {
        if (hostInfo == null) {
            hostInfo = readHostInfo();
        }
        return hostInfo;
    }

    /** Bytes per page, as {@code /proc/PID/stat} counts RSS; known once {@link #info()} ran. */
    long pageSize() {
        return pageSize;
    }

    /** This moment's host figures, with the given counts and scan statistics (or null). */
    HostSample sample(long now, int processCount, int cpuCount, ScanStats stats) {
        long memTotal = -1;
        long memAvailable = -1;
        long swapTotal = -1;
        long swapFree = -1;
        int n = reader.read(reader.path().append(root).append("/meminfo"));
        byte[] b = reader.buf();
        for (int line = 0; line < n; ) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (ProcFormat.startsWith(b, line, end, "MemTotal:")) {
                memTotal = cursor.field(b, line + 9, end) * 1024;
            } else if (ProcFormat.startsWith(b, line, end, "MemAvailable:")) {
                memAvailable = cursor.field(b, line + 13, end) * 1024;
            } else if (ProcFormat.startsWith(b, line, end, "SwapTotal:")) {
                swapTotal = cursor.field(b, line + 10, end) * 1024;
            } else if (ProcFormat.startsWith(b, line, end, "SwapFree:")) {
                swapFree = cursor.field(b, line + 9, end) * 1024;
            }
            line = end + 1;
        }

        double load1 = Double.NaN;
        double load5 = Double.NaN;
        double load15 = Double.NaN;
        n = reader.read(reader.path().append(root).append("/loadavg"));
        if (n > 0) {
            b = reader.buf();
            int s2 = ProcFormat.indexOf(b, 0, n, (byte) ' ') + 1;
            int s3 = s2 == 0 ? -1 : ProcFormat.indexOf(b, s2, n, (byte) ' ') + 1;
            load1 = ProcFormat.parseDecimal(b, 0, n);
            if (s3 > 0) {
                load5 = ProcFormat.parseDecimal(b, s2, n);
                load15 = ProcFormat.parseDecimal(b, s3, n);
            }
            if (Double.isNaN(load1) || Double.isNaN(load5) || Double.isNaN(load15)) {
                counts.malformed++;
            }
        }

        MemoryPressure pressure = readPressure();

        long oomKills = -1;
        n = reader.read(reader.path().append(root).append("/vmstat"));
        b = reader.buf();
        for (int line = 0; line < n; ) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (ProcFormat.startsWith(b, line, end, "oom_kill ")) {
                oomKills = cursor.field(b, line + 9, end);
                break;
            }
            line = end + 1;
        }

        long uptimeMillis = -1;
        n = reader.read(reader.path().append(root).append("/uptime"));
        if (n > 0) {
            double up = ProcFormat.parseDecimal(reader.buf(), 0, n);
            if (Double.isNaN(up)) {
                counts.malformed++;
            } else {
                uptimeMillis = Math.round(up * 1000);
            }
        }
        return new HostSample(now, memTotal, memAvailable, swapTotal, swapFree, load1, load5, load15,
                pressure, oomKills, uptimeMillis, processCount, cpuCount, stats);
    }

    /** {@code h} with {@code stats} in place of its own. */
    static HostSample withStats(HostSample h, ScanStats stats) {
        return new HostSample(h.sampledAtMillis(), h.memTotalBytes(), h.memAvailableBytes(),
                h.swapTotalBytes(), h.swapFreeBytes(), h.load1(), h.load5(), h.load15(),
                h.memoryPressure(), h.oomKills(), h.uptimeMillis(), h.processCount(), h.cpuCount(),
                stats);
    }

    /** {@code some avg10=0.00 avg60=0.00 avg300=0.00 total=0} and the {@code full} line. */
    private MemoryPressure readPressure() {
        int n = reader.read(reader.path().append(root).append("/pressure/memory"));
        if (n <= 0) {
            return null; // no PSI on this kernel
        }
        byte[] b = reader.buf();
        double[] some = null;
        double[] full = null;
        for (int line = 0; line < n; ) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (ProcFormat.startsWith(b, line, end, "some ")) {
                some = pressureLine(b, line, end);
            } else if (ProcFormat.startsWith(b, line, end, "full ")) {
                full = pressureLine(b, line, end);
            }
            line = end + 1;
        }
        if (some == null) {
            counts.malformed++;
            return null;
        }
        if (full == null) {
            full = new double[4]; // a truncated file: report "full" as zero rather than nothing
        }
        return new MemoryPressure((float) some[0], (float) some[1], (float) some[2],
                (float) full[0], (float) full[1], (float) full[2], (long) some[3], (long) full[3]);
    }

    private double[] pressureLine(byte[] b, int from, int end) {
        double[] v = new double[4];
        String[] keys = {"avg10=", "avg60=", "avg300=", "total="};
        int i = from;
        for (int k = 0; k < 4; k++) {
            int at = -1;
            for (int j = i; j < end; j++) {
                if (ProcFormat.startsWith(b, j, end, keys[k])) {
                    at = j + keys[k].length();
                    break;
                }
            }
            if (at < 0) {
                counts.malformed++;
                return null;
            }
            v[k] = ProcFormat.parseDecimal(b, at, end);
            i = at;
        }
        return v;
    }

    private HostInfo readHostInfo() {
        readAuxv();
        String hostname = readLine("/sys/kernel/hostname");
        String kernel = readLine("/sys/kernel/osrelease");
        String bootId = readLine("/sys/kernel/random/boot_id");
        long btime = -1;
        int cpus = 0;
        int n = reader.read(reader.path().append(root).append("/stat"));
        byte[] b = reader.buf();
        for (int line = 0; line < n; ) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (ProcFormat.startsWith(b, line, end, "btime ")) {
                btime = cursor.field(b, line + 6, end);
            } else if (ProcFormat.startsWith(b, line, end, "cpu") && line + 3 < end
                    && b[line + 3] >= '0' && b[line + 3] <= '9') {
                cpus++;
            }
            line = end + 1;
        }
        if (btime < 0) {
            counts.malformed++;
            btime = 0;
        }
        if (cpus == 0) {
            cpus = Runtime.getRuntime().availableProcessors();
        }
        return new HostInfo(hostname, kernel, bootId, btime * 1000, clockTicks, cpus);
    }

    /**
     * Reads USER_HZ ({@code AT_CLKTCK}) and the page size ({@code AT_PAGESZ}) from the JVM's own
     * auxiliary vector, which the kernel fills with exactly the values it uses in
     * {@code /proc/PID/stat}; without it (a fixture tree) the defaults 100 and 4096 hold, which
     * is what every mainstream x86-64 and arm64 kernel uses.
     */
    private void readAuxv() {
        int n = reader.read(reader.path().append(root).append("/self/auxv"));
        if (n < 16) {
            return;
        }
        ByteBuffer bb = ByteBuffer.wrap(reader.buf(), 0, n).order(ByteOrder.nativeOrder());
        while (bb.remaining() >= 16) {
            long type = bb.getLong();
            long value = bb.getLong();
            if (type == AT_CLKTCK && value > 0 && value < 100_000) {
                clockTicks = (int) value;
            } else if (type == AT_PAGESZ && value > 0) {
                pageSize = value;
            } else if (type == 0) {
                break;
            }
        }
    }

    private String readLine(String relative) {
        int n = reader.read(reader.path().append(root).append(relative));
        if (n <= 0) {
            return "";
        }
        byte[] b = reader.buf();
        int eol = ProcFormat.indexOf(b, 0, n, (byte) '\n');
        return new String(b, 0, eol < 0 ? n : eol, StandardCharsets.UTF_8).trim();
    }
}
