package dev.fleetkeeper.agent.release;

import dev.fleetkeeper.agent.storage.DurableFiles;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The {@code current} symlink of a service's declared deploy root ({@code releases:} in
 * {@code agent.yaml}): {@code <root>/current -> releases/<version>}. Switched atomically: a new
 * symlink is made next to it under a temporary name, then renamed over {@code current}
 * ({@code rename(2)} replaces the link itself, never what it points to), so that a reader sees
 * the old target or the new one, never no link. Touches {@code <root>/current} and its
 * temporary sibling only; never creates or deletes a release directory, and refuses to replace
 * a {@code current} that is not a symlink. Stateless; callers serialize switches of one root.
 */
public final class CurrentLink {

    private final Path root;

    /** @param root the declared deploy root (absolute) */
    public CurrentLink(Path root) {
        if (!root.isAbsolute()) {
            throw new IllegalArgumentException("root: '" + root + "' (expected: an absolute path)");
        }
        this.root = root;
    }

    /** {@code <root>/current}. */
    public Path path() {
        return root.resolve("current");
    }

    /** What {@code current} points to now (as written in the link), or null when there is no link. */
    public Path target() throws IOException {
        Path current = path();
        return Files.isSymbolicLink(current) ? Files.readSymbolicLink(current) : null;
    }

    /**
     * Why {@code current} cannot be switched to {@code version}, or null when it can: the release
     * directory must exist, and {@code current} must be a symlink or absent.
     */
    public String refusal(String version) {
        Path dir = root.resolve("releases").resolve(version);
        if (!Files.isDirectory(dir)) {
            return "release directory " + dir + " does not exist (the agent never creates releases: deploy it first)";
        }
        return replaceRefusal();
    }

    /** Why {@code current} cannot be replaced, or null when it can: it must be a symlink or absent. */
    public String replaceRefusal() {
        Path current = path();
        if (Files.exists(current, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(current)) {
            return current + " is not a symlink; the agent replaces only a symlink (move it away, or let "
                    + "your deploy tool manage it and send the release without switch_current)";
        }
        return null;
    }

    /**
     * Why {@code current} cannot point at {@code target} (a link target as written, relative to
     * the root), or null when it can: the target must be a directory under {@code releases/}, and
     * {@code current} replaceable.
     */
    public String refusalToPoint(String target) {
        Path releases = root.resolve("releases");
        Path resolved;
        try {
            resolved = root.resolve(target).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            return "'" + target + "' is not a path (" + e.getMessage() + ")";
        }
        if (target.isBlank() || !resolved.startsWith(releases) || resolved.equals(releases)) {
            return "'" + target + "' is not a directory under " + releases + " (the agent points current only at a"
                    + " release)";
        }
        if (!Files.isDirectory(resolved)) {
            return resolved + " does not exist (the agent never creates releases: deploy it again first)";
        }
        return replaceRefusal();
    }

    /**
     * Points {@code current} at {@code releases/<version>} (a relative link, so that the root can
     * be moved or mounted elsewhere) atomically. Returns what it pointed to before, null if none.
     */
    public Path switchTo(String version) throws IOException {
        String refusal = refusal(version);
        if (refusal != null) {
            throw new IOException(refusal);
        }
        return pointTo(Path.of("releases", version));
    }

    /** Points {@code current} at {@code target} (as written into the link) atomically; returns the previous target. */
    public Path pointTo(Path target) throws IOException {
        Path previous = target();
        Path tmp = null;
        for (int attempt = 0; tmp == null; attempt++) {
            Path candidate = root.resolve(".current." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                Files.createSymbolicLink(candidate, target);
                tmp = candidate;
            } catch (FileAlreadyExistsException e) {
                if (attempt > 3) {
                    throw e;
                }
            }
        }
        try {
            Files.move(tmp, path(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        DurableFiles.syncDirectory(root);
        return previous;
    }
}
