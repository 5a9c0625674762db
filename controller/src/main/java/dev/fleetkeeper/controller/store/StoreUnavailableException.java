package dev.fleetkeeper.controller.store;

import java.nio.file.Path;
import java.util.Objects;

/**
 * {@link FleetStore#open} refused a directory: its message says which directory, what is wrong
 * with it and what an operator can do. Immutable.
 *
 * <p>The store never repairs, wipes or re-creates a directory it refused: whatever is there may
 * be the only copy of a fleet's history.
 */
public final class StoreUnavailableException extends StoreException {
    private static final long serialVersionUID = 1L;

    /** Why a directory was refused, with the advice shown to the operator. */
    public enum Reason {
        /** RocksDB found corrupt or missing files (CURRENT, MANIFEST, SST, WAL). */
        CORRUPT("the database is corrupt or incomplete",
                "Restore the directory from a backup, or move it aside to start an empty store."),
        /** Another process, or another store in this process, holds the database's LOCK. */
        LOCKED("another process (or another store in this process) has it open",
                "Stop the other controller that uses this directory, or give this one another directory."),
        /** The controller's user may not read or write the directory or a file in it. */
        PERMISSION_DENIED("permission denied",
                "Give the controller's user read and write access to the directory and every file in it."),
        /** Written by a newer Fleetkeeper whose format this build does not know. */
        NEWER_SCHEMA("it was written by a newer Fleetkeeper",
                "Run that Fleetkeeper version or a newer one, or restore a backup taken before the upgrade."),
        /** Not empty, and not a Fleetkeeper store. */
        NOT_A_STORE("it is not a Fleetkeeper store",
                "Point the controller at a new or empty directory, or move this directory's contents aside."),
        /** The file system has no space left for the files RocksDB writes when opening. */
        NO_SPACE("the disk is full",
                "Free space on that file system (df -h; old logs, core dumps), then start the controller again."),
        /** The file system is mounted read-only. */
        READ_ONLY("the file system is read-only",
                "Remount it read-write (check dmesg: a file system remounted read-only after errors needs fsck), "
                        + "or set dataDir to a writable directory."),
        /** Any other failure to read it. */
        UNREADABLE("it could not be read",
                "Check the disk and the RocksDB LOG file in the directory; restore from a backup or move the directory aside.");

        private final String what;
        private final String advice;

        Reason(String what, String advice) {
            this.what = what;
            this.advice = advice;
        }
    }

    private final Path directory;
    private final Reason reason;

    StoreUnavailableException(Path directory, Reason reason, String detail, Throwable cause) {
        super(message(directory, reason, detail), cause);
        this.directory = directory;
        this.reason = reason;
    }

    private static String message(Path directory, Reason reason, String detail) {
        Objects.requireNonNull(reason, "reason");
        return "Cannot open the Fleetkeeper store at " + directory + ": " + reason.what
                + (detail.isEmpty() ? "" : " (" + detail + ")") + ". " + reason.advice
                + " Fleetkeeper never deletes or repairs data on its own.";
    }

    /** The directory that was refused. */
    public Path directory() {
        return directory;
    }

    /** What is wrong with it. */
    public Reason reason() {
        return reason;
    }
}
