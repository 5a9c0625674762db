package dev.fleetkeeper.agent.service.builtin;

import dev.fleetkeeper.agent.service.Commands;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A user account as {@code getent passwd} (NSS: files, LDAP, ...) reports it, falling back to
 * {@code /etc/passwd} where getent is missing. Immutable.
 */
record Account(String name, int uid, int gid, String home) {

    /** The account called {@code name}, or null if the host has none. */
    static Account lookup(String name) {
        String line;
        try {
            line = Commands.output(List.of("getent", "passwd", name));
        } catch (IOException e) {
            line = fromEtcPasswd(name);
        }
        return line == null ? null : parse(line.strip());
    }

    static Account parse(String passwdLine) {
        String[] f = passwdLine.split(":", -1);
        if (f.length < 7) {
            return null;
        }
        try {
            return new Account(f[0], Integer.parseInt(f[2]), Integer.parseInt(f[3]), f[5]);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String fromEtcPasswd(String name) {
        try {
            for (String l : Files.readAllLines(Path.of("/etc/passwd"), StandardCharsets.UTF_8)) {
                if (l.startsWith(name + ":")) {
                    return l;
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }
}
