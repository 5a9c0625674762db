package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.proto.v1.ActionResult;

/**
 * An action's answer: which host ran it, and the agent's result with its output, kept as the
 * wire message (a doctor report is data the controller relays and stores, not a decision it
 * makes). Immutable.
 */
public record ActionReply(String actionId, String hostId, String hostname, ActionResult result) {
}
