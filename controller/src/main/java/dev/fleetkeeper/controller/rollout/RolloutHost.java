package dev.fleetkeeper.controller.rollout;

import dev.fleetkeeper.controller.coordination.ServiceSnapshot;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the controller knows now about one host and the rolled-out service on it, for the pure
 * rollout decisions. Immutable.
 *
 * @param hostId          the host's id
 * @param hostname        its name
 * @param labels          its labels
 * @param online          whether its agent is connected
 * @param lastSeenMillis  when the controller last heard from it
 * @param declared        instances of the service it declares; -1 when it does not report the service
 * @param declaredVersion the version label of the service's declared spec ("" if unset)
 * @param minAvailable    the capacity floor the service declares on the host, in instances; 0 when it
 *                        declares none (or its agent does not report one)
 * @param instances       the instances as its latest report shows them
 * @param findings        the service's findings in that report
 * @param baselines       settled startup memory by version label, in bytes
 */
public record RolloutHost(String hostId, String hostname, Map<String, String> labels, boolean online,
                          long lastSeenMillis, int declared, String declaredVersion, int minAvailable,
                          List<Instance> instances, List<Finding> findings, Map<String, Long> baselines) {

    public RolloutHost {
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(hostname, "hostname");
        Objects.requireNonNull(declaredVersion, "declaredVersion");
        labels = Map.copyOf(labels);
        instances = List.copyOf(instances);
        findings = List.copyOf(findings);
        baselines = Map.copyOf(baselines);
    }

    /**
     * One instance as reported.
     *
     * @param index         the instance index
     * @param running       the manager says RUNNING
     * @param state         the manager's state, for messages ("RUNNING", "BACKOFF")
     * @param pid           the manager's pid, 0 if none
     * @param version       the version label it runs ("" if unset)
     * @param available     RUNNING, consistent with /proc, and holding every expected port
     * @param expectedPorts the ports it is declared to listen on
     * @param boundPorts    those of them its process or a descendant holds
     * @param release       the release applied to it, in full, as its agent reports it; null when it runs
     *                      the declared spec, or its agent does not report releases
     * @param probe         the newest result of its health probe for the process it runs, null if none
     */
    public record Instance(int index, boolean running, String state, int pid, String version, boolean available,
                           List<Integer> expectedPorts, List<Integer> boundPorts, Release release, Probe probe) {
        public Instance {
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(version, "version");
            expectedPorts = List.copyOf(expectedPorts);
            boundPorts = List.copyOf(boundPorts);
        }

        /** An instance without a probe result. */
        public Instance(int index, boolean running, String state, int pid, String version, boolean available,
                        List<Integer> expectedPorts, List<Integer> boundPorts) {
            this(index, running, state, pid, version, available, expectedPorts, boundPorts, null, null);
        }
    }

    /**
     * The newest result of an instance's probe, as its agent ran it.
     *
     * @param probe       the probe ("tcp", "http:/healthz")
     * @param ok          whether it passed
     * @param detail      what the instance answered, or what failed
     * @param pid         the process probed
     */
    public record Probe(String probe, boolean ok, String detail, int pid) {
        public Probe {
            Objects.requireNonNull(probe, "probe");
            Objects.requireNonNull(detail, "detail");
        }
    }

    /**
     * A finding about the service.
     *
     * @param code     its stable code ("CRASH_LOOP")
     * @param instance the instance it concerns, -1 for the whole service
     * @param version  for MEMORY_BASELINE_REGRESSED, the version that regressed; else ""
     * @param summary  its one line
     */
    public record Finding(String code, int instance, String version, String summary) {
        public Finding {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(version, "version");
            Objects.requireNonNull(summary, "summary");
        }
    }

    /**
     * What instance {@code index} runs now, as what a rollback would restore: the release its
     * agent reports, else the declared spec. An instance on another version than the declared one
     * without a reported release has an agent that does not report releases: only its label is
     * known.
     */
    public PreviousRelease running(int index) {
        Instance seen = instance(index);
        if (seen == null) {
            return PreviousRelease.declared(declaredVersion);
        }
        if (seen.release() != null) {
            return PreviousRelease.of(seen.release());
        }
        return seen.version().equals(declaredVersion) ? PreviousRelease.declared(declaredVersion)
                : PreviousRelease.of(Release.ofVersion(seen.version()));
    }

    /** Whether the host reports the service. */
    public boolean reportsService() {
        return declared >= 0;
    }

    /** The instance with {@code index}, or null. */
    public Instance instance(int index) {
        for (Instance i : instances) {
            if (i.index() == index) {
                return i;
            }
        }
        return null;
    }

    /** Whether the host carries every label of {@code selector}. */
    public boolean matches(Map<String, String> selector) {
        return ServiceSnapshot.matches(labels, selector);
    }
}
