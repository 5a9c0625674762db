package dev.fleetkeeper.agent.service.builtin;

import dev.fleetkeeper.agent.service.Commands;
import java.io.IOException;
import java.util.List;

/**
 * Signal names and the one way to signal a process group from Java: {@code kill -s SIG -- -PGID}
 * (procps or util-linux kill; {@link ProcessHandle} can only signal single processes, and only
 * TERM or KILL). Stateless; thread-safe. Callers must have proved that the group is theirs.
 */
final class Signals {

    /** Linux signal names by number (x86, arm, arm64, riscv share these), index = number. */
    private static final List<String> NAMES = List.of("", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE",
            "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
            "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS");

    private Signals() {
    }

    /** The name of signal {@code number} ("TERM"), or its number as text if unnamed (real-time signals). */
    static String name(int number) {
        return number > 0 && number < NAMES.size() ? NAMES.get(number) : Integer.toString(number);
    }

    /** Whether {@code name} ("HUP", without "SIG") is a signal this driver will send. */
    static boolean known(String name) {
        return !name.isEmpty() && NAMES.contains(name);
    }

    /**
     * Sends {@code signal} to every process of group {@code pgid}; returns false if the group
     * no longer existed (kill's ESRCH), throws if the kill command could not be run.
     */
    static boolean signalGroup(int pgid, String signal) throws IOException {
        if (pgid <= 1) {
            // -1 would mean "every process we may signal": never.
            throw new IllegalArgumentException("pgid: " + pgid + " (expected: > 1)");
        }
        if (!known(signal)) {
            throw new IllegalArgumentException("signal: '" + signal + "' (expected a name such as TERM, HUP, USR2)");
        }
        return Commands.kill(signal, "-" + pgid);
    }
}
