package dev.fleetkeeper.agent.service.pm2;

import dev.fleetkeeper.agent.service.DriverException;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Runs the {@code pm2} command line for one PM2 home, as one user, with a bounded wait and its
 * output captured. Thread-safe (holds no mutable state); owned by {@link Pm2Driver}.
 *
 * <p>Output goes to temporary files, not pipes: a pm2 command that spawns the daemon hands it
 * inherited descriptors, and a pipe the daemon keeps open would never reach end-of-file. On a
 * timeout only the CLI process is killed, never its descendants, since one of them may be the
 * daemon that now runs every app of this home.
 *
 * <p>The child gets a small environment of its own (PATH, LANG, HOME, PM2_HOME) rather than the
 * agent's: the daemon a command spawns keeps the environment it was spawned with, and PM2 copies
 * the CLI's environment into the apps it starts, so the agent's variables must not leak there.
 */
final class Pm2Cli {

    /** What one pm2 command did. */
    record Result(List<String> command, int exitCode, String stdout, String stderr) {

        boolean ok() {
            return exitCode == 0;
        }

        /** The last lines pm2 wrote, without colours, for an error message. */
        String lastWords() {
            String all = (stderr.isBlank() ? stdout : stderr).replaceAll("\u001B\\[[0-9;]*m", "");
            List<String> lines = new ArrayList<>();
            for (String line : all.split("\n")) {
                String t = line.strip();
                if (!t.isEmpty() && !t.startsWith("│") && !t.startsWith("┌") && !t.startsWith("└")
                        && !t.startsWith("├")) {
                    lines.add(t);
                }
            }
            return String.join(" / ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
        }
    }

    private final Path bin;
    private final Path home;
    private final String runAs;
    private final Path userHome;
    private final Path tmpDir;

    /**
     * @param bin      the pm2 executable, absolute and checked
     * @param home     PM2_HOME
     * @param runAs    the user to run pm2 as via runuser, or "" to run it as the agent's user
     * @param userHome that user's home directory (HOME of the child)
     * @param tmpDir   where output files are written while a command runs
     */
    Pm2Cli(Path bin, Path home, String runAs, Path userHome, Path tmpDir) {
        this.bin = Objects.requireNonNull(bin, "bin");
        this.home = Objects.requireNonNull(home, "home");
        this.runAs = Objects.requireNonNull(runAs, "runAs");
        this.userHome = Objects.requireNonNull(userHome, "userHome");
        this.tmpDir = Objects.requireNonNull(tmpDir, "tmpDir");
    }

    Path home() {
        return home;
    }

    /** The full command line that runs {@code pm2 args...}: with runuser in front when switching users. */
    List<String> commandLine(List<String> args) {
        List<String> cmd = new ArrayList<>();
        if (!runAs.isEmpty()) {
            cmd.addAll(List.of("runuser", "-u", runAs, "--"));
        }
        cmd.add(bin.toString());
        cmd.addAll(args);
        return List.copyOf(cmd);
    }

    /** The environment of the child. */
    Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        String path = System.getenv("PATH");
        // pm2 is a "#!/usr/bin/env node" script: node is looked up on PATH, so it must stay; the
        // directory of pm2 itself goes first, where a prefix install keeps its own node_modules/.bin.
        Path binDir = bin.getParent();
        env.put("PATH", (binDir == null ? "" : binDir + File.pathSeparator)
                + (path == null || path.isEmpty() ? "/usr/local/bin:/usr/bin:/bin" : path));
        env.put("LANG", "C.UTF-8");
        env.put("HOME", userHome.toString());
        env.put("PM2_HOME", home.toString());
        if (!runAs.isEmpty()) {
            env.put("USER", runAs);
            env.put("LOGNAME", runAs);
        }
        return env;
    }

    /**
     * Runs {@code pm2 args...} and waits up to {@code timeout}; any exit status is returned, a
     * failure to run pm2 at all is a {@link DriverException#unreachable}, a timeout a
     * {@link DriverException}.
     */
    Result run(Duration timeout, String... args) {
        List<String> command = commandLine(List.of(args));
        Path out = null;
        Path err = null;
        Process process = null;
        try {
            Files.createDirectories(tmpDir);
            out = Files.createTempFile(tmpDir, "pm2-", ".out");
            err = Files.createTempFile(tmpDir, "pm2-", ".err");
            ProcessBuilder pb = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile());
            pb.environment().clear();
            pb.environment().putAll(environment());
            try {
                process = pb.start();
            } catch (IOException e) {
                throw DriverException.unreachable("cannot run '" + String.join(" ", command) + "' (PM2_HOME "
                        + home + "): " + e.getMessage() + "; install PM2 (npm install -g pm2) or set pm2.bin to "
                        + "its path", e);
            }
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
                throw new DriverException("'" + String.join(" ", command) + "' (PM2_HOME " + home
                        + ") did not finish within " + timeout.toSeconds() + " s and was killed; check that the PM2 "
                        + "daemon answers (pm2 ping) and its log " + home.resolve("pm2.log"));
            }
            return new Result(command, process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new DriverException("cannot capture the output of '" + String.join(" ", command) + "' in "
                    + tmpDir + ": " + e.getMessage() + "; check that the agent can write there", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (process != null) {
                process.destroyForcibly();
            }
            throw new DriverException("interrupted while running '" + String.join(" ", command) + "'", e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a leftover temporary file in the agent's own directory is harmless
            }
        }
    }
}
