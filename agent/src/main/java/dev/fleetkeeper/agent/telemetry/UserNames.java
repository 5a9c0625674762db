package dev.fleetkeeper.agent.telemetry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;

/**
 * Resolves uids to user names from a {@code passwd} file, cached by uid. Not thread-safe;
 * owned by one {@link ProcScanner}.
 *
 * <p>Reads the file itself rather than asking NSS: the agent wants local service users, the
 * JDK has no getpwuid, and a lookup that could block on LDAP must not stall a scan. A miss
 * re-reads the file at most once per modification, so a user created after start is found
 * without re-reading on every unknown uid. Unknown uids resolve to the number as text.
 */
final class UserNames {

    private final Path passwd;
    private final Map<Integer, String> names = new HashMap<>();
    private FileTime loadedVersion;

    UserNames(Path passwd) {
        this.passwd = passwd;
    }

    String nameOf(int uid) {
        String name = names.get(uid);
        if (name == null) {
            if (reloadIfChanged()) {
                name = names.get(uid);
            }
            if (name == null) {
                name = Integer.toString(uid);
                names.put(uid, name);
            }
        }
        return name;
    }

    private boolean reloadIfChanged() {
        FileTime version;
        try {
            version = Files.getLastModifiedTime(passwd);
        } catch (IOException e) {
            return false;
        }
        if (version.equals(loadedVersion)) {
            return false;
        }
        loadedVersion = version;
        String text;
        try {
            text = Files.readString(passwd, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return false;
        }
        // Drop numeric placeholders cached for uids that may now have a name.
        names.clear();
        for (String line : text.split("\n")) {
            // name:password:uid:gid:gecos:home:shell
            int c1 = line.indexOf(':');
            int c2 = c1 < 0 ? -1 : line.indexOf(':', c1 + 1);
            int c3 = c2 < 0 ? -1 : line.indexOf(':', c2 + 1);
            if (c1 <= 0 || c3 < 0) {
                continue;
            }
            try {
                names.putIfAbsent(Integer.parseInt(line.substring(c2 + 1, c3)), line.substring(0, c1));
            } catch (NumberFormatException e) {
                // A malformed line names nobody; skip it.
            }
        }
        return true;
    }
}
