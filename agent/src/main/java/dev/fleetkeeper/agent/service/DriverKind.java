package dev.fleetkeeper.agent.service;

import java.util.Locale;

/**
 * Which process manager runs a service's instances.
 *
 * <p>{@code systemd} is deliberately absent: it cannot be tested honestly on the hosts this
 * project is built and tested on (no systemd as PID 1 in the build containers), and a driver
 * that is never exercised against the real manager is a liability. Services already under
 * systemd are still sampled and diagnosed from {@code /proc} like any other process.
 */
public enum DriverKind {
    /** The agent starts, watches and restarts the processes itself. */
    BUILTIN,
    /** supervisord, through its XML-RPC interface. */
    SUPERVISOR,
    /** PM2, through its command line ({@code pm2 jlist}, {@code pm2 restart}, ...). */
    PM2;

    /** The name used in configuration files: {@code builtin}, {@code supervisor}, {@code pm2}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The kind named {@code text} in a configuration file; throws naming the choices. */
    public static DriverKind parse(String text) {
        for (DriverKind k : values()) {
            if (k.configName().equals(text)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown driver '" + text
                + "' (expected one of: builtin, supervisor, pm2; systemd is not supported)");
    }
}
