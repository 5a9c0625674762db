package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.output.Json;
import dev.fleetkeeper.cli.output.Table;
import dev.fleetkeeper.cli.output.Table.Column;
import dev.fleetkeeper.cli.output.TimeFormat;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.HostSummary;
import dev.fleetkeeper.proto.v1.ListEventsRequest;
import dev.fleetkeeper.proto.v1.ListEventsResponse;
import dev.fleetkeeper.proto.v1.ListHostsRequest;
import dev.fleetkeeper.proto.v1.WatchEventsRequest;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fleetkeeper events}: stored events, oldest first, and with {@code --follow} new ones as they come. */
@Command(
        name = "events",
        mixinStandardHelpOptions = true,
        description = {
            "List stored events, oldest first; with --follow, keep printing new ones until Ctrl-C.",
            "--json prints a ListEventsResponse; with --follow, one Event per line (JSON Lines)."
        })
public final class EventsCommand extends AdminCommand {
    /** Width of the TYPE column when streaming: the longest type name, "listener-disappeared". */
    private static final int TYPE_WIDTH = EventKinds.typeNames().stream().mapToInt(String::length).max().orElse(4);

    @Option(names = "--host", paramLabel = "HOST", description = "Only this host (name or id).")
    String host;

    @Option(
            names = "--since",
            paramLabel = "WHEN",
            converter = Since.Converter.class,
            description = "Only events at or after WHEN: an age (30s, 10m, 2h, 1d) or a time "
                    + "(2026-11-05T10:00:00Z; 2026-11-05T10:00 or 2026-11-05 in local time).")
    Since since;

    @Option(
            names = "--type",
            split = ",",
            paramLabel = "TYPE",
            converter = EventKinds.TypeConverter.class,
            description = "Only these types, e.g. process-exited,zombie-appeared. One of: "
                    + "host-registered, host-online, host-offline, host-rebooted, process-started, process-exited, "
                    + "listener-appeared, listener-disappeared, zombie-appeared, agent.")
    List<EventType> types = new ArrayList<>();

    @Option(names = "-n", paramLabel = "N", description = "At most the N newest; 0 (the default) for the controller's default, 100.")
    int limit;

    @Option(names = {"-f", "--follow"}, description = "After the stored events, print new ones as they are stored, until Ctrl-C.")
    boolean follow;

    @Override
    void validate() {
        requireLimit(limit);
    }

    @Override
    void run(AdminClient client, PrintWriter out) {
        TimeFormat time = cli.timeFormat();
        ListEventsRequest.Builder filter = ListEventsRequest.newBuilder().addAllTypes(types).setLimit(limit);
        if (host != null) {
            filter.setHost(host);
        }
        if (since != null) {
            filter.setSinceUnixMs(since.resolve(cli.environment().clock(), cli.environment().zone()));
        }
        if (follow) {
            follow(client, out, filter.build(), time);
            return;
        }
        ListEventsResponse response = client.listEvents(filter.build());
        if (json) {
            out.println(Json.document(response));
            return;
        }
        if (response.getEventsCount() == 0) {
            out.println("No events match.");
            return;
        }
        HostNames names = new HostNames(client);
        Table table = table();
        for (Event event : response.getEventsList()) {
            table.row(cells(event, names, time));
        }
        out.print(table.render(Table.UNLIMITED));
    }

    private void follow(AdminClient client, PrintWriter out, ListEventsRequest filter, TimeFormat time) {
        WatchEventsRequest request = WatchEventsRequest.newBuilder().setFilter(filter).build();
        if (json) {
            client.watchEvents(request, event -> {
                out.println(Json.line(event));
                out.flush();
            });
            return;
        }
        HostNames names = new HostNames(client);
        Table table = table();
        int[] widths = {"yyyy-MM-dd HH:mm:ss".length(), names.longest(), "critical".length(), TYPE_WIDTH, 0};
        out.println(table.header(widths, Table.UNLIMITED));
        out.flush();
        client.watchEvents(request, event -> {
            out.println(table.format(widths, Table.UNLIMITED, cells(event, names, time)));
            out.flush();
        });
    }

    private static Table table() {
        return Table.of(
                Column.text("TIME"),
                Column.text("HOST"),
                Column.text("SEVERITY"),
                Column.text("TYPE"),
                Column.text("MESSAGE"));
    }

    private static String[] cells(Event event, HostNames names, TimeFormat time) {
        return new String[] {
            time.absolute(event.getTimeUnixMs()),
            names.name(event.getHostId()),
            EventKinds.severityName(event.getSeverity()),
            EventKinds.typeName(event.getType()),
            event.getMessage()
        };
    }

    /** Host ids in events, shown as host names; asks the controller again for an id it has not seen. */
    private static final class HostNames {
        private final AdminClient client;
        private final Map<String, String> names = new HashMap<>();
        private final Set<String> missed = new HashSet<>();

        HostNames(AdminClient client) {
            this.client = client;
            refresh();
        }

        private void refresh() {
            for (HostSummary host : client.listHosts(ListHostsRequest.getDefaultInstance()).getHostsList()) {
                names.put(host.getHostId(), host.getHostname().isEmpty() ? HostsCommand.shortId(host.getHostId()) : host.getHostname());
            }
        }

        String name(String hostId) {
            if (hostId.isEmpty()) {
                return "-";
            }
            if (!names.containsKey(hostId) && missed.add(hostId)) {
                refresh(); // a host registered after we started; once per id, so a stream cannot flood the API
            }
            return names.getOrDefault(hostId, HostsCommand.shortId(hostId));
        }

        int longest() {
            return names.values().stream().mapToInt(String::length).max().orElse(0);
        }
    }
}
