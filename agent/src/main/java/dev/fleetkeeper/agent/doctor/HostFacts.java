package dev.fleetkeeper.agent.doctor;

import dev.fleetkeeper.agent.service.Commands;
import dev.fleetkeeper.agent.telemetry.ProcLookup;
import dev.fleetkeeper.agent.telemetry.ProcessId;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the doctor reads from the host besides a scan: process environments (the markers that
 * prove a process belongs to a service), pidfiles, users and file access. Thread-safe.
 *
 * <p>Environment markers are read once per process identity and cached: the initial
 * environment of a process ({@code /proc/PID/environ}) does not change, and an identity is a
 * (pid, start time) pair, so a reused PID is a new entry. Only marker keys are kept
 * ({@link #isMarkerKey}), a few short strings per process.
 */
public final class HostFacts {

    private final Path procRoot;
    private final ProcLookup lookup;
    private final Map<ProcessId, Map<String, String>> markers = new ConcurrentHashMap<>();
    private final Map<String, CachedUser> users = new ConcurrentHashMap<>();
    private final Duration userTtl;

    public HostFacts(Path procRoot) {
        this(procRoot, Duration.ofSeconds(60));
    }

    HostFacts(Path procRoot, Duration userTtl) {
        this.procRoot = procRoot;
        this.lookup = new ProcLookup(procRoot);
        this.userTtl = userTtl;
    }

    /** Whether an environment variable is one that managers use to mark their children. */
    static boolean isMarkerKey(String key) {
        return key.startsWith("FLEETKEEPER_") || key.startsWith("SUPERVISOR_") || key.startsWith("PM2")
                || key.startsWith("pm_") || key.equals("name") || key.equals("NODE_APP_INSTANCE");
    }

    /**
     * The marker variables of process {@code id}'s environment; empty when it has none, when it
     * is gone, or when it cannot be read (another user's process and the agent is not root).
     * Never a guess: an unreadable environment proves nothing, so such a process is never
     * treated as a service's.
     */
    public Map<String, String> markers(ProcessId id) {
        Map<String, String> m = markers.get(id);
        if (m != null) {
            return m;
        }
        m = readMarkers(id);
        if (m != null) {
            markers.put(id, m);
            return m;
        }
        return Map.of();
    }

    /** Forgets cached environments of identities not in {@code alive}; call once per scan. */
    public void retain(Set<ProcessId> alive) {
        markers.keySet().retainAll(alive);
    }

    /** Null when the process is gone or changed identity while reading (not cached then). */
    private Map<String, String> readMarkers(ProcessId id) {
        byte[] b;
        try {
            b = Files.readAllBytes(procRoot.resolve(Integer.toString(id.pid())).resolve("environ"));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            // EACCES (another user's process) or ESRCH: proves nothing.
            return isAlive(id) ? Map.of() : null;
        }
        if (!isAlive(id)) {
            return null; // the number now names another process: what we read may be its
        }
        Map<String, String> out = new HashMap<>();
        ProcLookup.parseEnviron(b).forEach((k, v) -> {
            if (isMarkerKey(k)) {
                out.put(k, v);
            }
        });
        return Map.copyOf(out);
    }

    /** Whether {@code id} is still the same live (or zombie) process. */
    public boolean isAlive(ProcessId id) {
        long start = startTicks(id.pid());
        return start == id.startTicks();
    }

    /** Whether {@code id} is still alive and not a zombie. */
    public boolean isRunning(ProcessId id) {
        ProcLookup.Stat s = lookup.stat(id.pid());
        return s != null && s.startTicks() == id.startTicks() && !s.dead();
    }

    /** Start ticks of the process numbered {@code pid} now, -1 if there is none. */
    public long startTicks(int pid) {
        ProcLookup.Stat s = lookup.stat(pid);
        return s == null ? -1 : s.startTicks();
    }

    /** A pidfile as found on disk. {@code pid} is -1 when the content is not a number. */
    public record Pidfile(Path path, String content, int pid, long modifiedMillis) {
    }

    /** The pidfile at {@code path}, or empty when there is none (or it cannot be read). */
    public Optional<Pidfile> pidfile(Path path) {
        try {
            byte[] b = Files.readAllBytes(path);
            FileTime mtime = Files.getLastModifiedTime(path);
            String content = new String(b, StandardCharsets.US_ASCII);
            int pid;
            try {
                pid = Integer.parseInt(content.trim());
            } catch (NumberFormatException e) {
                pid = -1;
            }
            return Optional.of(new Pidfile(path, content, pid <= 0 ? -1 : pid, mtime.toMillis()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * The user named {@code name} as the system resolves it ({@code id}, so NSS sources such
     * as LDAP count too); empty when there is no such user. Cached for a minute.
     */
    public Optional<UserInfo> user(String name) {
        long now = System.nanoTime();
        CachedUser c = users.get(name);
        if (c != null && now - c.at < userTtl.toNanos()) {
            return c.user;
        }
        Optional<UserInfo> u = lookUp(name);
        users.put(name, new CachedUser(u, now));
        return u;
    }

    private record CachedUser(Optional<UserInfo> user, long at) {
    }

    private static Optional<UserInfo> lookUp(String name) {
        if (name.isEmpty() || name.startsWith("-")) {
            return Optional.empty();
        }
        // One process: "uid=33(www-data) gid=33(www-data) groups=33(www-data),4(adm)".
        String line;
        try {
            line = Commands.output(List.of("id", "--", name));
        } catch (IOException e) {
            return Optional.empty();
        }
        if (line == null) {
            return Optional.empty();
        }
        List<String> out = List.of(line.strip());
        java.util.regex.Matcher uid = ID_UID.matcher(out.get(0));
        java.util.regex.Matcher gid = ID_GID.matcher(out.get(0));
        if (!uid.find() || !gid.find()) {
            return Optional.empty();
        }
        Set<Integer> groups = new HashSet<>();
        groups.add(Integer.parseInt(gid.group(1)));
        int at = out.get(0).indexOf("groups=");
        if (at >= 0) {
            java.util.regex.Matcher g = ID_NUMBER.matcher(out.get(0).substring(at + "groups=".length()));
            while (g.find()) {
                groups.add(Integer.parseInt(g.group(1)));
            }
        }
        return Optional.of(new UserInfo(name, Integer.parseInt(uid.group(1)), Integer.parseInt(gid.group(1)), groups));
    }

    private static final java.util.regex.Pattern ID_UID = java.util.regex.Pattern.compile("\\buid=(\\d+)");
    private static final java.util.regex.Pattern ID_GID = java.util.regex.Pattern.compile("\\bgid=(\\d+)");
    /** A group id at the start of the list or after a comma: "33(www-data),4(adm)". */
    private static final java.util.regex.Pattern ID_NUMBER = java.util.regex.Pattern.compile("(?:^|,)(\\d+)");
}
