package dev.fleetkeeper.agent.transport;

/** Callbacks from the {@link ControllerLink}, always on the agent's loop thread. */
public interface LinkListener {

    /** The controller welcomed this agent and asked for this cadence. */
    void onWelcome(Sampling sampling);

    /** The stream ended; the link will reconnect by itself. */
    void onDisconnected(String reason);
}
