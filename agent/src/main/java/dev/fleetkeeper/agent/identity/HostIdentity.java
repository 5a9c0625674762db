package dev.fleetkeeper.agent.identity;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The host's stable id: the same across agent restarts and reboots, so that the controller
 * keeps one history per host. Kept in {@code stateDir/host-id}; seeded from
 * {@code /etc/machine-id} when present, else a random UUID. Stateless helper.
 */
public final class HostIdentity {

    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,127}");

    private HostIdentity() {
    }

    /**
     * Returns {@code configured} when set (validated), else the id stored in {@code stateDir},
     * creating it on first use.
     */
    public static String resolve(String configured, Path stateDir, Path machineIdFile) {
        if (!configured.isEmpty()) {
            return requireValid(configured, "hostId in the agent config");
        }
        Path file = stateDir.resolve("host-id");
        try {
            try {
                String stored = Files.readString(file).trim();
                return requireValid(stored, file.toString());
            } catch (NoSuchFileException e) {
                // First start on this host.
            }
            String seed = readMachineId(machineIdFile);
            String id = seed != null ? seed : UUID.randomUUID().toString();
            Files.createDirectories(stateDir);
            Path tmp = stateDir.resolve("host-id.tmp");
            Files.writeString(tmp, id + "\n");
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return id;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the host id in " + file + ": " + e.getMessage()
                    + " (check that stateDir exists and is writable by the agent, or set hostId in the config)", e);
        }
    }

    private static String readMachineId(Path machineIdFile) throws IOException {
        try {
            String id = Files.readString(machineIdFile).trim();
            return VALID.matcher(id).matches() ? id : null;
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static String requireValid(String id, String where) {
        if (!VALID.matcher(id).matches()) {
            throw new IllegalArgumentException(where + ": host id '" + id
                    + "' (expected: 1-128 characters of letters, digits, '.', '_', ':' or '-')");
        }
        return id;
    }
}
