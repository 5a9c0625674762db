package dev.fleetkeeper.controller.fleet;

/** How process listings are ordered. */
public enum ProcessOrder {
    /** Resident memory, largest first. */
    MEMORY,
    /** CPU percent, busiest first. */
    CPU,
    /** PID, ascending. */
    PID
}
