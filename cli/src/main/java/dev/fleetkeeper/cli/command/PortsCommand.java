package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.output.Json;
import dev.fleetkeeper.cli.output.Table;
import dev.fleetkeeper.cli.output.Table.Column;
import dev.fleetkeeper.cli.output.TimeFormat;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.proto.v1.ListPortsRequest;
import dev.fleetkeeper.proto.v1.ListPortsResponse;
import dev.fleetkeeper.proto.v1.PortEntry;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.Socket;
import dev.fleetkeeper.proto.v1.SocketProtocol;
import java.io.PrintWriter;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fleetkeeper ports HOST}: listening TCP and bound UDP sockets with their owners. */
@Command(
        name = "ports",
        mixinStandardHelpOptions = true,
        description = {
            "List the listening TCP and bound UDP sockets of a host, with their processes.",
            "One row per socket; PID(S) lists every process holding it (more than one after a fork).",
            "--json prints a ListPortsResponse."
        })
public final class PortsCommand extends AdminCommand {
    @Parameters(index = "0", paramLabel = "HOST", description = "Host name or id.")
    String host;

    @Option(names = {"-w", "--wide"}, description = "Do not cut COMMAND to the terminal width.")
    boolean wide;

    @Override
    void run(AdminClient client, PrintWriter out) {
        ListPortsResponse response = client.listPorts(ListPortsRequest.newBuilder().setHost(host).build());
        if (json) {
            out.println(Json.document(response));
            return;
        }
        TimeFormat time = cli.timeFormat();
        long sampled = response.getSampledAtUnixMs();
        String header = host + ": " + response.getPortsCount() + (response.getPortsCount() == 1 ? " socket" : " sockets")
                + ", sampled " + (sampled > 0 ? time.ago(sampled) + " (" + time.absolute(sampled) + ")" : "never");
        if (!response.getHostOnline()) {
            header += ". WARNING: " + host + " is offline; this is its last known state.";
        }
        out.println(header);
        if (response.getPortsCount() == 0) {
            out.println("No listening sockets.");
            return;
        }
        Table table = Table.of(
                Column.text("PROTO"),
                Column.text("ADDRESS:PORT"),
                Column.text("PID(S)"),
                Column.text("USER"),
                Column.text("STATE"),
                Column.text("STARTED"),
                Column.text("COMMAND"));
        boolean unowned = false;
        for (PortEntry entry : response.getPortsList()) {
            Socket socket = entry.getSocket();
            unowned |= socket.getOwnersCount() == 0;
            table.row(
                    protocol(socket.getProtocol()),
                    endpoint(socket),
                    socket.getOwnersList().stream().map(k -> Integer.toString(k.getPid())).collect(Collectors.joining(",")),
                    users(entry),
                    isTcp(socket.getProtocol()) ? "LISTEN" : "UNCONN",
                    entry.getOwnersList().stream()
                            .mapToLong(Process::getStartTimeUnixMs)
                            .filter(ms -> ms > 0)
                            .min()
                            .stream()
                            .mapToObj(time::ago)
                            .findFirst()
                            .orElse(null),
                    distinct(entry.getOwnersList().stream().map(Processes::command).collect(Collectors.toList()), " | "));
        }
        out.print(table.render(width(wide)));
        if (unowned) {
            out.println();
            out.println("PID(S) '-': no process with a readable fd holds the socket (another network namespace,"
                    + " or the agent lacks the privilege to read that process's fds).");
        }
    }

    static String protocol(SocketProtocol protocol) {
        return switch (protocol) {
            case SOCKET_PROTOCOL_TCP -> "tcp";
            case SOCKET_PROTOCOL_TCP6 -> "tcp6";
            case SOCKET_PROTOCOL_UDP -> "udp";
            case SOCKET_PROTOCOL_UDP6 -> "udp6";
            default -> "?";
        };
    }

    private static boolean isTcp(SocketProtocol protocol) {
        return protocol == SocketProtocol.SOCKET_PROTOCOL_TCP || protocol == SocketProtocol.SOCKET_PROTOCOL_TCP6;
    }

    /** {@code 0.0.0.0:80}, {@code [::]:80}. */
    static String endpoint(Socket socket) {
        String address = socket.getAddress().isEmpty() ? "*" : socket.getAddress();
        return (address.indexOf(':') >= 0 ? "[" + address + "]" : address) + ":" + socket.getPort();
    }

    /** The owners' user names; the socket's uid when no owner was found. */
    private static String users(PortEntry entry) {
        if (entry.getOwnersCount() == 0) {
            return Integer.toUnsignedString(entry.getSocket().getUid());
        }
        return distinct(entry.getOwnersList().stream().map(Processes::user).collect(Collectors.toList()), ",");
    }

    /** Owners that forked from one another usually share a command: show it once. */
    private static String distinct(Iterable<String> values, String separator) {
        Set<String> seen = new LinkedHashSet<>();
        values.forEach(seen::add);
        return String.join(separator, seen);
    }
}
