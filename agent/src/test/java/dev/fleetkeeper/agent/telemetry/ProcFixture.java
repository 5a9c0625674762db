package dev.fleetkeeper.agent.telemetry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A writable copy of the checked-in {@code proc-fixture} tree with the fd and exe symlinks
 * that resource copying cannot carry. One per test; not thread-safe.
 */
final class ProcFixture {
    final Path root;
    final Path passwd;

    ProcFixture(Path tempDir) throws IOException {
        root = tempDir.resolve("proc");
        Path source;
        try {
            source = Path.of(ProcFixture.class.getResource("/proc-fixture").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        try (Stream<Path> files = Files.walk(source)) {
            files.forEach(p -> {
                Path target = root.resolve(source.relativize(p).toString());
                try {
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(target);
                    } else {
                        Files.copy(p, target);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        link("1/fd/3", "socket:[1003]");
        link("1/exe", "/usr/lib/systemd/systemd");
        link("100/fd/0", "/dev/null");
        link("100/fd/5", "socket:[1001]");
        link("100/fd/9", "socket:[1900]"); // an established connection: not of interest
        link("100/exe", "/usr/bin/node");
        link("101/fd/5", "socket:[1001]");
        link("101/exe", "/usr/bin/node");
        link("103/fd/4", "socket:[1004]");
        link("103/fd/6", "socket:[1002]");
        link("103/fd/7", "socket:[1006]");
        link("103/exe", "/usr/sbin/dnsd");
        passwd = tempDir.resolve("passwd");
        Files.writeString(passwd, "root:x:0:0:root:/root:/bin/bash\n"
                + "app:x:1000:1000:App:/srv/app:/usr/sbin/nologin\n");
    }

    void link(String relative, String target) throws IOException {
        Path l = root.resolve(relative);
        Files.deleteIfExists(l);
        Files.createSymbolicLink(l, Path.of(target));
    }

    void write(String relative, String content) throws IOException {
        Path p = root.resolve(relative);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content, StandardCharsets.UTF_8);
    }

    String read(String relative) throws IOException {
        return Files.readString(root.resolve(relative), StandardCharsets.UTF_8);
    }

    void delete(String relative) throws IOException {
        Files.delete(root.resolve(relative));
    }

    /** Copies process {@code from} to a new PID directory {@code to} (stat PID fixed up). */
    void cloneProcess(int from, int to, long startTicks) throws IOException {
        Path src = root.resolve(Integer.toString(from));
        Path dst = root.resolve(Integer.toString(to));
        Files.createDirectories(dst.resolve("fd"));
        for (String f : new String[] {"status", "cmdline", "cgroup", "smaps_rollup"}) {
            Files.copy(src.resolve(f), dst.resolve(f));
        }
        String stat = Files.readString(src.resolve("stat"));
        String afterComm = stat.substring(stat.lastIndexOf(')'));
        String[] f = afterComm.substring(2).split(" ");
        f[1] = Integer.toString(from); // ppid: the clone is a forked child
        f[19] = Long.toString(startTicks);
        Files.writeString(dst.resolve("stat"),
                to + " " + stat.substring(stat.indexOf('('), stat.lastIndexOf(')') + 1) + " "
                        + String.join(" ", f));
    }
}
