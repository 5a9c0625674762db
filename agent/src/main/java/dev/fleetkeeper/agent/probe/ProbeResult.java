package dev.fleetkeeper.agent.probe;

import java.util.Objects;

/**
 * The newest outcome of an instance's probe. Immutable.
 *
 * @param probe           the probe ("tcp", "http:/healthz")
 * @param ok              whether the instance answered as a healthy one; false while it has not
 *                        been probed yet, and when its newest result is too old to trust
 * @param detail          what it answered, or what failed ("HTTP 200 from :8080/healthz",
 *                        "connection refused on :8080", "not probed yet")
 * @param pid             the process the probe was aimed at (the manager's pid when it ran)
 * @param sinceMillis     when the probe first gave this outcome for this process, in milliseconds since the epoch
 * @param checkedAtMillis when it last ran against this process; 0 when it has not yet
 */
public record ProbeResult(String probe, boolean ok, String detail, int pid, long sinceMillis, long checkedAtMillis) {
    public ProbeResult {
        Objects.requireNonNull(probe, "probe");
        Objects.requireNonNull(detail, "detail");
    }
}
