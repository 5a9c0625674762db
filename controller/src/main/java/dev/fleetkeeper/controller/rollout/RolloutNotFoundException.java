package dev.fleetkeeper.controller.rollout;

/** No rollout has the id asked for. */
public final class RolloutNotFoundException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RolloutNotFoundException(String rolloutId) {
        super("no rollout '" + rolloutId + "' (see 'fleetkeeper rollout list')");
    }
}
