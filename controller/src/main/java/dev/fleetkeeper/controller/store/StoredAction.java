package dev.fleetkeeper.controller.store;

import dev.fleetkeeper.proto.v1.ActionResult;
import java.util.Objects;

/**
 * The stored result of one action: the host it ran on and the agent's result with its output
 * (a {@code DoctorReport} or {@code LogTail}), kept as the wire message like a host's latest
 * state (see the package documentation). Immutable.
 *
 * @param hostId the host whose agent sent the result
 * @param result the result as the agent sent it first
 * @param storedAtMillis when the controller stored it (controller clock)
 */
public record StoredAction(String hostId, ActionResult result, long storedAtMillis) {
    public StoredAction {
        Preconditions.checkHostId(hostId);
        Objects.requireNonNull(result, "result");
    }
}
