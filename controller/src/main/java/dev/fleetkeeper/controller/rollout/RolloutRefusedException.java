package dev.fleetkeeper.controller.rollout;

/** An operator's request the rollout cannot honour now (no host, another rollout active, wrong state). */
public final class RolloutRefusedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RolloutRefusedException(String message) {
        super(message);
    }
}
