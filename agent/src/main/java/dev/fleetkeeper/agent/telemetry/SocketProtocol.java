package dev.fleetkeeper.agent.telemetry;

/** Protocol and address family of a socket, one per {@code /proc/net} table. */
public enum SocketProtocol {
    TCP("tcp"),
    TCP6("tcp6"),
    UDP("udp"),
    UDP6("udp6");

    private final String procFile;

    SocketProtocol(String procFile) {
        this.procFile = procFile;
    }

    /** Name of the table under {@code /proc/net}. */
    public String procFile() {
        return procFile;
    }

    public boolean isTcp() {
        return this == TCP || this == TCP6;
    }
}
