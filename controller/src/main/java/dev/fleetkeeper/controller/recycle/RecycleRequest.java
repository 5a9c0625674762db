package dev.fleetkeeper.controller.recycle;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * What an operator asks for: recycle {@code service} on every matching host. Immutable; the
 * compact constructor applies the defaults and checks the values.
 *
 * @param service           the service
 * @param selector          hosts carrying all of these labels (empty: all)
 * @param maxParallel       most instances recycled at once across the fleet; 0 for {@value #DEFAULT_MAX_PARALLEL}
 * @param minAvailable      the per-host floor ("2", "50%", "" for declared - 1)
 * @param stepTimeoutMillis per-step deadline; 0 for {@link #DEFAULT_STEP_TIMEOUT}
 * @param reason            why ("" for "operator request")
 */
public record RecycleRequest(String service, Map<String, String> selector, int maxParallel, String minAvailable,
                             long stepTimeoutMillis, String reason) {

    /** Instances at once across the fleet when not asked. */
    public static final int DEFAULT_MAX_PARALLEL = 1;
    /** How long one instance may take, or a host may hold its step, when not asked. */
    public static final Duration DEFAULT_STEP_TIMEOUT = Duration.ofMinutes(5);

    public RecycleRequest {
        Objects.requireNonNull(service, "service");
        if (service.isBlank()) {
            throw new IllegalArgumentException("service: missing (expected: a service name; see 'fleetkeeper services')");
        }
        selector = Map.copyOf(selector);
        if (maxParallel < 0) {
            throw new IllegalArgumentException("max_parallel: " + maxParallel + " (expected: >= 1, or 0 for the default 1)");
        }
        maxParallel = maxParallel == 0 ? DEFAULT_MAX_PARALLEL : maxParallel;
        minAvailable = MinAvailable.parse(Objects.requireNonNull(minAvailable, "minAvailable")).spec();
        if (stepTimeoutMillis < 0) {
            throw new IllegalArgumentException("step_timeout_ms: " + stepTimeoutMillis + " (expected: > 0, or 0 for the default)");
        }
        stepTimeoutMillis = stepTimeoutMillis == 0 ? DEFAULT_STEP_TIMEOUT.toMillis() : stepTimeoutMillis;
        reason = reason == null || reason.isBlank() ? "operator request" : reason;
    }
}
