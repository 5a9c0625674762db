package dev.fleetkeeper.cli.bench;

import dev.fleetkeeper.proto.v1.Ack;
import dev.fleetkeeper.proto.v1.AgentMessage;
import dev.fleetkeeper.proto.v1.AgentServiceGrpc;
import dev.fleetkeeper.proto.v1.ControllerMessage;
import dev.fleetkeeper.proto.v1.Delta;
import dev.fleetkeeper.proto.v1.Hello;
import dev.fleetkeeper.proto.v1.HostStats;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.ProcessState;
import dev.fleetkeeper.proto.v1.Snapshot;
import dev.fleetkeeper.proto.v1.Socket;
import dev.fleetkeeper.proto.v1.SocketProtocol;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * {@code fleetkeeper bench ingest}: N simulated agents stream Hello, a Snapshot and then Deltas
 * at a fixed rate to a real controller process on loopback (its own JVM, its own RocksDB in a
 * temp dir, WAL fsync as configured), and the bench measures what the controller acknowledged
 * as durable: host-samples/s (Deltas), process-samples/s (process records in them), p99
 * send-to-durable-ack latency seen by the agents, the controller's own p99
 * receipt-to-durable timer, and the controller's CPU from {@code /proc/PID/stat}.
 *
 * <p>The simulated agents respect flow control like the real one: a Delta that finds its
 * stream not ready is skipped (the real agent would merge it into the next one) and counted.
 * Both processes share this machine's cores, so the figures are a floor.
 */
public final class IngestBench {

    private IngestBench() {
    }

    /**
     * What to simulate. Immutable.
     *
     * @param agents           simulated agents (one stream each)
     * @param connections      TCP connections the streams are spread over
     * @param processes        processes per agent (in its Snapshot)
     * @param changedPerDelta  processes whose memory and CPU change in each Delta
     * @param interval         time between two Deltas of one agent
     * @param warmup           time before measuring
     * @param measure          measured time
     * @param sync             whether the controller fsyncs its WAL before acknowledging
     */
    public record Options(int agents, int connections, int processes, int changedPerDelta, Duration interval,
                          Duration warmup, Duration measure, boolean sync) {

        public Options {
            if (agents < 1) {
                throw new IllegalArgumentException("agents: " + agents + " (expected: >= 1)");
            }
            if (connections < 1) {
                throw new IllegalArgumentException("connections: " + connections + " (expected: >= 1)");
            }
            if (processes < 1 || changedPerDelta < 0 || changedPerDelta > processes) {
                throw new IllegalArgumentException("processes: " + processes + ", changedPerDelta: " + changedPerDelta
                        + " (expected: processes >= 1 and 0 <= changedPerDelta <= processes)");
            }
            if (interval.toMillis() < 1 || measure.toMillis() < 1000 || warmup.isNegative()) {
                throw new IllegalArgumentException("interval >= 1ms, measure >= 1s and warmup >= 0 expected");
            }
        }
    }

    /** The figures of one run. Immutable. */
    public record Result(double hostSamplesPerSecond, double processSamplesPerSecond, double clientP50Millis,
                         double clientP99Millis, double controllerP99Millis, double controllerCpuPercent,
                         long skippedForBackPressure, long offeredPerSecond) {
    }

    /** Starts a controller, runs the simulation, stops everything, prints to {@code out}. */
    public static Result run(Options o, PrintStream out) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("fleetkeeper-ingest-bench");
        int port = freePort();
        int metricsPort = freePort();
        Files.writeString(dir.resolve("controller.yaml"), "listen: 127.0.0.1:" + port + "\n"
                + "dataDir: " + dir.resolve("data") + "\n"
                + "metrics: {listen: 127.0.0.1:" + metricsPort + "}\n"
                + "store: {sync: " + o.sync() + "}\n"
                + "offlineGrace: 60s\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // The shipped controller's collector (deploy/src/dist/conf/controller.jvm) with a fixed heap;
        // FLEETKEEPER_BENCH_CONTROLLER_GC replaces the collector flag, e.g. -XX:+UseZGC, to compare.
        String gc = System.getenv().getOrDefault("FLEETKEEPER_BENCH_CONTROLLER_GC", "-XX:+UseParallelGC");
        List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx2g", gc));
        // Extra controller JVM options, e.g. to profile it with JFR.
        String extra = System.getenv("FLEETKEEPER_BENCH_CONTROLLER_OPTS");
        if (extra != null && !extra.isBlank()) {
            command.addAll(List.of(extra.trim().split("\\s+")));
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"),
                "dev.fleetkeeper.controller.ControllerMain", "--config", dir.resolve("controller.yaml").toString()));
        java.lang.Process controller = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("controller.log").toFile())
                .start();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        List<ManagedChannel> channels = new ArrayList<>();
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ingest-bench-ticker");
            t.setDaemon(true);
            return t;
        });
        try {
            awaitPort(port, controller, dir);
            long offered = Math.round(o.agents() * 1000.0 / o.interval().toMillis());
            out.printf("ingest: %d simulated agents over %d connections, %d processes each, %d changed per delta,%n"
                            + "        a delta every %d ms per agent (%,d host-samples/s offered), WAL fsync %s%n",
                    o.agents(), o.connections(), o.processes(), o.changedPerDelta(), o.interval().toMillis(),
                    offered, o.sync() ? "on" : "off");
            for (int i = 0; i < o.connections(); i++) {
                channels.add(NettyChannelBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                        .usePlaintext().eventLoopGroup(group).channelType(NioSocketChannel.class)
                        .directExecutor().build());
            }
            Stats stats = new Stats();
            List<SimAgent> agents = new ArrayList<>(o.agents());
            for (int i = 0; i < o.agents(); i++) {
                SimAgent a = new SimAgent(i, o, stats);
                agents.add(a);
                a.connect(channels.get(i % channels.size()));
            }
            // Spread the agents' sends evenly over the interval: one tick every 5 ms.
            long tickMillis = Math.min(5, o.interval().toMillis());
            long ticksPerInterval = Math.max(1, o.interval().toMillis() / tickMillis);
            AtomicLong tick = new AtomicLong();
            ticker.scheduleAtFixedRate(() -> {
                long t = tick.getAndIncrement() % ticksPerInterval;
                for (int i = (int) t; i < agents.size(); i += (int) ticksPerInterval) {
                    agents.get(i).tick();
                }
            }, tickMillis, tickMillis, TimeUnit.MILLISECONDS);

            out.printf("  warming up for %d s ...%n", o.warmup().toSeconds());
            Thread.sleep(o.warmup().toMillis());
            long cpu0 = cpuTicks(controller.pid());
            long acked0 = stats.ackedDeltas.get();
            long procs0 = stats.ackedProcessSamples.get();
            long skipped0 = stats.skipped.get();
            stats.recording = true;
            long t0 = System.nanoTime();
            out.printf("  measuring for %d s ...%n", o.measure().toSeconds());
            Thread.sleep(o.measure().toMillis());
            long t1 = System.nanoTime();
            stats.recording = false;
            long cpu1 = cpuTicks(controller.pid());
            double seconds = (t1 - t0) / 1e9;
            double hostRate = (stats.ackedDeltas.get() - acked0) / seconds;
            double procRate = (stats.ackedProcessSamples.get() - procs0) / seconds;
            double cpuPercent = (cpu1 - cpu0) / seconds; // ticks are 1/100 s: ticks per second = percent
            long[] lat = stats.latencies();
            double p50 = percentile(lat, 0.50);
            double p99 = percentile(lat, 0.99);
            double serverP99 = scrapeP99(metricsPort);
            long skipped = stats.skipped.get() - skipped0;
            out.printf("  host-samples/s            %,12.0f  (deltas acknowledged as durable)%n", hostRate);
            out.printf("  process-samples/s         %,12.0f%n", procRate);
            out.printf("  p50 / p99 send-to-ack     %9.1f ms / %.1f ms  (agent side, %,d samples)%n", p50, p99, lat.length);
            out.printf("  p99 receipt-to-durable    %9.1f ms  (controller's own timer)%n", serverP99);
            out.printf("  controller CPU            %9.0f %% of one core (%d cores here, shared with the bench)%n",
                    cpuPercent, Runtime.getRuntime().availableProcessors());
            out.printf("  deltas skipped (back-pressure)  %,d%n", skipped);
            return new Result(hostRate, procRate, p50, p99, serverP99, cpuPercent, skipped, offered);
        } finally {
            ticker.shutdownNow();
            for (ManagedChannel c : channels) {
                c.shutdownNow();
            }
            for (ManagedChannel c : channels) {
                c.awaitTermination(5, TimeUnit.SECONDS);
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            controller.destroy();
            if (!controller.waitFor(20, TimeUnit.SECONDS)) {
                controller.destroyForcibly();
                controller.waitFor(5, TimeUnit.SECONDS);
            }
            deleteTree(dir);
        }
    }

    /** Shared counters; latencies kept in a bounded array while recording. */
    private static final class Stats {
        final AtomicLong ackedDeltas = new AtomicLong();
        final AtomicLong ackedProcessSamples = new AtomicLong();
        final AtomicLong skipped = new AtomicLong();
        volatile boolean recording;
        private final long[] samples = new long[4_000_000];
        private final AtomicLong count = new AtomicLong();

        void latency(long nanos) {
            if (recording) {
                long i = count.getAndIncrement();
                if (i < samples.length) {
                    samples[(int) i] = nanos;
                }
            }
        }

        long[] latencies() {
            int n = (int) Math.min(count.get(), samples.length);
            long[] copy = Arrays.copyOf(samples, n);
            Arrays.sort(copy);
            return copy;
        }
    }

    /** One simulated agent: a stream, a process table, the sends awaiting their Ack. */
    private static final class SimAgent {
        private final int index;
        private final Options o;
        private final Stats stats;
        private final Process[] processes;
        private final ArrayDeque<long[]> inFlight = new ArrayDeque<>();
        private volatile ClientCallStreamObserver<AgentMessage> stream;
        private volatile boolean welcomed;
        private boolean snapshotSent;
        private long sequence;
        private long deltas;
        private int nextPid;

        SimAgent(int index, Options o, Stats stats) {
            this.index = index;
            this.o = o;
            this.stats = stats;
            this.processes = new Process[o.processes()];
            nextPid = 1000;
            for (int i = 0; i < processes.length; i++) {
                processes[i] = process(nextPid++, 50L << 20);
            }
        }

        void connect(ManagedChannel channel) {
            AgentServiceGrpc.newStub(channel).connect(new ClientResponseObserver<AgentMessage, ControllerMessage>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<AgentMessage> s) {
                    stream = s;
                }

                @Override
                public void onNext(ControllerMessage m) {
                    if (m.hasWelcome()) {
                        welcomed = true;
                    } else if (m.hasAck()) {
                        acked(m.getAck());
                    }
                }

                @Override
                public void onError(Throwable t) {
                    welcomed = false;
                }

                @Override
                public void onCompleted() {
                    welcomed = false;
                }
            });
            synchronized (this) {
                send(AgentMessage.newBuilder().setHello(Hello.newBuilder()
                        .setHostId("bench-" + index).setHostname("bench-" + index)
                        .putLabels("bench", "ingest").setAgentVersion("bench").setKernel("bench")
                        .setBootId("00000000-0000-0000-0000-" + String.format("%012d", index))
                        .setClockTicksPerSecond(100)), 0);
            }
        }

        /** Called on the ticker thread. */
        synchronized void tick() {
            ClientCallStreamObserver<AgentMessage> s = stream;
            if (!welcomed || s == null) {
                return;
            }
            if (!s.isReady()) {
                stats.skipped.incrementAndGet();
                return;
            }
            if (!snapshotSent) {
                Snapshot.Builder snap = Snapshot.newBuilder().setTakenAtUnixMs(System.currentTimeMillis())
                        .setHost(host()).addAllProcesses(Arrays.asList(processes));
                snap.addSockets(Socket.newBuilder().setProtocol(SocketProtocol.SOCKET_PROTOCOL_TCP)
                        .setAddress("0.0.0.0").setPort(3000).setInode(index + 1L).addOwners(processes[0].getKey()));
                send(AgentMessage.newBuilder().setSnapshot(snap), 0);
                snapshotSent = true;
                return;
            }
            Delta.Builder d = Delta.newBuilder().setTakenAtUnixMs(System.currentTimeMillis()).setHost(host())
                    .setMergedScans(1);
            deltas++;
            int changed = o.changedPerDelta();
            for (int k = 0; k < changed; k++) {
                int i = (int) ((deltas * changed + k) % processes.length);
                Process p = processes[i];
                processes[i] = p.toBuilder().setRssBytes(p.getRssBytes() + 4096)
                        .setCpuPercent((float) ((deltas + k) % 100)).clearCmdline().setExe("").build();
                d.addProcessesUpserted(processes[i]);
            }
            if (deltas % 50 == 0) {
                // Some churn: one process exits, one starts (events on the controller).
                int i = (int) (deltas / 50 % processes.length);
                d.addProcessesRemoved(processes[i].getKey());
                processes[i] = process(nextPid++, 30L << 20);
                d.addProcessesUpserted(processes[i]);
            }
            send(AgentMessage.newBuilder().setDelta(d), d.getProcessesUpsertedCount());
        }

        private void send(AgentMessage.Builder m, int processSamples) {
            long seq = ++sequence;
            if (m.hasDelta()) {
                synchronized (inFlight) {
                    inFlight.addLast(new long[] {seq, System.nanoTime(), processSamples});
                }
            }
            stream.onNext(m.setSequence(seq).build());
        }

        private void acked(Ack ack) {
            long now = System.nanoTime();
            synchronized (inFlight) {
                while (!inFlight.isEmpty() && inFlight.peekFirst()[0] <= ack.getUpToSequence()) {
                    long[] f = inFlight.removeFirst();
                    stats.ackedDeltas.incrementAndGet();
                    stats.ackedProcessSamples.addAndGet(f[2]);
                    stats.latency(now - f[1]);
                }
            }
        }

        private HostStats host() {
            return HostStats.newBuilder().setSampledAtUnixMs(System.currentTimeMillis())
                    .setMemTotalBytes(8L << 30).setMemAvailableBytes((4L << 30) + (deltas % 1000) * 4096)
                    .setLoad1(0.5).setProcessCount(processes.length).setCpuCount(2).build();
        }

        private static Process process(int pid, long rss) {
            return Process.newBuilder().setKey(ProcessKey.newBuilder().setPid(pid).setStartTicks(pid * 7L))
                    .setPpid(1).setPgid(pid).setSid(pid).setUid(33).setUser("www-data")
                    .setState(ProcessState.PROCESS_STATE_SLEEPING).setStartTimeUnixMs(System.currentTimeMillis())
                    .setComm("node").addCmdline("node").addCmdline("worker.js").setExe("/usr/bin/node")
                    .setThreads(8).setRssBytes(rss).setVsizeBytes(rss * 4).build();
        }
    }

    private static double percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
        return sorted[Math.max(0, i)] / 1e6;
    }

    private static double scrapeP99(int metricsPort) {
        try {
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String body = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
            for (String line : body.split("\n")) {
                if (line.startsWith("fleetkeeper_controller_ingest_durable_latency_seconds{")
                        && line.contains("quantile=\"0.99\"")) {
                    return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)) * 1000;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return Double.NaN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Double.NaN;
    }

    /** utime + stime of a process, in clock ticks (1/100 s). */
    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void awaitPort(int port, java.lang.Process controller, Path dir)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!controller.isAlive()) {
                throw new IOException("the controller exited while starting; its log: " + dir.resolve("controller.log")
                        + "\n" + Files.readString(dir.resolve("controller.log")));
            }
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        throw new IOException("the controller did not listen on 127.0.0.1:" + port + " within 60 s");
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
