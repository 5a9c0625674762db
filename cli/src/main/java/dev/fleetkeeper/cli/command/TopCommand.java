package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.output.Json;
import dev.fleetkeeper.cli.output.Table;
import dev.fleetkeeper.cli.output.Table.Column;
import dev.fleetkeeper.cli.output.Units;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessEntry;
import dev.fleetkeeper.proto.v1.TopMemoryRequest;
import dev.fleetkeeper.proto.v1.TopMemoryResponse;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fleetkeeper top}: the processes using the most memory across the fleet. */
@Command(
        name = "top",
        mixinStandardHelpOptions = true,
        description = {
            "List the processes using the most resident memory across the fleet.",
            "--json prints a TopMemoryResponse."
        })
public final class TopCommand extends AdminCommand {
    @Option(names = "-n", paramLabel = "N", description = "How many; 0 (the default) for the controller's default, 10.")
    int limit;

    @Option(
            names = "--selector",
            split = ",",
            paramLabel = "KEY=VALUE",
            description = "Only hosts carrying all of these labels, e.g. role=web.")
    Map<String, String> selector = new LinkedHashMap<>();

    @Option(names = {"-w", "--wide"}, description = "Do not cut COMMAND to the terminal width.")
    boolean wide;

    @Override
    void validate() {
        requireLimit(limit);
    }

    @Override
    void run(AdminClient client, PrintWriter out) {
        TopMemoryResponse response = client.topMemory(
                TopMemoryRequest.newBuilder().setLimit(limit).putAllSelector(selector).build());
        if (json) {
            out.println(Json.document(response));
            return;
        }
        if (response.getProcessesCount() == 0) {
            out.println("No processes: no host has reported its state yet.");
            return;
        }
        Table table = Table.of(
                Column.text("HOST"),
                Column.number("PID"),
                Column.text("USER"),
                Column.number("RSS"),
                Column.number("CPU%"),
                Column.text("COMMAND"));
        for (ProcessEntry entry : response.getProcessesList()) {
            Process p = entry.getProcess();
            table.row(
                    entry.getHostname().isEmpty() ? HostsCommand.shortId(entry.getHostId()) : entry.getHostname(),
                    Integer.toString(p.getKey().getPid()),
                    Processes.user(p),
                    Units.bytes(p.getRssBytes()),
                    Units.percent(p.getCpuPercent()),
                    Processes.command(p));
        }
        out.print(table.render(width(wide)));
    }
}
