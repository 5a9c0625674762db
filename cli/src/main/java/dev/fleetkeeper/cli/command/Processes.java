package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessState;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** How processes, states and labels read in tables. Stateless. */
final class Processes {
    private Processes() {}

    /** The state letter {@code ps} shows: R, S, D, Z, T, t, X, I, P, W; "?" when unknown. */
    static String stateLetter(ProcessState state) {
        return switch (state) {
            case PROCESS_STATE_RUNNING -> "R";
            case PROCESS_STATE_SLEEPING -> "S";
            case PROCESS_STATE_DISK_SLEEP -> "D";
            case PROCESS_STATE_ZOMBIE -> "Z";
            case PROCESS_STATE_STOPPED -> "T";
            case PROCESS_STATE_TRACING_STOP -> "t";
            case PROCESS_STATE_DEAD -> "X";
            case PROCESS_STATE_IDLE -> "I";
            case PROCESS_STATE_PARKED -> "P";
            case PROCESS_STATE_WAKING -> "W";
            default -> "?";
        };
    }

    /**
     * The command line, arguments joined by spaces; for a process without one (kernel threads,
     * zombies) the name in brackets, as {@code ps} shows it, with {@code <defunct>} for a zombie.
     */
    static String command(Process p) {
        if (p.getCmdlineCount() > 0) {
            return String.join(" ", p.getCmdlineList());
        }
        String name = "[" + (p.getComm().isEmpty() ? "?" : p.getComm()) + "]";
        return p.getState() == ProcessState.PROCESS_STATE_ZOMBIE ? name + " <defunct>" : name;
    }

    /** The user name, or the uid when the agent could not resolve it. */
    static String user(Process p) {
        return p.getUser().isEmpty() ? Integer.toUnsignedString(p.getUid()) : p.getUser();
    }

    /** Labels as {@code k=v,k2=v2}, sorted by key. */
    static String labels(Map<String, String> labels) {
        return new TreeMap<>(labels).entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(","));
    }
}
