package dev.fleetkeeper.agent.telemetry;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystem;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads small {@code /proc} files into one reused byte array. Not thread-safe; owned by one
 * {@link ProcScanner}.
 *
 * <p>Why {@link FileChannel} rather than {@code RandomAccessFile}: measured on 1,000 processes,
 * reading {@code /proc/PID/stat} costs 7.0 µs per file with {@code RandomAccessFile} and 7.5 µs
 * with {@code FileChannel}, but only the channel reports {@link java.nio.file.NoSuchFileException}
 * and {@link AccessDeniedException} as types, and we must tell "the process vanished" from "we
 * may not read this" without parsing error messages. Reads go into a heap buffer wrapping the
 * same array: the JDK copies through a cached per-thread direct buffer, so nothing is allocated
 * per read after warm-up except the path and the channel itself.
 */
final class ProcReader {

    /** The file (or its process) does not exist any more. */
    static final int GONE = -1;
    /** The file exists but this agent may not read it. */
    static final int DENIED = -2;

    private static final int MAX_SIZE = 64 << 20;
    /** The smallest buffer a seq_file renders into: PAGE_SIZE, 4 KiB or more on every arch. */
    private static final int SEQ_BUFFER_MIN = 4096;
    /** More than any one {@code /proc/net/{tcp,udp}{,6}} row (150, 128, about 180 bytes). */
    private static final int SEQ_RECORD_MAX = 1024;

    private final FileSystem fs;
    private final StringBuilder path = new StringBuilder(64);
    private byte[] buf = new byte[16 << 10];
    private ByteBuffer wrapped = ByteBuffer.wrap(buf);

    ProcReader(FileSystem fs) {
        this.fs = fs;
    }

    /** The buffer holding the last successful read; valid until the next call. */
    byte[] buf() {
        return buf;
    }

    /** A reusable builder for the next path; cleared on every call. */
    StringBuilder path() {
        path.setLength(0);
        return path;
    }

    Path toPath(CharSequence p) {
        return fs.getPath(p.toString());
    }

    /**
     * Reads the whole file named by {@link #path()} (or by {@code p}) into {@link #buf()} and
     * returns its length, {@link #GONE} or {@link #DENIED}. Files larger than 64 MiB are cut.
     */
    int read(CharSequence p) {
        return read(toPath(p));
    }

    /**
     * Reads a small single-record file ({@code /proc/PID/stat}) with one {@code read} call;
     * returns its length, or {@link #GONE} on any failure. The hot path: one per process per
     * scan. {@code RandomAccessFile} takes the path as a string (no {@link Path} to build) and
     * allocates 192 bytes per file against the channel's 640, and a seq_file with one record
     * returns all of it in the first read, which saves the second read that would only report
     * end of file (measured: 4.8 µs against 5.7 µs per file). Every failure counts as gone: the
     * file is world-readable, so the only way to fail is for the process to be gone.
     */
    int readSmall(CharSequence p) {
        try (RandomAccessFile f = new RandomAccessFile(p.toString(), "r")) {
            // At most 8 KiB per call: above that the JDK mallocs a native buffer per read.
            int n = f.read(buf, 0, 8192);
            if (n < 0) {
                return 0;
            }
            // A full buffer means the file is not small after all: read it the long way.
            return n == 8192 ? read(p) : n;
        } catch (IOException e) {
            return GONE;
        }
    }

    /**
     * Opens a small single-record file to be read again with {@link #readAgain} on every scan;
     * null on any failure (on {@code /proc/PID/stat}: the process is gone).
     */
    RandomAccessFile open(CharSequence p) {
        try {
            return new RandomAccessFile(p.toString(), "r");
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Reads {@code f}, opened by {@link #open}, again from its start with one positional read
     * ({@code pread} at offset 0: a seq_file renders its record anew when read from offset 0).
     * One syscall where {@code seek} + {@code read} took two: strace on the agent at 1,000
     * processes showed the {@code lseek}s as 15 % of its syscall time. Returns the length, or
     * {@link #GONE} on any failure (on a held {@code /proc/PID/stat}: ESRCH, its process is
     * gone) and when the file fills the 8 KiB that one call reads, so that the caller reads it
     * the long way instead.
     */
    int readAgain(RandomAccessFile f) {
        try {
            wrapped.limit(8192).position(0);
            int n = f.getChannel().read(wrapped, 0);
            return n <= 0 || n == 8192 ? GONE : n;
        } catch (IOException e) {
            return GONE;
        }
    }

    /** {@link #readAgain} for a file just opened, which is at offset 0 already. */
    int readFirst(RandomAccessFile f) {
        try {
            int n = f.read(buf, 0, 8192);
            return n <= 0 || n == 8192 ? GONE : n;
        } catch (IOException e) {
            return GONE;
        }
    }

    /** Closes a file from {@link #open}; a failing close of a read-only file loses nothing. */
    static void closeQuietly(RandomAccessFile f) {
        try {
            f.close();
        } catch (IOException e) {
            // Nothing was written; the descriptor is released either way.
        }
    }

    /**
     * Where the rows of interest in a table end: given the buffer and the complete lines in
     * {@code [from, to)} ({@code from} is a line start), the start of the first line past them,
     * or -1 if they may go on.
     */
    interface PrefixEnd {
        int find(byte[] b, int from, int to);
    }

    /**
     * Reads a {@code /proc/net} socket table like {@link #read(CharSequence)}, but without the
     * final read that would only report end of file, which on these tables is as dear as the
     * whole table: {@code tcp_seq_start} cannot resume past the last bucket, so it walks the
     * listening hash and the whole established hash again (262,144 buckets on a large host)
     * only to find nothing. Instead, a read that returns less than it was asked for and less
     * than a seq_file's smallest buffer minus one record is taken as the end: a seq_file read
     * stops short of the request only at the end of the table, or when the next record does
     * not fit in its buffer (at least {@value #SEQ_BUFFER_MIN} bytes), which a read of at most
     * {@value #SEQ_BUFFER_MIN} - {@value #SEQ_RECORD_MAX} bytes rules out. A plain file (a
     * fixture) reads short only at its end anyway.
     *
     * <p>With a {@code prefix} (null: the whole table), reading stops as soon as a complete line
     * past the rows of interest has been read, and the length returned ends where that line
     * starts, so the caller sees only whole lines of the prefix. The first read asks for at
     * most {@code firstAsk} bytes: a seq_file renders (and the kernel searches for) only as many
     * records as the request holds, rounded up to one record and capped at its buffer, so
     * asking for about the prefix's size spares the rows after it.
     */
    int readTable(CharSequence p, int firstAsk, PrefixEnd prefix) {
        try (FileChannel ch = FileChannel.open(toPath(p), StandardOpenOption.READ)) {
            int n = 0;
            int scanned = 0;
            boolean first = true;
            while (true) {
                if (buf.length - n < SEQ_BUFFER_MIN) {
                    if (buf.length >= MAX_SIZE) {
                        return n;
                    }
                    byte[] bigger = new byte[buf.length * 2];
                    System.arraycopy(buf, 0, bigger, 0, n);
                    buf = bigger;
                    wrapped = ByteBuffer.wrap(buf);
                }
                int asked = first ? Math.min(buf.length - n, Math.max(1, firstAsk)) : buf.length - n;
                first = false;
                wrapped.limit(n + asked).position(n);
                int r = ch.read(wrapped);
                if (r < 0) {
                    return n;
                }
                n += r;
                if (prefix != null) {
                    int lastLine = ProcFormat.lastIndexOf(buf, scanned, n, (byte) '\n');
                    if (lastLine >= 0) {
                        int end = prefix.find(buf, scanned, lastLine + 1);
                        if (end >= 0) {
                            return end;
                        }
                        scanned = lastLine + 1;
                    }
                }
                if (r < asked && r <= SEQ_BUFFER_MIN - SEQ_RECORD_MAX) {
                    return n;
                }
            }
        } catch (AccessDeniedException e) {
            return DENIED;
        } catch (IOException e) {
            return GONE;
        }
    }

    int read(Path p) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            int n = 0;
            while (true) {
                if (n == buf.length) {
                    if (buf.length >= MAX_SIZE) {
                        return n;
                    }
                    byte[] bigger = new byte[buf.length * 2];
                    System.arraycopy(buf, 0, bigger, 0, n);
                    buf = bigger;
                    wrapped = ByteBuffer.wrap(buf);
                }
                wrapped.limit(buf.length).position(n);
                int r = ch.read(wrapped);
                if (r < 0) {
                    return n;
                }
                n += r;
            }
        } catch (AccessDeniedException e) {
            return DENIED;
        } catch (IOException e) {
            // NoSuchFileException, and ESRCH ("No such process") when the task died between
            // open and read: both mean the process is gone.
            return GONE;
        }
    }
}
