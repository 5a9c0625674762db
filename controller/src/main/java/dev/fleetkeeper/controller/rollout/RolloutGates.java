package dev.fleetkeeper.controller.rollout;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The health gates of one instance, pure: evaluated from what its agent reports. Stateless;
 * thread-safe.
 *
 * <ul>
 * <li>{@code up}: the manager says RUNNING with a pid, the instance runs the release's version,
 *     its process is not the one it had before the step, and not another one than first seen
 *     while verifying (a different pid means it restarted).</li>
 * <li>{@code ports}: every expected port is bound by the instance's process or a descendant.</li>
 * <li>{@code probe}: the instance's health probe, run by its agent, passes for the process it
 *     runs now: the rollout's probe (the plan's, sent with the release), or the service's
 *     declared one. With neither, the gate passes ("no probe configured"). The planner's
 *     min_healthy window applies to it like to every other gate.</li>
 * <li>{@code memory}: the new version's settled memory within the plan's tolerance of the
 *     previous version's baseline; with no tolerance in the plan, no MEMORY_BASELINE_REGRESSED
 *     finding for the new version (the agent applies the service's own tolerance).</li>
 * <li>{@code crash}: no CRASH_LOOP or STUCK_STARTING finding for the instance.</li>
 * </ul>
 * A failed {@code memory} or {@code crash} gate fails the step at once; the others may still
 * pass before the healthy deadline.
 */
final class RolloutGates {
    static final String CRASH_LOOP = "CRASH_LOOP";
    static final String STUCK_STARTING = "STUCK_STARTING";
    static final String BASELINE_REGRESSED = "MEMORY_BASELINE_REGRESSED";

    private RolloutGates() {
    }

    /** Every gate of {@code step}'s instance as {@code host} reports it now. */
    static List<GateResult> evaluate(Rollout rollout, RolloutStep step, RolloutHost host) {
        RolloutHost.Instance seen = host.instance(step.instance());
        String version = rollout.release().version();
        List<GateResult> out = new ArrayList<>();
        out.add(up(step, seen, version));
        out.add(ports(seen));
        out.add(probe(rollout, seen));
        out.add(memory(rollout, step, host));
        out.add(crash(step, host));
        return List.copyOf(out);
    }

    /** Whether a failed gate among {@code gates} fails the step at once. */
    static boolean definitive(List<GateResult> gates) {
        for (GateResult g : gates) {
            if (!g.ok() && (g.gate().equals(GateResult.MEMORY) || g.gate().equals(GateResult.CRASH))) {
                return true;
            }
        }
        return false;
    }

    static boolean allOk(List<GateResult> gates) {
        return gates.stream().allMatch(GateResult::ok);
    }

    /** "up: ..., ports: ..." for the gates that fail. */
    static String failing(List<GateResult> gates) {
        List<String> out = new ArrayList<>();
        for (GateResult g : gates) {
            if (!g.ok()) {
                out.add(g.gate() + ": " + g.detail());
            }
        }
        return String.join("; ", out);
    }

    private static GateResult up(RolloutStep step, RolloutHost.Instance seen, String version) {
        if (seen == null) {
            return new GateResult(GateResult.UP, false, "not reported by its host");
        }
        if (!seen.running() || seen.pid() <= 0) {
            return new GateResult(GateResult.UP, false, seen.state().toLowerCase(Locale.ROOT)
                    + (seen.pid() > 0 ? ", pid " + seen.pid() : ""));
        }
        if (!seen.version().equals(version)) {
            return new GateResult(GateResult.UP, false, "runs version " + label(seen.version()) + ", expected "
                    + label(version));
        }
        if (step.changed() && step.oldPid() > 0 && seen.pid() == step.oldPid()) {
            return new GateResult(GateResult.UP, false, "still the process from before (pid " + seen.pid() + ")");
        }
        if (step.newPid() > 0 && seen.pid() != step.newPid()) {
            return new GateResult(GateResult.UP, false, "restarted (pid " + step.newPid() + " -> " + seen.pid() + ")");
        }
        return new GateResult(GateResult.UP, true, "running, pid " + seen.pid() + ", version " + label(version));
    }

    private static GateResult ports(RolloutHost.Instance seen) {
        if (seen == null) {
            return new GateResult(GateResult.PORTS, false, "not reported by its host");
        }
        if (seen.expectedPorts().isEmpty()) {
            return new GateResult(GateResult.PORTS, true, "no ports declared");
        }
        List<String> missing = new ArrayList<>();
        for (int p : seen.expectedPorts()) {
            if (!seen.boundPorts().contains(p)) {
                missing.add(Integer.toString(p));
            }
        }
        if (!missing.isEmpty()) {
            return new GateResult(GateResult.PORTS, false, "port" + (missing.size() > 1 ? "s " : " ")
                    + String.join(", ", missing) + " not bound by the instance");
        }
        return new GateResult(GateResult.PORTS, true, "bound: " + seen.expectedPorts());
    }

    private static GateResult probe(Rollout rollout, RolloutHost.Instance seen) {
        String expected = rollout.release().probe();
        if (seen == null) {
            return new GateResult(GateResult.PROBE, expected.isEmpty(), "not reported by its host");
        }
        RolloutHost.Probe p = seen.probe();
        if (p == null && expected.isEmpty()) {
            return new GateResult(GateResult.PROBE, true, "no probe configured");
        }
        if (p == null || p.pid() != seen.pid() || (!expected.isEmpty() && !p.probe().equals(expected))) {
            return new GateResult(GateResult.PROBE, false, (expected.isEmpty() ? p.probe() : expected)
                    + ": no result for pid " + seen.pid() + " from its agent (an agent that reports no probe "
                    + "result cannot run probes: upgrade it, or roll out without --probe)");
        }
        return new GateResult(GateResult.PROBE, p.ok(), p.probe() + ": " + p.detail());
    }

    private static GateResult memory(Rollout rollout, RolloutStep step, RolloutHost host) {
        String version = rollout.release().version();
        double tolerance = rollout.plan().memoryTolerance();
        if (tolerance > 0) {
            Long now = host.baselines().get(version);
            Long before = host.baselines().get(step.previous().version());
            if (now == null || before == null || before == 0 || step.previous().version().equals(version)) {
                return new GateResult(GateResult.MEMORY, true, "no baseline to compare yet"
                        + (now == null ? " (" + label(version) + " not settled)" : ""));
            }
            boolean ok = now <= before * (1 + tolerance);
            return new GateResult(GateResult.MEMORY, ok, "baseline " + mib(now) + " vs " + mib(before) + " for "
                    + label(step.previous().version()) + " (tolerance " + Math.round(tolerance * 100) + "%)");
        }
        for (RolloutHost.Finding f : host.findings()) {
            if (f.code().equals(BASELINE_REGRESSED) && f.version().equals(version)) {
                return new GateResult(GateResult.MEMORY, false, f.summary());
            }
        }
        return new GateResult(GateResult.MEMORY, true, "no baseline regression reported");
    }

    private static GateResult crash(RolloutStep step, RolloutHost host) {
        for (RolloutHost.Finding f : host.findings()) {
            if ((f.code().equals(CRASH_LOOP) || f.code().equals(STUCK_STARTING))
                    && (f.instance() == step.instance() || f.instance() < 0)) {
                return new GateResult(GateResult.CRASH, false, f.code() + ": " + f.summary());
            }
        }
        return new GateResult(GateResult.CRASH, true, "no crash loop");
    }

    private static String label(String version) {
        return version.isEmpty() ? "(unlabelled)" : version;
    }

    private static String mib(long bytes) {
        return (bytes >> 20) + " MiB";
    }
}
