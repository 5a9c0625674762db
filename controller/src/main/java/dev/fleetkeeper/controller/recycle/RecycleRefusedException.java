package dev.fleetkeeper.controller.recycle;

/** A recycle that cannot start as asked: no host matches, or one of the service is running. */
public final class RecycleRefusedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RecycleRefusedException(String message) {
        super(message);
    }
}
