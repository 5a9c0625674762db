package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.output.Durations;
import dev.fleetkeeper.cli.output.Json;
import dev.fleetkeeper.cli.output.Table;
import dev.fleetkeeper.cli.output.Table.Column;
import dev.fleetkeeper.cli.output.TimeFormat;
import dev.fleetkeeper.cli.output.Units;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.proto.v1.Finding;
import dev.fleetkeeper.proto.v1.HostServices;
import dev.fleetkeeper.proto.v1.InstanceView;
import dev.fleetkeeper.proto.v1.ListServicesRequest;
import dev.fleetkeeper.proto.v1.ListServicesResponse;
import dev.fleetkeeper.proto.v1.MemoryBaseline;
import dev.fleetkeeper.proto.v1.MemoryTrend;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.ServiceStatus;
import java.io.PrintWriter;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code fleetkeeper memory SERVICE}: a service's startup baselines by version, and each
 * instance's memory, growth rate, forecast and leak verdict, per host.
 */
@Command(
        name = "memory",
        mixinStandardHelpOptions = true,
        description = {
            "Show a service's memory on every host that runs it (or one host): the settled startup",
            "memory (baseline) of each version, and per instance its RSS, growth rate (SLOPE, from a",
            "robust trend that ignores a garbage collector's sawtooth), the forecast time until its",
            "limit, whether the agent calls it a leak, and its own baseline since it started.",
            "--json prints a ListServicesResponse with only this service."
        })
public final class MemoryCommand extends AdminCommand {
    @Parameters(index = "0", paramLabel = "SERVICE", description = "The service.")
    String service;

    @Option(names = "--host", paramLabel = "HOST", description = "Only this host (name or id).")
    String host;

    @Option(names = {"-w", "--wide"}, description = "Do not cut lines to the terminal width.")
    boolean wide;

    @Override
    void run(AdminClient client, PrintWriter out) {
        ListServicesResponse all = client.listServices(ListServicesRequest.newBuilder()
                .setHost(host == null ? "" : host).setService(service).build());
        // Keep only this service, also where a controller ignores the filter.
        ListServicesResponse.Builder only = ListServicesResponse.newBuilder();
        for (HostServices h : all.getHostsList()) {
            ServiceReport.Builder r = h.getReport().toBuilder().clearServices();
            h.getReport().getServicesList().stream().filter(s -> s.getName().equals(service)).forEach(r::addServices);
            if (r.getServicesCount() > 0) {
                only.addHosts(h.toBuilder().setReport(r));
            }
        }
        ListServicesResponse response = only.build();
        if (json) {
            out.println(Json.document(response));
            return;
        }
        if (response.getHostsCount() == 0) {
            out.println("No host reports a service '" + service + "'" + (host == null ? "" : " on " + host)
                    + ". 'fleetkeeper services' lists the declared ones.");
            return;
        }
        TimeFormat time = cli.timeFormat();
        boolean first = true;
        for (HostServices h : response.getHostsList()) {
            if (!first) {
                out.println();
            }
            first = false;
            printHost(out, h, h.getReport().getServices(0), time);
        }
    }

    private void printHost(PrintWriter out, HostServices h, ServiceStatus s, TimeFormat time) {
        long taken = h.getReport().getTakenAtUnixMs();
        long limit = s.getInstancesList().stream().filter(InstanceView::hasMemory)
                .mapToLong(i -> i.getMemory().getLimitBytes()).max().orElse(0);
        out.println(h.getHostname() + " " + s.getName() + ": " + ServiceText.plural(s.getInstancesCount(), "instance",
                "instances") + (limit > 0 ? ", limit " + Units.bytes(limit) + " each" : "")
                + ", reported " + (taken > 0 ? time.ago(taken) : "never")
                + (h.getOnline() ? "" : ". WARNING: " + h.getHostname() + " is offline; this is its last reported state."));
        if (s.getBaselinesCount() > 0) {
            Table baselines = Table.of(Column.text("VERSION"), Column.number("BASELINE"), Column.number("STARTS"),
                    Column.text("RECORDED"));
            for (MemoryBaseline b : s.getBaselinesList()) {
                baselines.row(b.getVersion().isEmpty() ? "(none)" : b.getVersion(), Units.bytes(b.getRssBytes()),
                        Integer.toString(b.getSamples()), time.absolute(b.getRecordedAtUnixMs()));
            }
            out.print(baselines.render(width(wide)));
        } else {
            out.println("No startup baseline recorded yet (one is taken once a new instance's memory settles).");
        }
        for (Finding f : s.getFindingsList()) {
            if (f.getCode().equals("MEMORY_BASELINE_REGRESSED")) {
                out.println("MEMORY_BASELINE_REGRESSED: " + f.getSummary());
            }
        }
        boolean anyTrend = s.getInstancesList().stream().anyMatch(InstanceView::hasMemory);
        Table table = Table.of(Column.number("#"), Column.number("PID"), Column.number("RSS"), Column.number("SLOPE"),
                Column.text("FORECAST"), Column.text("LEAK"), Column.number("BASELINE"), Column.text("WHY"));
        for (InstanceView i : s.getInstancesList()) {
            MemoryTrend m = i.getMemory();
            table.row(
                    Integer.toString(i.getIndex()),
                    i.hasProcess() ? Integer.toString(i.getProcess().getPid()) : null,
                    i.hasProcess() ? Units.bytes(i.getRssBytes()) : null,
                    i.hasMemory() ? slope(m.getSlopeBytesPerSecond()) : null,
                    i.hasMemory() && m.getTimeToLimitMs() > 0 ? "in " + Durations.format(Duration.ofMillis(m.getTimeToLimitMs()))
                            : null,
                    i.hasMemory() ? (m.getLeaking() ? "YES" : "no") : null,
                    i.hasMemory() && m.getBaselineRssBytes() > 0 ? Units.bytes(m.getBaselineRssBytes()) : null,
                    i.hasMemory() ? m.getReason() : null);
        }
        out.print(table.render(width(wide)));
        if (!anyTrend) {
            out.println(s.getName() + " declares no memory policy ('memory:' in agent.yaml): RSS only, no trend.");
        }
    }

    /** "+2.1M/min", "-120K/min", "0/min". */
    static String slope(double bytesPerSecond) {
        double perMinute = bytesPerSecond * 60;
        if (Math.abs(perMinute) < 1024) {
            return "0/min";
        }
        return (perMinute > 0 ? "+" : "-") + Units.bytes((long) Math.abs(perMinute)) + "/min";
    }
}
