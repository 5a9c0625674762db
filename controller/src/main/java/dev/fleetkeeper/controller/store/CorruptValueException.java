package dev.fleetkeeper.controller.store;

/** A stored key or value does not decode: the bytes on disk are not what this build wrote. */
final class CorruptValueException extends StoreException {
    private static final long serialVersionUID = 1L;

    CorruptValueException(String message) {
        super(message);
    }

    CorruptValueException(String message, Throwable cause) {
        super(message, cause);
    }
}
