package dev.fleetkeeper.agent.probe;

import java.util.Objects;

/**
 * The newest outcome of an instance's probe. Immutable.
 *
 * @param probe        the probe that ran ("tcp", "http:/healthz")
 * @param ok           whether the instance answered as a healthy one
 * @param detail       what it answered, or what failed ("HTTP 200 from :8080/healthz", "connection refused on :8080")
 * @param pid          the process the probe was aimed at (the manager's pid when it ran)
 * @param sinceMillis  when the probe first gave this outcome for this process, in milliseconds since the epoch
 */
public record ProbeResult(String probe, boolean ok, String detail, int pid, long sinceMillis) {
    public ProbeResult {
        Objects.requireNonNull(probe, "probe");
        Objects.requireNonNull(detail, "detail");
    }
}
