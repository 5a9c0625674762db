package dev.fleetkeeper.agent.doctor;

import java.util.Objects;
import java.util.Set;

/**
 * A local user as the system's user database resolves it: uid, primary gid and every group it
 * belongs to (what the kernel checks file access against).
 */
public record UserInfo(String name, int uid, int gid, Set<Integer> groups) {
    public UserInfo {
        Objects.requireNonNull(name, "name");
        groups = Set.copyOf(groups);
    }

    public boolean isRoot() {
        return uid == 0;
    }
}
