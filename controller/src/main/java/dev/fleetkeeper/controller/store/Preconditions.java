package dev.fleetkeeper.controller.store;

import java.util.Objects;

/** Argument checks shared by the store's records; messages say what was expected. */
final class Preconditions {
    private Preconditions() {}

    static void checkHostId(String hostId) {
        Objects.requireNonNull(hostId, "hostId");
        if (hostId.isEmpty()) {
            throw new IllegalArgumentException("hostId: \"\" (expected: non-empty)");
        }
    }

    static void checkNotNegative(String name, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: >= 0)");
        }
    }
}
