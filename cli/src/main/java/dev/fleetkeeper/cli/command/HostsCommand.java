package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.output.Json;
import dev.fleetkeeper.cli.output.Table;
import dev.fleetkeeper.cli.output.Table.Column;
import dev.fleetkeeper.cli.output.TimeFormat;
import dev.fleetkeeper.cli.output.Units;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.proto.v1.HostStats;
import dev.fleetkeeper.proto.v1.HostSummary;
import dev.fleetkeeper.proto.v1.ListHostsRequest;
import dev.fleetkeeper.proto.v1.ListHostsResponse;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fleetkeeper hosts}: every host the controller knows, online or not. */
@Command(
        name = "hosts",
        mixinStandardHelpOptions = true,
        description = {
            "List the hosts the controller knows, online or not, with their latest figures.",
            "--json prints a ListHostsResponse."
        })
public final class HostsCommand extends AdminCommand {
    /** Host ids are long (a machine id); this many characters tell them apart in practice. */
    static final int SHORT_ID = 8;

    @Option(
            names = "--selector",
            split = ",",
            paramLabel = "KEY=VALUE",
            description = "Only hosts carrying all of these labels, e.g. role=web,env=prod.")
    Map<String, String> selector = new LinkedHashMap<>();

    @Override
    void run(AdminClient client, PrintWriter out) {
        ListHostsResponse response =
                client.listHosts(ListHostsRequest.newBuilder().putAllSelector(selector).build());
        if (json) {
            out.println(Json.document(response));
            return;
        }
        if (response.getHostsCount() == 0) {
            out.println(selector.isEmpty()
                    ? "No hosts have registered with the controller at " + client.address()
                            + " yet: start an agent pointed at it (controller: in agent.yaml)."
                    : "No hosts carry the labels " + Processes.labels(selector) + ".");
            return;
        }
        TimeFormat time = cli.timeFormat();
        Table table = Table.of(
                Column.text("HOST"),
                Column.text("ID"),
                Column.text("ONLINE"),
                Column.text("LAST SEEN"),
                Column.text("AGENT"),
                Column.text("KERNEL"),
                Column.number("MEM AVAIL/TOTAL"),
                Column.number("LOAD1"),
                Column.number("PROCS"),
                Column.number("ZOMBIES"),
                Column.number("LISTENERS"),
                Column.text("LABELS"));
        for (HostSummary host : response.getHostsList()) {
            HostStats stats = host.getStats();
            boolean hasStats = host.hasStats() && stats.getMemTotalBytes() > 0;
            table.row(
                    host.getHostname(),
                    shortId(host.getHostId()),
                    host.getOnline() ? "yes" : "no",
                    time.ago(host.getLastSeenUnixMs()),
                    host.getAgentVersion(),
                    host.getKernel(),
                    hasStats
                            ? Units.bytes(stats.getMemAvailableBytes()) + "/" + Units.bytes(stats.getMemTotalBytes())
                            : null,
                    host.hasStats() ? Units.load(stats.getLoad1()) : null,
                    Integer.toUnsignedString(host.getProcessCount()),
                    Integer.toUnsignedString(host.getZombieCount()),
                    Integer.toUnsignedString(host.getListenerCount()),
                    Processes.labels(host.getLabelsMap()));
        }
        out.print(table.render(Table.UNLIMITED));
    }

    static String shortId(String hostId) {
        return hostId.length() <= SHORT_ID ? hostId : hostId.substring(0, SHORT_ID);
    }
}
