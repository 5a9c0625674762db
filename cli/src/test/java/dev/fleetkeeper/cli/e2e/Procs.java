package dev.fleetkeeper.cli.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Real processes for end-to-end tests, started in their own session so whole trees can be killed. */
final class Procs implements AutoCloseable {

    private final List<Process> started = new ArrayList<>();

    /** Starts {@code command} with setsid; its process group is its pid. */
    Process start(String... command) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add("setsid");
        cmd.addAll(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        started.add(p);
        return p;
    }

    /** The first line {@code p} prints, waiting at most 10 s. */
    static String firstLine(Process p) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        if (line == null) {
            throw new IOException("process " + p.pid() + " printed nothing");
        }
        return line.trim();
    }

    /** Runs a command to completion and returns its stdout. */
    static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish in 20 s");
        }
        return out;
    }

    static boolean available(String tool) {
        try {
            return new ProcessBuilder("sh", "-c", "command -v " + tool).start().waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Kills every started process's group with SIGKILL and waits for them. */
    @Override
    public void close() throws IOException {
        try {
            for (Process p : started) {
                new ProcessBuilder("kill", "-KILL", "--", "-" + p.pid()).start().waitFor();
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        started.clear();
    }
}
