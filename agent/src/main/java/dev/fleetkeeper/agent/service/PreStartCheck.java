package dev.fleetkeeper.agent.service;

/**
 * Runs before every start or restart of an instance, also the automatic restarts a driver does
 * by itself (the built-in driver's restart after a crash): the pre-flight. It may repair what is
 * safe to repair; it returns null to let the start go on, or a one-line reason to refuse it
 * (the instance then stays down and the reason is reported).
 */
@FunctionalInterface
public interface PreStartCheck {

    /** Lets every start go on. */
    PreStartCheck NONE = (spec, instance) -> null;

    /** Null to go on, or why the start of {@code spec}'s instance {@code instance} is refused. */
    String beforeStart(ServiceSpec spec, int instance);
}
