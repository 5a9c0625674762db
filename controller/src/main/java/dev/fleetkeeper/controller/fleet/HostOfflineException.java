package dev.fleetkeeper.controller.fleet;

/** An action needs the host's agent connected, and it is not. */
public final class HostOfflineException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public HostOfflineException(String hostname, long lastSeenMillis, long nowMillis, String verb) {
        super("host " + hostname + " is offline (" + (lastSeenMillis <= 0 ? "never seen"
                : "last seen " + Ago.format(nowMillis - lastSeenMillis) + " ago") + "); the agent must be connected to "
                + verb + " (check it with 'systemctl status fleetkeeper-agent' on " + hostname + ")");
    }
}
