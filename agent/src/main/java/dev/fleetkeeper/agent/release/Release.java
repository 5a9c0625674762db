package dev.fleetkeeper.agent.release;

import dev.fleetkeeper.agent.probe.ProbeSpec;
import dev.fleetkeeper.agent.service.ServiceSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A release applied to one instance of a service: what it changes on top of the service's
 * declaration in {@code agent.yaml}. Immutable.
 *
 * @param version the version label (required): {@code FLEETKEEPER_VERSION}, the memory baseline's
 *                key and, for a service with a deploy root, the directory {@code releases/<version>}
 * @param command the command; "" keeps the declared one
 * @param args    the arguments; used only when {@code argsSet}
 * @param argsSet whether {@code args} replaces the declared arguments (so that a release can clear them)
 * @param env     environment entries added to, or replacing, the declared ones
 * @param probe   the health probe of the release's instances; null keeps the declared one
 */
public record Release(String version, String command, List<String> args, boolean argsSet, Map<String, String> env,
                      ProbeSpec probe) {

    /** A version that can name a directory under {@code releases/}: no '/', not '.' or '..'. */
    private static final Pattern DIRECTORY_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}");

    public Release {
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(command, "command");
        args = List.copyOf(args);
        env = Map.copyOf(env);
        if (version.isBlank()) {
            throw new IllegalArgumentException("version: '" + version + "' (expected: a non-empty version label)");
        }
        if (version.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("version: contains a control character (expected: printable text)");
        }
    }

    /** A release that keeps the declared probe. */
    public Release(String version, String command, List<String> args, boolean argsSet, Map<String, String> env) {
        this(version, command, args, argsSet, env, null);
    }

    /** Whether {@link #version} can name a release directory ({@code releases/<version>}). */
    public boolean versionIsDirectoryName() {
        return isDirectoryName(version);
    }

    /** Whether {@code version} can name a release directory: no '/', not '.' or '..', at most 128 characters. */
    public static boolean isDirectoryName(String version) {
        return DIRECTORY_NAME.matcher(version).matches();
    }

    /**
     * What an instance of {@code declared} runs with this release: this version; this command
     * if set; these arguments if set; the declared environment with this one merged over it;
     * this probe if set (none where the declaration gives its instances no ports of their own,
     * {@link ServiceSpec#probeable}: ports removed from {@code agent.yaml} after the release
     * must not keep the instance from starting); and, for a service with a deploy root, {@code <root>/releases/<version>} (symlinks
     * resolved) as its working directory, so that instances on different releases coexist and
     * an instance's restart never picks up another release through {@code current}.
     */
    public ServiceSpec applyTo(ServiceSpec declared) {
        Map<String, String> mergedEnv = new LinkedHashMap<>(declared.env());
        mergedEnv.putAll(env);
        Path dir = declared.releaseDir(version);
        Path workingDir = dir == null ? declared.workingDir() : resolved(dir);
        return declared.withRelease(version, command.isEmpty() ? declared.command() : command,
                argsSet ? args : declared.args(), mergedEnv, workingDir, probeOver(declared));
    }

    /**
     * The probe of an instance of {@code declared} on this release: this one if set, else the
     * declared one; none where the declaration gives its instances no ports of their own.
     */
    public ProbeSpec probeOver(ServiceSpec declared) {
        return !declared.probeable() ? null : probe == null ? declared.probe() : probe;
    }

    private static Path resolved(Path dir) {
        try {
            return dir.toRealPath();
        } catch (IOException e) {
            return dir; // gone: the driver's start says the working directory does not exist
        }
    }

    /** Whether the release directory of {@code version} exists under {@code declared}'s deploy root. */
    public static boolean directoryExists(ServiceSpec declared, String version) {
        Path dir = declared.releaseDir(version);
        return dir != null && Files.isDirectory(dir);
    }
}
