package dev.fleetkeeper.agent.doctor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Whether a user can write a path, computed the way the kernel decides it for that uid and its
 * groups rather than by comparing owners: every ancestor directory must grant search (x) to
 * the user's class (owner, group, other), and the path itself write (and search, for a
 * directory, so that files in it can be created). Root may write anything. POSIX ACLs and
 * read-only mounts are not looked at; the README says so.
 */
public final class PathAccess {

    private PathAccess() {
    }

    /**
     * The verdict on one path.
     *
     * @param writable whether {@code user} can write it
     * @param exists   whether it exists
     * @param blocking the path that denies access (the path itself or an ancestor), null if writable
     * @param reason   why, in words ("owned by root:root mode 755; www-data (uid 33) is neither
     *                 owner nor in group root and others may not write")
     * @param uid      owner of the path, -1 if it does not exist
     * @param gid      group of the path, -1 if it does not exist
     * @param mode     permission bits of the path, -1 if it does not exist
     */
    public record Verdict(boolean writable, boolean exists, Path blocking, String reason, int uid, int gid, int mode) {
    }

    /** Whether {@code user} can write {@code path}. */
    public static Verdict check(Path path, UserInfo user) {
        Path abs = path.toAbsolutePath().normalize();
        Map<String, Object> self;
        try {
            self = Files.readAttributes(abs, "unix:uid,gid,mode", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return new Verdict(false, false, abs, abs + " does not exist", -1, -1, -1);
        } catch (IOException | UnsupportedOperationException e) {
            return new Verdict(false, false, abs, "cannot read the attributes of " + abs + ": " + e.getMessage(),
                    -1, -1, -1);
        }
        int uid = (Integer) self.get("uid");
        int gid = (Integer) self.get("gid");
        int mode = (Integer) self.get("mode") & 07777;
        boolean dir = Files.isDirectory(abs, LinkOption.NOFOLLOW_LINKS);
        if (user.isRoot()) {
            return new Verdict(true, true, null, "root may write anything", uid, gid, mode);
        }
        for (Path p = abs.getParent(); p != null; p = p.getParent()) {
            try {
                Map<String, Object> a = Files.readAttributes(p, "unix:uid,gid,mode");
                int m = (Integer) a.get("mode") & 0777;
                if (!grants(user, (Integer) a.get("uid"), (Integer) a.get("gid"), m, 1)) {
                    return new Verdict(false, true, p, user.name() + " (uid " + user.uid() + ") may not enter " + p
                            + " (" + describe(a) + ")", uid, gid, mode);
                }
            } catch (IOException | UnsupportedOperationException e) {
                return new Verdict(false, true, p, "cannot read the attributes of " + p + ": " + e.getMessage(),
                        uid, gid, mode);
            }
        }
        int need = dir ? 3 : 2; // w+x on a directory (create files in it), w on a file
        if (!grants(user, uid, gid, mode & 0777, need)) {
            return new Verdict(false, true, abs, user.name() + " (uid " + user.uid() + ") may not write " + abs
                    + " (" + describe(self) + ": " + classOf(user, uid, gid) + ")", uid, gid, mode);
        }
        return new Verdict(true, true, null, user.name() + " may write " + abs, uid, gid, mode);
    }

    /** Whether the permission bits {@code mode} grant all of {@code need} (rwx as 4/2/1) to {@code user}. */
    static boolean grants(UserInfo user, int uid, int gid, int mode, int need) {
        int bits;
        if (user.uid() == uid) {
            bits = (mode >> 6) & 7;
        } else if (user.gid() == gid || user.groups().contains(gid)) {
            bits = (mode >> 3) & 7;
        } else {
            bits = mode & 7;
        }
        return (bits & need) == need;
    }

    private static String classOf(UserInfo user, int uid, int gid) {
        if (user.uid() == uid) {
            return "the owner lacks write permission";
        }
        if (user.gid() == gid || user.groups().contains(gid)) {
            return "its group lacks write permission";
        }
        return "not the owner, not in the group, and others may not write";
    }

    private static String describe(Map<String, Object> a) {
        return "owner uid " + a.get("uid") + ", group gid " + a.get("gid") + ", mode "
                + Integer.toOctalString((Integer) a.get("mode") & 07777);
    }
}
