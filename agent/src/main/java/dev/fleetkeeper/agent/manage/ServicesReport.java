package dev.fleetkeeper.agent.manage;

import java.util.List;

/** Every declared service of the host as of one reconciliation, in declaration order. Immutable. */
public record ServicesReport(long takenAtMillis, List<ServiceState> services) {
    public ServicesReport {
        services = List.copyOf(services);
    }
}
