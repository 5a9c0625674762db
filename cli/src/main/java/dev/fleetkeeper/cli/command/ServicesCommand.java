package dev.fleetkeeper.cli.command;

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
import dev.fleetkeeper.proto.v1.ServiceStatus;
import dev.fleetkeeper.proto.v1.Severity;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fleetkeeper services}: every managed instance as its manager and /proc see it. */
@Command(
        name = "services",
        mixinStandardHelpOptions = true,
        description = {
            "List managed services per host: each instance as its process manager reports it",
            "(MGR STATE, MGR PID, RESTARTS) next to what /proc shows (PROC state letter, PROC PID,",
            "RSS), the ports it should listen on and those it holds, and AGREE=NO where the",
            "manager and /proc disagree. Then each service's findings; 'doctor' explains them.",
            "An offline host's services are shown as last reported.",
            "--json prints a ListServicesResponse."
        })
public final class ServicesCommand extends AdminCommand {
    @Option(names = "--host", paramLabel = "HOST", description = "Only this host (name or id).")
    String host;

    @Option(names = {"-w", "--wide"}, description = "Do not cut lines to the terminal width.")
    boolean wide;

    @Override
    void run(AdminClient client, PrintWriter out) {
        ListServicesResponse response = client.listServices(ListServicesRequest.newBuilder()
                .setHost(host == null ? "" : host).build());
        if (json) {
            out.println(Json.document(response));
            return;
        }
        if (response.getHostsCount() == 0) {
            out.println("No services reported: no agent has declared managed services yet.");
            return;
        }
        TimeFormat time = cli.timeFormat();
        boolean first = true;
        for (HostServices h : response.getHostsList()) {
            if (!first) {
                out.println();
            }
            first = false;
            printHost(out, h, time);
        }
    }

    private void printHost(PrintWriter out, HostServices h, TimeFormat time) {
        List<ServiceStatus> services = h.getReport().getServicesList();
        long taken = h.getReport().getTakenAtUnixMs();
        String header = h.getHostname() + ": " + ServiceText.plural(services.size(), "service", "services")
                + ", reported " + (taken > 0 ? time.ago(taken) + " (" + time.absolute(taken) + ")" : "never");
        if (!h.getOnline()) {
            header += ". WARNING: " + h.getHostname() + " is offline; this is its last reported state.";
        }
        out.println(header);
        if (services.isEmpty()) {
            out.println("No managed services.");
            return;
        }
        Table table = Table.of(
                Column.text("SERVICE"),
                Column.number("#"),
                Column.text("MGR STATE"),
                Column.number("MGR PID"),
                Column.number("RESTARTS"),
                Column.text("PROC"),
                Column.number("PROC PID"),
                Column.number("RSS"),
                Column.text("PORTS"),
                Column.text("BOUND"),
                Column.text("PROBE"),
                Column.text("AGREE"));
        List<String> probeFailures = new ArrayList<>();
        for (ServiceStatus s : services) {
            for (InstanceView i : s.getInstancesList()) {
                table.row(
                        s.getName(),
                        Integer.toString(i.getIndex()),
                        ServiceText.managerState(i.getManagerState()),
                        i.getManagerPid() > 0 ? Integer.toString(i.getManagerPid()) : null,
                        i.getRestarts() >= 0 ? Integer.toString(i.getRestarts()) : null,
                        i.getProcState(),
                        i.hasProcess() ? Integer.toString(i.getProcess().getPid()) : null,
                        i.hasProcess() ? Units.bytes(i.getRssBytes()) : null,
                        ports(i.getExpectedPortsList()),
                        ports(i.getBoundPortsList()),
                        !i.hasProbe() ? null : i.getProbe().getOk() ? "ok"
                                : i.getProbe().getCheckedAtUnixMs() == 0 ? "pending" : "FAILING",
                        i.getConsistent() ? "yes" : "NO");
                if (i.hasProbe() && !i.getProbe().getOk() && i.getProbe().getCheckedAtUnixMs() > 0) {
                    probeFailures.add(s.getName() + "#" + i.getIndex() + ": probe " + i.getProbe().getProbe()
                            + " failing since " + time.ago(i.getProbe().getSinceUnixMs()) + ": "
                            + i.getProbe().getDetail());
                }
            }
        }
        out.print(table.render(width(wide)));
        probeFailures.forEach(out::println);
        boolean anyFindings = false;
        for (ServiceStatus s : services) {
            if (!s.getManagerError().isEmpty()) {
                out.println(s.getName() + ": manager not reachable: " + s.getManagerError());
            }
            out.println(s.getName() + ": " + findings(s.getFindingsList()));
            anyFindings |= s.getFindingsCount() > 0;
        }
        if (anyFindings) {
            out.println("Evidence and remedies: fleetkeeper doctor " + h.getHostname());
        }
    }

    private static String ports(List<Integer> ports) {
        return ports.stream().map(p -> Integer.toUnsignedString(p)).collect(Collectors.joining(","));
    }

    /** "no findings", or "2 findings (1 critical, 1 warning): PORT_HELD, ZOMBIE". */
    private static String findings(List<Finding> findings) {
        if (findings.isEmpty()) {
            return "no findings";
        }
        List<String> bySeverity = new ArrayList<>();
        for (Severity severity : List.of(Severity.SEVERITY_CRITICAL, Severity.SEVERITY_WARNING, Severity.SEVERITY_INFO)) {
            long n = findings.stream().filter(f -> f.getSeverity() == severity).count();
            if (n > 0) {
                bySeverity.add(n + " " + ServiceText.severity(severity).toLowerCase(java.util.Locale.ROOT));
            }
        }
        LinkedHashSet<String> codes = new LinkedHashSet<>();
        findings.forEach(f -> codes.add(f.getCode()));
        return ServiceText.plural(findings.size(), "finding", "findings")
                + (bySeverity.isEmpty() ? "" : " (" + String.join(", ", bySeverity) + ")") + ": " + String.join(", ", codes);
    }
}
