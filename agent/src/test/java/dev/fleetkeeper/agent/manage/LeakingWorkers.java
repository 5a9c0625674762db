package dev.fleetkeeper.agent.manage;

import dev.fleetkeeper.agent.service.ManagerState;
import dev.fleetkeeper.agent.service.ServiceEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A worker that leaks like incident 2's, for real: its RSS grows at a set rate (MiB/s, by
 * instance), optionally with a sawtooth on top, and it dies with the incident's message when its
 * RSS reaches its limit, leaving a marker file. Plus a watcher that samples the manager's reports
 * to check capacity as it runs.
 */
final class LeakingWorkers {

    static final long MIB = 1L << 20;

    private LeakingWorkers() {
    }

    /**
     * The worker. argv: rates (MiB/s, comma-separated, by FLEETKEEPER_INSTANCE), sawtooth
     * amplitude (MiB), sawtooth period (s), limit (bytes: dies at it), base port (0: none; instance
     * i listens on base + i), the directory for death markers.
     */
    static Path write(Path dir) throws IOException {
        Path script = dir.resolve("leaker.py");
        Files.writeString(script, String.join("\n",
                "import mmap, os, socket, sys, time",
                "MIB = 1048576",
                "PAGE = os.sysconf('SC_PAGE_SIZE')",
                "inst = int(os.environ.get('FLEETKEEPER_INSTANCE', '0'))",
                "rates = [float(r) for r in sys.argv[1].split(',')]",
                "rate = rates[inst % len(rates)] * MIB",
                "saw, period = float(sys.argv[2]) * MIB, float(sys.argv[3])",
                "limit, base, dead = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]",
                "if base:",
                "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
                "    s.bind(('127.0.0.1', base + inst)); s.listen(8)",
                "def chunk():",
                "    m = mmap.mmap(-1, MIB)",
                "    for off in range(0, MIB, PAGE):",
                "        m[off] = 1",
                "    return m",
                "def rss():",
                "    with open('/proc/self/statm') as f:",
                "        return int(f.read().split()[1]) * PAGE",
                "leak, tooth, leaked, t0 = [], [], 0, time.monotonic()",
                "print('worker', inst, 'leaking', rate / MIB, 'MiB/s', flush=True)",
                "while True:",
                "    now = time.monotonic() - t0",
                "    while leaked < rate * now:",
                "        leak.append(chunk()); leaked += MIB",
                "    if saw > 0:",
                "        phase = (now % period) / period",
                "        want = saw * phase / 0.8 if phase < 0.8 else 0",
                "        if want < len(tooth) * MIB - MIB:",
                "            for m in tooth:",
                "                m.close()",
                "            tooth = []",
                "        while len(tooth) * MIB < want:",
                "            tooth.append(chunk())",
                "    if rss() >= limit:",
                "        open(os.path.join(dead, 'died-%d' % os.getpid()), 'w').write(str(rss()))",
                "        print('FATAL: process memory exhaustion detected. Killing worker process.', flush=True)",
                "        os._exit(1)",
                "    time.sleep(0.05)",
                ""));
        return script;
    }

    /** Samples the manager's newest report every 50 ms: the fewest instances of a service seen up at once. */
    static final class Watcher implements AutoCloseable {
        private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        private final Map<String, AtomicInteger> fewestUp = new ConcurrentHashMap<>();
        private final Map<String, List<Integer>> pids = new ConcurrentHashMap<>();

        Watcher(ServiceManager m, List<String> services) {
            for (String s : services) {
                fewestUp.put(s, new AtomicInteger(Integer.MAX_VALUE));
                pids.put(s, java.util.Collections.synchronizedList(new ArrayList<>()));
            }
            timer.scheduleWithFixedDelay(() -> {
                ServicesReport r = m.lastReport();
                if (r == null) {
                    return;
                }
                for (ServiceState s : r.services()) {
                    AtomicInteger fewest = fewestUp.get(s.name());
                    if (fewest == null) {
                        continue;
                    }
                    int up = 0;
                    for (InstanceView v : s.instances()) {
                        if (v.status().state() == ManagerState.RUNNING
                                && v.boundPorts().containsAll(v.expectedPorts())) {
                            up++;
                        }
                        List<Integer> seen = pids.get(s.name());
                        if (v.status().pid() > 0 && !seen.contains(v.status().pid())) {
                            seen.add(v.status().pid());
                        }
                    }
                    fewest.accumulateAndGet(up, Math::min);
                }
            }, 0, 50, TimeUnit.MILLISECONDS);
        }

        int fewestUp(String service) {
            return fewestUp.get(service).get();
        }

        int distinctPids(String service) {
            return pids.get(service).size();
        }

        @Override
        public void close() {
            timer.shutdownNow();
            try {
                timer.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The most recycles of one service in flight at the same moment, from RECYCLED events' down intervals. */
    static int mostAtOnce(List<ServiceEvent> recycled) {
        int most = 0;
        for (ServiceEvent a : recycled) {
            long at = a.timeMillis() - Long.parseLong(a.attributes().get("down_ms"));
            int n = 0;
            for (ServiceEvent b : recycled) {
                long from = b.timeMillis() - Long.parseLong(b.attributes().get("down_ms"));
                if (from <= at && at < b.timeMillis()) { // one that ended as this one began freed its slot
                    n++;
                }
            }
            most = Math.max(most, n);
        }
        return most;
    }
}
