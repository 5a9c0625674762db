package dev.fleetkeeper.controller.rollout;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

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
 * @param probe         the health probe of the release's instances ("tcp", "http:/path"); "" keeps the declared one
 */
public record Release(String version, String command, List<String> args, boolean argsSet, Map<String, String> env,
                      boolean switchCurrent, String probe) {

    /** The agent's rule for a version that can name a directory under {@code releases/}: no '/', not '.' or '..'. */
    private static final Pattern DIRECTORY_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}");

    public Release {
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(probe, "probe");
        args = List.copyOf(args);
        env = Map.copyOf(env);
    }

    /** Only a version label, over the declared command, arguments and environment. */
    public static Release ofVersion(String version) {
        return new Release(version, "", List.of(), false, Map.of(), false, "");
    }

    /** This release with {@code newProbe} as its instances' probe. */
    public Release withProbe(String newProbe) {
        return new Release(version, command, args, argsSet, env, switchCurrent, newProbe);
    }

    /** Whether {@link #version} can name a release directory ({@code releases/<version>}) on an agent. */
    public boolean versionNamesDirectory() {
        return DIRECTORY_NAME.matcher(version).matches();
    }

    /** The same release, asking the agent to switch {@code current} or not. */
    public Release withSwitchCurrent(boolean value) {
        return new Release(version, command, args, argsSet, env, value, probe);
    }
}
