package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.controller.store.HostRecord;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.Socket;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Consumer;

/**
 * The read side of the fleet engine: host listings, process and port views, fleet-wide top
 * memory, host resolution by id or name. Reads the engine's live host models, so it must only
 * run on the engine's thread (the engine's public query methods see to that). Owned by the
 * {@link FleetEngine}.
 */
final class FleetQueries {

    private final Map<String, HostView> hosts;
    private final Consumer<HostView> ensureLoaded;

    /** {@code ensureLoaded} loads a host's checkpointed state on first use after a restart. */
    FleetQueries(Map<String, HostView> hosts, Consumer<HostView> ensureLoaded) {
        this.hosts = hosts;
        this.ensureLoaded = ensureLoaded;
    }

    List<HostStatus> hosts(Map<String, String> selector) {
        List<HostStatus> out = new ArrayList<>();
        for (HostView v : hosts.values()) {
            if (matches(v, selector)) {
                // After a restart a host's state loads lazily; its counts must not read 0 meanwhile.
                ensureLoaded.accept(v);
                out.add(status(v));
            }
        }
        out.sort(Comparator.comparing((HostStatus h) -> h.record().hostname())
                .thenComparing(h -> h.record().hostId()));
        return out;
    }

    HostStatus host(String ref) {
        HostView v = resolve(ref);
        ensureLoaded.accept(v);
        return status(v);
    }

    HostProcesses processes(String ref, ProcessOrder order, boolean zombiesOnly, int limit) {
        HostView v = resolve(ref);
        ensureLoaded.accept(v);
        List<ProcessRow> rows = new ArrayList<>();
        for (LiveProcess p : v.processes.values()) {
            if (zombiesOnly && !p.isZombie()) {
                continue;
            }
            LiveProcess parent = zombiesOnly ? HostView.parentIn(v.processes, p) : null;
            rows.add(new ProcessRow(v.hostId(), v.record.hostname(), p.toProto(),
                    parent == null ? null : parent.toProto()));
        }
        rows.sort(comparator(order));
        return new HostProcesses(status(v), limit > 0 && rows.size() > limit ? rows.subList(0, limit) : rows,
                rows.size());
    }

    HostPorts ports(String ref) {
        HostView v = resolve(ref);
        ensureLoaded.accept(v);
        List<PortRow> rows = new ArrayList<>();
        for (Socket s : v.sockets.values()) {
            List<Process> owners = new ArrayList<>();
            for (var k : s.getOwnersList()) {
                Process p = v.full(ProcKey.of(k));
                if (p != null) {
                    owners.add(p);
                }
            }
            rows.add(new PortRow(s, owners));
        }
        rows.sort(Comparator.comparingInt((PortRow r) -> r.socket().getPort())
                .thenComparing(r -> r.socket().getProtocol())
                .thenComparing(r -> r.socket().getAddress()));
        return new HostPorts(status(v), rows);
    }

    List<ProcessRow> topMemory(int limit, Map<String, String> selector) {
        int n = limit <= 0 ? 10 : limit;
        record Candidate(HostView host, ProcKey key, long rss) {
        }
        PriorityQueue<Candidate> top = new PriorityQueue<>(Comparator.comparingLong(Candidate::rss));
        for (HostView v : hosts.values()) {
            if (!v.record.online() || !matches(v, selector)) {
                continue;
            }
            for (Map.Entry<ProcKey, LiveProcess> e : v.processes.entrySet()) {
                long rss = e.getValue().rssBytes();
                if (top.size() < n) {
                    top.add(new Candidate(v, e.getKey(), rss));
                } else if (rss > top.peek().rss()) {
                    top.poll();
                    top.add(new Candidate(v, e.getKey(), rss));
                }
            }
        }
        List<ProcessRow> out = new ArrayList<>(top.size());
        for (Candidate c : top) {
            out.add(new ProcessRow(c.host().hostId(), c.host().record.hostname(), c.host().full(c.key()), null));
        }
        out.sort(comparator(ProcessOrder.MEMORY));
        return out;
    }

    List<HostServices> services(String hostRef, String service) {
        List<HostView> views = new ArrayList<>();
        if (!hostRef.isEmpty()) {
            views.add(resolve(hostRef));
        } else {
            for (HostView v : hosts.values()) {
                if (v.services.getServicesCount() > 0) {
                    views.add(v);
                }
            }
        }
        List<HostServices> out = new ArrayList<>();
        for (HostView v : views) {
            ServiceReport report = v.services;
            if (!service.isEmpty()) {
                ServiceReport.Builder only = report.toBuilder().clearServices();
                report.getServicesList().stream().filter(s -> s.getName().equals(service)).forEach(only::addServices);
                report = only.build();
                if (hostRef.isEmpty() && report.getServicesCount() == 0) {
                    continue;
                }
            }
            HostRecord r = v.record;
            out.add(new HostServices(r.hostId(), r.hostname(), r.online(),
                    Math.max(r.lastSeenMillis(), v.lastHeardMillis), report));
        }
        out.sort(Comparator.comparing(HostServices::hostname).thenComparing(HostServices::hostId));
        return out;
    }

    /** The host with this id, else the one host with this name. */
    HostView resolve(String ref) {
        HostView byId = hosts.get(ref);
        if (byId != null) {
            return byId;
        }
        List<HostView> byName = new ArrayList<>();
        for (HostView v : hosts.values()) {
            if (v.record.hostname().equals(ref)) {
                byName.add(v);
            }
        }
        if (byName.isEmpty()) {
            throw new HostNotFoundException(ref);
        }
        if (byName.size() > 1) {
            throw new AmbiguousHostException(ref, byName.stream().map(HostView::hostId).sorted().toList());
        }
        return byName.get(0);
    }

    private static HostStatus status(HostView v) {
        HostRecord r = v.record;
        if (r.online() && v.lastHeardMillis > r.lastSeenMillis()) {
            // The stored record is refreshed at checkpoints; readers want the live figure.
            r = new HostRecord(r.hostId(), r.hostname(), r.labels(), r.agentVersion(), r.kernel(), r.bootId(),
                    r.registeredAtMillis(), v.lastHeardMillis, r.connectedAtMillis(), true);
        }
        return new HostStatus(r, v.stats, v.takenAtMillis, v.processes.size(), v.zombieCount(), v.sockets.size());
    }

    private static boolean matches(HostView v, Map<String, String> selector) {
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(v.record.labels().get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    private static Comparator<ProcessRow> comparator(ProcessOrder order) {
        Comparator<ProcessRow> byPid = Comparator.comparingInt(r -> r.process().getKey().getPid());
        switch (order) {
            case CPU:
                return Comparator.comparingDouble((ProcessRow r) -> -r.process().getCpuPercent()).thenComparing(byPid);
            case PID:
                return byPid;
            case MEMORY:
            default:
                return Comparator.comparingLong((ProcessRow r) -> -r.process().getRssBytes()).thenComparing(byPid);
        }
    }
}
