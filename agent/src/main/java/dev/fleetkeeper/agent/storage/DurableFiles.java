package dev.fleetkeeper.agent.release;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Makes renames durable. Stateless. */
final class Durable {

    private Durable() {
    }

    /** Makes a rename in {@code dir} durable (Linux allows fsync on a directory opened read-only). */
    static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems refuse fsync on directories; the rename itself is still atomic.
        }
    }
}
