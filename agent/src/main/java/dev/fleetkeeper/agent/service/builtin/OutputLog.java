package dev.fleetkeeper.agent.service.builtin;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * One instance's output file ({@code DIR/SERVICE-INSTANCE.log}, stdout and stderr merged in
 * the order the process wrote them) and its rotated copies {@code .1} (newest) to
 * {@code .keep}. Thread-safe: rotation and reading synchronize on this object.
 *
 * <p>The process writes the file itself, opened {@code O_APPEND} (not through a pipe to the
 * agent, which would kill it with SIGPIPE once the agent is gone), so the agent cannot rename
 * the file under it: it would keep writing to the renamed file. Rotation therefore copies the
 * file to {@code .1} and then truncates it in place; because of {@code O_APPEND} the process's
 * next write lands at the new end, offset 0. <b>Loss window:</b> what the process writes between
 * the end of the copy and the truncation is lost; the copy of a file of {@code maxBytes}
 * takes milliseconds, so at most a few lines of a very chatty process are lost per rotation.
 */
final class OutputLog {

    /** Tail never reads more than this from one file, whatever the line count asked for. */
    private static final int TAIL_MAX_BYTES = 1 << 20;

    private final Path file;

    OutputLog(Path dir, String service, int instance) {
        this.file = dir.resolve(service + "-" + instance + ".log");
    }

    Path file() {
        return file;
    }

    Path rotated(int n) {
        return file.resolveSibling(file.getFileName() + "." + n);
    }

    /** Creates the directory; the process's start opens the file itself. */
    void prepare() {
        try {
            Files.createDirectories(file.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create log directory " + file.getParent(), e);
        }
    }

    /** Rotates if the file is larger than {@code maxBytes}; returns whether it did. */
    synchronized boolean rotateIfLarger(long maxBytes, int keep) {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the size of " + file, e);
        }
        if (size <= maxBytes) {
            return false;
        }
        try {
            if (keep > 0) {
                Files.deleteIfExists(rotated(keep));
                for (int n = keep - 1; n >= 1; n--) {
                    if (Files.exists(rotated(n))) {
                        Files.move(rotated(n), rotated(n + 1), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
                Files.copy(file, rotated(1), StandardCopyOption.REPLACE_EXISTING);
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(0);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rotate " + file, e);
        }
        return true;
    }

    /** The last {@code lines} lines, oldest first, from the file and, if it has too few, its rotated copies. */
    synchronized List<String> tail(int lines, int keep) {
        if (lines <= 0) {
            return List.of();
        }
        Deque<String> out = new ArrayDeque<>();
        for (int n = 0; n <= keep && out.size() < lines; n++) {
            List<String> part = lastLines(n == 0 ? file : rotated(n), lines - out.size());
            for (int i = part.size() - 1; i >= 0; i--) {
                out.addFirst(part.get(i));
            }
        }
        return List.copyOf(out);
    }

    /** Up to {@code lines} last lines of {@code f} (a final line without '\n' counts). */
    private static List<String> lastLines(Path f, int lines) {
        byte[] bytes;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            long size = ch.size();
            int len = (int) Math.min(size, TAIL_MAX_BYTES);
            ByteBuffer buf = ByteBuffer.allocate(len);
            long pos = size - len;
            while (buf.hasRemaining()) {
                int n = ch.read(buf, pos + buf.position());
                if (n < 0) {
                    break;
                }
            }
            bytes = new byte[buf.position()];
            buf.flip();
            buf.get(bytes);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f, e);
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (text.endsWith("\n")) {
            text = text.substring(0, text.length() - 1);
        }
        if (text.isEmpty()) {
            return List.of();
        }
        String[] all = text.split("\n", -1);
        List<String> out = new ArrayList<>(Math.min(lines, all.length));
        for (int i = Math.max(0, all.length - lines); i < all.length; i++) {
            out.add(all[i]);
        }
        return out;
    }
}
