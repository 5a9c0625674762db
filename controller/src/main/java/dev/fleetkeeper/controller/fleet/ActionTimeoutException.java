package dev.fleetkeeper.controller.fleet;

import java.time.Duration;

/** An agent did not answer an action in time; the action may still complete. */
public final class ActionTimeoutException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public ActionTimeoutException(String hostname, String actionId, AgentAction action, Duration waited) {
        super(action.describe() + " on " + hostname + " got no answer within " + Ago.format(waited.toMillis())
                + " (action " + actionId + "); it may still complete: its result will be in "
                + "'fleetkeeper events --host " + hostname + " --type agent'");
    }
}
