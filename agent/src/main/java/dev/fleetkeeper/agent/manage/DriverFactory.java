package dev.fleetkeeper.agent.manage;

import dev.fleetkeeper.agent.service.PreStartCheck;
import dev.fleetkeeper.agent.service.ServiceDriver;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.service.ServiceSpec;

/**
 * Makes the driver that serves a spec. Specs with the same {@link #endpointOf endpoint} share
 * one driver (one supervisord socket, one PM2 home, the one built-in supervisor).
 */
public interface DriverFactory {

    /** Identifies the manager instance that runs {@code spec}. */
    String endpointOf(ServiceSpec spec);

    /**
     * A new driver for {@code spec}'s endpoint that calls {@code check} before every start and
     * reports to {@code events}. Throws {@link dev.fleetkeeper.agent.service.DriverException}
     * when it cannot be made (the manager is not installed).
     */
    ServiceDriver create(ServiceSpec spec, PreStartCheck check, ServiceEvent.Sink events);
}
