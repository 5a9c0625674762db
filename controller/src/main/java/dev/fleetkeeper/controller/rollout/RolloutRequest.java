package dev.fleetkeeper.controller.rollout;

import java.util.Map;
import java.util.Objects;

/**
 * An operator's request to roll a release out. Immutable; the plan is already validated (its
 * constructor checks it), the rest is checked against the fleet when the rollout is planned.
 *
 * @param service  the service
 * @param selector only hosts carrying all of these labels
 * @param release  the release (version required)
 * @param plan     how
 * @param reason   why; "" for "operator request"
 */
public record RolloutRequest(String service, Map<String, String> selector, Release release, RolloutPlan plan,
                             String reason) {

    public RolloutRequest {
        Objects.requireNonNull(service, "service");
        selector = Map.copyOf(selector);
        Objects.requireNonNull(release, "release");
        Objects.requireNonNull(plan, "plan");
        Objects.requireNonNull(reason, "reason");
        reason = reason.isBlank() ? "operator request" : reason.strip();
    }
}
