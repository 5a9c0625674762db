package dev.fleetkeeper.agent.manage;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** A system user for the replays, created once (as root) with useradd and kept. */
final class TestUsers {

    private TestUsers() {
    }

    static String ensure(String name) throws IOException, InterruptedException {
        if (exec("id", "-u", name) != 0 && exec("useradd", "--system", "--no-create-home", "--shell",
                "/usr/sbin/nologin", name) != 0) {
            throw new IllegalStateException("useradd " + name + " failed");
        }
        return name;
    }

    private static int exec(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }
}
