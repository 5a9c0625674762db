package dev.fleetkeeper.agent.action;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The action ids this agent has applied, kept on disk so that each id is applied at most once
 * across reconnects and agent restarts. An id is recorded (and fsynced) before the action
 * runs: a crash in between loses the action rather than running it twice. Keeps the newest
 * {@code capacity} ids. Not thread-safe: owned by the agent's loop thread.
 */
public final class AppliedActions {

    private final Path file;
    private final int capacity;
    private final ArrayDeque<String> order = new ArrayDeque<>();
    private final Set<String> ids = new HashSet<>();
    private int linesOnDisk;

    private AppliedActions(Path file, int capacity) {
        this.file = file;
        this.capacity = capacity;
    }

    /** Loads the ids recorded in {@code stateDir/applied-actions}. */
    public static AppliedActions open(Path stateDir, int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: > 0)");
        }
        AppliedActions applied = new AppliedActions(stateDir.resolve("applied-actions"), capacity);
        try {
            Files.createDirectories(stateDir);
            for (String line : Files.readAllLines(applied.file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    applied.remember(line.trim());
                    applied.linesOnDisk++;
                }
            }
        } catch (NoSuchFileException e) {
            // Nothing applied yet.
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + applied.file + ": " + e.getMessage(), e);
        }
        return applied;
    }

    /**
     * Records {@code actionId} durably. Returns false, recording nothing, when it was applied
     * before.
     */
    public boolean markApplied(String actionId) {
        if (ids.contains(actionId)) {
            return false;
        }
        remember(actionId);
        try {
            if (linesOnDisk >= 2 * capacity) {
                compact();
            } else {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.APPEND)) {
                    ch.write(StandardCharsets.UTF_8.encode(actionId + "\n"));
                    ch.force(false);
                }
                linesOnDisk++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record applied action " + actionId + " in " + file, e);
        }
        return true;
    }

    public boolean contains(String actionId) {
        return ids.contains(actionId);
    }

    /** The newest ids, oldest first (sent in Hello). */
    public List<String> recent(int max) {
        List<String> all = List.copyOf(order);
        return all.subList(Math.max(0, all.size() - max), all.size());
    }

    private void remember(String id) {
        if (ids.add(id)) {
            order.addLast(id);
            while (order.size() > capacity) {
                ids.remove(order.removeFirst());
            }
        }
    }

    private void compact() throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(StandardCharsets.UTF_8.encode(String.join("\n", order) + "\n"));
            ch.force(false);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        linesOnDisk = order.size();
    }
}
