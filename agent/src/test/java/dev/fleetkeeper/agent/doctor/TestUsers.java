package dev.fleetkeeper.agent.doctor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A system user for permission tests, created once (as root) with useradd and kept. */
final class TestUsers {

    private TestUsers() {
    }

    static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** Creates {@code name} as a system user without a home if it does not exist; returns it. */
    static String ensure(String name) throws IOException, InterruptedException {
        if (exec("id", "-u", name) != 0 && exec("useradd", "--system", "--no-create-home", "--shell",
                "/usr/sbin/nologin", name) != 0) {
            throw new IllegalStateException("useradd " + name + " failed");
        }
        return name;
    }

    /** Whether {@code user} can create a file in {@code dir}, tried for real as that user. */
    static boolean canWrite(String user, Path dir) throws IOException, InterruptedException {
        Path probe = dir.resolve(".probe-" + System.nanoTime());
        boolean ok = exec("setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--", "touch",
                probe.toString()) == 0;
        java.nio.file.Files.deleteIfExists(probe);
        return ok;
    }

    static int exec(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }
}
