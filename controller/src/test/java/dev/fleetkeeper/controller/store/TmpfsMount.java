package dev.fleetkeeper.controller.store;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A small tmpfs mounted for one test, so that "the disk is full" is a real ENOSPC. Needs root
 * and a kernel that lets this process mount; {@link #mount} skips the test with an assumption
 * when it cannot. {@link #close()} unmounts (lazily if something still holds a file open).
 * Public, and shipped in the controller's test-jar, because the CLI's end-to-end tests use it too.
 */
public final class TmpfsMount implements AutoCloseable {

    private final Path dir;
    private boolean mounted;

    private TmpfsMount(Path dir) {
        this.dir = dir;
    }

    /** Mounts a tmpfs of {@code megabytes} MiB on {@code dir} (created if missing). */
    public static TmpfsMount mount(Path dir, int megabytes) throws IOException {
        Files.createDirectories(dir);
        TmpfsMount m = new TmpfsMount(dir);
        String out = run("mount", "-t", "tmpfs", "-o", "size=" + megabytes + "m", "tmpfs", dir.toString());
        assumeTrue(out == null, "cannot mount a tmpfs here (needs root and mount permission): " + out);
        m.mounted = true;
        return m;
    }

    public Path dir() {
        return dir;
    }

    /**
     * Writes {@code name} in 64 KiB chunks until the file system refuses (ENOSPC), like
     * {@code dd if=/dev/zero}; returns the bytes written.
     */
    /** Makes the mount read-only (root cannot write there either). */
    public void remountReadOnly() throws IOException {
        String out = run("mount", "-o", "remount,ro", dir.toString());
        if (out != null) {
            throw new IOException("cannot remount " + dir + " read-only: " + out);
        }
    }

    public long fill(String name) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        long written = 0;
        try (OutputStream out = Files.newOutputStream(dir.resolve(name))) {
            while (true) {
                out.write(chunk);
                written += chunk.length;
            }
        } catch (IOException full) {
            if (!String.valueOf(full.getMessage()).contains("No space left")) {
                throw full;
            }
        }
        return written;
    }

    @Override
    public void close() throws IOException {
        if (!mounted) {
            return;
        }
        mounted = false;
        String out = run("umount", dir.toString());
        if (out != null) {
            String lazy = run("umount", "-l", dir.toString());
            if (lazy != null) {
                throw new IOException("cannot unmount " + dir + ": " + out + "; " + lazy);
            }
        }
    }

    /** Runs a command; null on success, else what it printed. */
    private static String run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        try {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return String.join(" ", command) + " did not finish in 20 s";
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return String.join(" ", command) + " interrupted";
        }
        return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + out;
    }
}
