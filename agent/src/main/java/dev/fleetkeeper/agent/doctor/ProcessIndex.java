package dev.fleetkeeper.agent.doctor;

import dev.fleetkeeper.agent.telemetry.HostScan;
import dev.fleetkeeper.agent.telemetry.ProcessSample;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One scan's processes by pid and by parent, built once and shared by every service diagnosed
 * against that scan. Immutable after construction.
 */
public final class ProcessIndex {

    private final HostScan scan;
    private final Map<Integer, ProcessSample> byPid = new HashMap<>();
    private final Map<Integer, List<ProcessSample>> children = new HashMap<>();

    private ProcessIndex(HostScan scan) {
        this.scan = scan;
        for (ProcessSample p : scan.processes().values()) {
            byPid.put(p.pid(), p);
            children.computeIfAbsent(p.ppid(), k -> new ArrayList<>()).add(p);
        }
    }

    static ProcessIndex of(HostScan scan) {
        return new ProcessIndex(scan);
    }

    /** The scan this indexes. */
    public HostScan scan() {
        return scan;
    }

    /** The process numbered {@code pid} in the scan, or null. */
    public ProcessSample byPid(int pid) {
        return byPid.get(pid);
    }

    /** The direct children of {@code pid}. */
    List<ProcessSample> children(int pid) {
        return children.getOrDefault(pid, List.of());
    }

    /** {@code root} and every descendant of it, in the scan. */
    public Set<Integer> tree(int root) {
        Set<Integer> seen = new LinkedHashSet<>();
        List<Integer> todo = new ArrayList<>(List.of(root));
        while (!todo.isEmpty() && seen.size() < 100_000) {
            int pid = todo.remove(todo.size() - 1);
            if (seen.add(pid)) {
                for (ProcessSample ch : children(pid)) {
                    todo.add(ch.pid());
                }
            }
        }
        return seen;
    }
}
