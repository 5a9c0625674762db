package dev.fleetkeeper.agent.service.supervisor;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A real supervisord for tests: its own config, socket and logs in a temp dir, run as
 * {@code supervisord -n -c} child of the test JVM; {@link #close()} stops it and every process
 * it started. Needs the Debian {@code supervisor} package (deploy/src/test/deps/supervisor.sh).
 */
public final class Supervisord implements AutoCloseable {

    static final String USER = "fk-agent";
    static final String PASSWORD = "s3cret pass";

    private final Path dir;
    private final Path socket;
    private final int httpPort;
    private final Process process;

    private Supervisord(Path dir, Path socket, int httpPort, Process process) {
        this.dir = dir;
        this.socket = socket;
        this.httpPort = httpPort;
        this.process = process;
    }

    /** Starts supervisord in {@code dir}, on a unix socket, and on a loopback port with basic auth if {@code http}. */
    public static Supervisord start(Path dir, boolean http) throws IOException {
        Path socket = dir.resolve("supervisor.sock");
        Files.createDirectories(dir.resolve("conf.d"));
        Files.createDirectories(dir.resolve("logs"));
        int port = http ? freePort() : -1;
        StringBuilder conf = new StringBuilder();
        conf.append("[unix_http_server]\nfile=").append(socket).append("\nchmod=0700\n");
        if (http) {
            conf.append("[inet_http_server]\nport=127.0.0.1:").append(port)
                    .append("\nusername=").append(USER).append("\npassword=").append(PASSWORD).append('\n');
        }
        conf.append("[supervisord]\nnodaemon=true\nlogfile=").append(dir.resolve("supervisord.log"))
                .append("\npidfile=").append(dir.resolve("supervisord.pid"))
                .append("\nchildlogdir=").append(dir.resolve("logs"))
                .append("\n[rpcinterface:supervisor]\n")
                .append("supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n")
                .append("[supervisorctl]\nserverurl=unix://").append(socket)
                .append("\n[include]\nfiles=").append(dir.resolve("conf.d")).append("/*.conf\n");
        Path confFile = dir.resolve("supervisord.conf");
        Files.writeString(confFile, conf);
        Process p = new ProcessBuilder("supervisord", "-n", "-c", confFile.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("supervisord.out").toFile())
                .start();
        Supervisord s = new Supervisord(dir, socket, port, p);
        try {
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50)).until(s::accepts);
        } catch (RuntimeException e) {
            s.close();
            throw new IllegalStateException("supervisord did not come up; its output: "
                    + Files.readString(dir.resolve("supervisord.out")), e);
        }
        return s;
    }

    public Path confD() {
        return dir.resolve("conf.d");
    }

    public String unixUrl() {
        return "unix://" + socket;
    }

    String httpUrl() {
        return "http://127.0.0.1:" + httpPort;
    }

    long pid() {
        return process.pid();
    }

    /** The parent pid of a live process, from /proc/PID/stat. */
    static long parentOf(int pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
        String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(after[1]);
    }

    /** Whether a process is alive and not a zombie. */
    static boolean alive(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException e) {
            return false;
        }
    }

    private boolean accepts() {
        if (!process.isAlive()) {
            throw new IllegalStateException("supervisord exited with " + process.exitValue());
        }
        if (!Files.exists(socket)) {
            return false;
        }
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return ch.isConnected();
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Stops supervisord (which stops its programs), then kills whatever of its tree is left. */
    @Override
    public void close() {
        List<ProcessHandle> tree = process.descendants().collect(Collectors.toList());
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ProcessHandle h : tree) {
            h.destroyForcibly();
        }
    }
}
