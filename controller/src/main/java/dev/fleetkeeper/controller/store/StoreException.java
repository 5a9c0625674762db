package dev.fleetkeeper.controller.store;

/**
 * An operation on the store failed: the disk, RocksDB, or a stored value that cannot be read.
 * Unchecked; the controller maps it to an error for its callers in one place. Immutable.
 */
public class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StoreException(String message) {
        super(message);
    }

    StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
