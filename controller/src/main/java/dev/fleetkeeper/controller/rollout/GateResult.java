package dev.fleetkeeper.controller.rollout;

import java.util.Objects;

/**
 * One health gate's result for one instance. Immutable.
 *
 * @param gate   {@value #UP}, {@value #PORTS}, {@value #PROBE}, {@value #MEMORY} or {@value #CRASH}
 * @param ok     whether it passes now
 * @param detail the evidence, for a person
 */
public record GateResult(String gate, boolean ok, String detail) {
    /** Running the release's version under its manager, not restarted since the step began verifying. */
    public static final String UP = "up";
    /** Every expected port bound by the instance's process or a descendant. */
    public static final String PORTS = "ports";
    /** The plan's probe answers. */
    public static final String PROBE = "probe";
    /** The new version's settled memory within tolerance of the previous version's. */
    public static final String MEMORY = "memory";
    /** No crash loop, not stuck starting. */
    public static final String CRASH = "crash";

    public GateResult {
        Objects.requireNonNull(gate, "gate");
        Objects.requireNonNull(detail, "detail");
    }
}
