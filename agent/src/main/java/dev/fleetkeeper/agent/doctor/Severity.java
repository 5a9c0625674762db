package dev.fleetkeeper.agent.doctor;

/** How much a finding matters. */
public enum Severity {
    /** Worth knowing; nothing is broken. */
    INFO,
    /** May lead to an outage, or degrades the service. */
    WARNING,
    /** Broken now: an instance cannot run or serve. */
    CRITICAL
}
