package dev.fleetkeeper.agent.manage;

import dev.fleetkeeper.agent.doctor.Finding;
import dev.fleetkeeper.agent.memory.BaselineBook;
import java.util.List;
import java.util.Objects;

/**
 * One declared service as of a reconciliation: its instances side by side with /proc, and what
 * is wrong. Immutable.
 *
 * @param name          the service
 * @param driver        "builtin", "supervisor", "pm2", or "" for an invalid declaration
 * @param version       the spec's version label
 * @param declared      declared instances (0 for an invalid declaration)
 * @param minAvailable  the capacity floor the service declares ({@link dev.fleetkeeper.agent.service.ServiceSpec#declaredFloor}); 0: none
 * @param instances     one view per instance
 * @param findings      current findings
 * @param managerError  why the manager could not be asked, null if it answered
 * @param baselines     settled startup memory by version, newest first (services with a memory policy)
 */
public record ServiceState(String name, String driver, String version, int declared, int minAvailable,
                           List<InstanceView> instances, List<Finding> findings, String managerError,
                           List<BaselineBook.Baseline> baselines) {
    public ServiceState {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(driver, "driver");
        Objects.requireNonNull(version, "version");
        if (minAvailable < 0) {
            throw new IllegalArgumentException("minAvailable: " + minAvailable + " (expected: >= 0)");
        }
        instances = List.copyOf(instances);
        findings = List.copyOf(findings);
        baselines = List.copyOf(baselines);
    }
}
