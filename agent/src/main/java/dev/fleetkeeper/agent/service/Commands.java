package dev.fleetkeeper.agent.service;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The few system commands the agent runs to act on processes and look up users ({@code kill},
 * {@code id}, {@code getent}): bounded to a few seconds, output untranslated ({@code LC_ALL=C}),
 * stderr discarded. Java cannot signal a process group or read NSS itself. Stateless.
 */
public final class Commands {

    /** How long a command may take before it is killed and counted as failed. */
    private static final long TIMEOUT_SECONDS = 5;

    private Commands() {
    }

    /**
     * The standard output of {@code command}, or null when it exits non-zero or times out;
     * throws when it cannot be run at all.
     */
    public static String output(List<String> command) throws IOException {
        Process p = start(command);
        byte[] out = p.getInputStream().readNBytes(64 << 10);
        if (!finished(p, command)) {
            return null;
        }
        return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8) : null;
    }

    /**
     * Sends {@code signal} ("TERM", without "SIG") with kill(1) to {@code target}: a pid, or
     * "-PGID" for a whole process group. True when delivered, false when there was no such
     * process (or group); throws when kill cannot be run or does not return in time. Callers
     * prove the target is theirs right before: this takes a number.
     */
    public static boolean kill(String signal, String target) throws IOException {
        List<String> command = List.of("kill", "-s", signal, "--", target);
        Process p = start(command);
        p.getInputStream().readNBytes(64 << 10);
        if (!finished(p, command)) {
            throw new IOException("'" + String.join(" ", command) + "' did not return within " + TIMEOUT_SECONDS + " s");
        }
        return p.exitValue() == 0;
    }

    private static Process start(List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("LC_ALL", "C"); // callers parse the output: never translated
        Process p = pb.start();
        p.getOutputStream().close();
        return p;
    }

    /** Waits for {@code p}; false (and it is killed) when it took too long. */
    private static boolean finished(Process p, List<String> command) throws IOException {
        try {
            if (p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                return true;
            }
            p.destroyForcibly();
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command, e);
        }
    }
}
