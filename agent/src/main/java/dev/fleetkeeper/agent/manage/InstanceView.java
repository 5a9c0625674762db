package dev.fleetkeeper.agent.manage;

import dev.fleetkeeper.agent.probe.ProbeResult;
import dev.fleetkeeper.agent.release.Release;
import dev.fleetkeeper.agent.service.InstanceStatus;
import dev.fleetkeeper.agent.telemetry.ProcessSample;
import java.util.List;
import java.util.Objects;

/**
 * One instance as its manager reports it ({@code status}) next to what {@code /proc} shows
 * for the manager's pid ({@code process}, null when there is none). Immutable.
 *
 * @param status         the manager's view
 * @param process        the process /proc shows for the manager's pid, null if none
 * @param expectedPorts  ports the instance is declared to listen on
 * @param boundPorts     those that the instance's process or a descendant holds
 * @param consistent     false when the manager and /proc disagree
 * @param memory         the memory trend, for services with a memory policy; null otherwise
 * @param version        the version label the instance runs: its applied release's, else the declared one
 * @param release        the release applied to it; null when it runs the declared spec
 * @param probe          the newest result of its health probe for the process it runs now; null if none
 */
public record InstanceView(InstanceStatus status, ProcessSample process, List<Integer> expectedPorts,
                           List<Integer> boundPorts, boolean consistent, MemoryInfo memory, String version,
                           Release release, ProbeResult probe) {

    /** A view of an instance without a probe result. */
    public InstanceView(InstanceStatus status, ProcessSample process, List<Integer> expectedPorts,
                        List<Integer> boundPorts, boolean consistent, MemoryInfo memory, String version,
                        Release release) {
        this(status, process, expectedPorts, boundPorts, consistent, memory, version, release, null);
    }

    /** A view of an instance on the declared spec, version label "". */
    public InstanceView(InstanceStatus status, ProcessSample process, List<Integer> expectedPorts,
                        List<Integer> boundPorts, boolean consistent, MemoryInfo memory) {
        this(status, process, expectedPorts, boundPorts, consistent, memory, "", null, null);
    }

    /**
     * An instance's memory as the agent tracks it.
     *
     * @param verdict       the leak detector's verdict on its window
     * @param limitBytes    the limit it is measured against
     * @param baselineBytes its settled startup memory, 0 until it settled
     */
    public record MemoryInfo(dev.fleetkeeper.agent.memory.LeakVerdict verdict, long limitBytes, long baselineBytes) {
        public MemoryInfo {
            Objects.requireNonNull(verdict, "verdict");
        }
    }

    /** This view with {@code info} as its memory. */
    public InstanceView withMemory(MemoryInfo info) {
        return new InstanceView(status, process, expectedPorts, boundPorts, consistent, info, version, release,
                probe);
    }

    public InstanceView {
        Objects.requireNonNull(status, "status");
        expectedPorts = List.copyOf(expectedPorts);
        boundPorts = List.copyOf(boundPorts);
        Objects.requireNonNull(version, "version");
        if (release != null && !release.version().equals(version)) {
            throw new IllegalArgumentException("version: '" + version + "' but the release is '" + release.version()
                    + "' (expected: the release's version)");
        }
    }
}
