package dev.fleetkeeper.agent.manage;

import dev.fleetkeeper.agent.service.PreStartCheck;
import dev.fleetkeeper.agent.service.ServiceDriver;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.service.builtin.BuiltinDriver;
import dev.fleetkeeper.agent.service.pm2.Pm2Driver;
import dev.fleetkeeper.agent.service.supervisor.SupervisorDriver;
import java.nio.file.Path;
import java.time.InstantSource;

/**
 * The drivers the agent ships: one built-in supervisor, one supervisord driver (it keeps a
 * client per endpoint), one PM2 driver (which talks to each spec's PM2 home).
 */
public final class StandardDrivers implements DriverFactory {

    private final Path stateDir;
    private final Path procRoot;
    private final InstantSource clock;

    public StandardDrivers(Path stateDir, Path procRoot, InstantSource clock) {
        this.stateDir = stateDir;
        this.procRoot = procRoot;
        this.clock = clock;
    }

    @Override
    public String endpointOf(ServiceSpec spec) {
        switch (spec.driver()) {
            case SUPERVISOR:
                return "supervisor"; // one driver keeps a client per endpoint
            case PM2:
                return "pm2";
            default:
                return "builtin";
        }
    }

    @Override
    public ServiceDriver create(ServiceSpec spec, PreStartCheck check, ServiceEvent.Sink events) {
        switch (spec.driver()) {
            case PM2:
                return new Pm2Driver(stateDir, check, events);
            case SUPERVISOR:
                return new SupervisorDriver(check, events, clock);
            default:
                return new BuiltinDriver(stateDir, procRoot, clock, check, events);
        }
    }
}
