package dev.fleetkeeper.controller.rollout;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One release of a service, as a rollout applies it on top of each host's declaration: empty
 * fields keep the declared values. Immutable.
 *
 * @param version       the version label (FLEETKEEPER_VERSION, the memory baseline's key)
 * @param command       the command; "" keeps the declared one
 * @param args          the arguments, used only when {@code argsSet}
 * @param argsSet       whether {@code args} replaces the declared arguments
 * @param env           environment entries added or replaced
 * @param switchCurrent whether the agent points the deploy root's {@code current} at releases/VERSION
 */
public record Release(String version, String command, List<String> args, boolean argsSet, Map<String, String> env,
                      boolean switchCurrent) {

    public Release {
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(command, "command");
        args = List.copyOf(args);
        env = Map.copyOf(env);
    }

    /** Only a version label: what an instance is known to run before a rollout changes it. */
    public static Release ofVersion(String version) {
        return new Release(version, "", List.of(), false, Map.of(), false);
    }
}
