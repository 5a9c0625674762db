package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.output.Json;
import dev.fleetkeeper.cli.output.Table;
import dev.fleetkeeper.cli.output.Table.Column;
import dev.fleetkeeper.cli.output.TimeFormat;
import dev.fleetkeeper.cli.output.Units;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.proto.v1.ListProcessesRequest;
import dev.fleetkeeper.proto.v1.ListProcessesResponse;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessEntry;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fleetkeeper ps HOST}: the processes of one host, or its zombies with their parents. */
@Command(
        name = "ps",
        mixinStandardHelpOptions = true,
        description = {
            "List the processes of a host as of its latest state.",
            "--zombies lists only zombies, each with the parent that has not reaped it.",
            "--json prints a ListProcessesResponse."
        })
public final class PsCommand extends AdminCommand {
    @Parameters(index = "0", paramLabel = "HOST", description = "Host name or id.")
    String host;

    @Option(
            names = "--sort",
            paramLabel = "KEY",
            defaultValue = "mem",
            converter = ProcessOrder.Converter.class,
            description = "mem (resident memory, largest first; the default), cpu (busiest first) or pid.")
    ProcessOrder sort;

    @Option(names = "--zombies", description = "Only zombies, each with its parent.")
    boolean zombies;

    @Option(names = "-n", paramLabel = "N", description = "At most N processes; 0 (the default) for all.")
    int limit;

    @Option(names = {"-w", "--wide"}, description = "Do not cut COMMAND to the terminal width.")
    boolean wide;

    @Override
    void validate() {
        requireLimit(limit);
    }

    @Override
    void run(AdminClient client, PrintWriter out) {
        ListProcessesResponse response = client.listProcesses(ListProcessesRequest.newBuilder()
                .setHost(host)
                .setSort(sort.toProto())
                .setZombiesOnly(zombies)
                .setLimit(limit)
                .build());
        if (json) {
            out.println(Json.document(response));
            return;
        }
        TimeFormat time = cli.timeFormat();
        String hostname = response.getProcessesCount() > 0 && !response.getProcesses(0).getHostname().isEmpty()
                ? response.getProcesses(0).getHostname()
                : host;
        out.println(header(hostname, response, time));
        if (response.getProcessesCount() == 0) {
            out.println(zombies ? "No zombies." : "No processes.");
            return;
        }
        Table table = zombies ? zombieTable(response, time) : processTable(response, time);
        out.print(table.render(width(wide)));
        if (zombies) {
            out.println();
            out.println("A zombie is gone once its parent reaps it (wait()): fix or restart the parent (PPID).");
        }
    }

    private String header(String hostname, ListProcessesResponse response, TimeFormat time) {
        long sampled = response.getSampledAtUnixMs();
        int total = Math.max(response.getTotalMatching(), response.getProcessesCount());
        String what = total + (zombies ? " zombie" : " process") + (total == 1 ? "" : zombies ? "s" : "es")
                + (total > response.getProcessesCount() ? " (showing " + response.getProcessesCount() + ")" : "");
        String header = hostname + ": " + what + ", sampled "
                + (sampled > 0 ? time.ago(sampled) + " (" + time.absolute(sampled) + ")" : "never");
        if (!response.getHostOnline()) {
            header += ". WARNING: " + hostname + " is offline; this is its last known state.";
        }
        return header;
    }

    private static Table processTable(ListProcessesResponse response, TimeFormat time) {
        Table table = Table.of(
                Column.number("PID"),
                Column.number("PPID"),
                Column.text("USER"),
                Column.text("STATE"),
                Column.number("RSS"),
                Column.number("CPU%"),
                Column.text("STARTED"),
                Column.text("COMMAND"));
        for (ProcessEntry entry : response.getProcessesList()) {
            Process p = entry.getProcess();
            table.row(
                    Integer.toString(p.getKey().getPid()),
                    Integer.toString(p.getPpid()),
                    Processes.user(p),
                    Processes.stateLetter(p.getState()),
                    Units.bytes(p.getRssBytes()),
                    Units.percent(p.getCpuPercent()),
                    time.started(p.getStartTimeUnixMs()),
                    Processes.command(p));
        }
        return table;
    }

    private static Table zombieTable(ListProcessesResponse response, TimeFormat time) {
        Table table = Table.of(
                Column.number("PID"),
                Column.number("PPID"),
                Column.text("STARTED"),
                Column.text("PARENT COMMAND"));
        for (ProcessEntry entry : response.getProcessesList()) {
            Process p = entry.getProcess();
            table.row(
                    Integer.toString(p.getKey().getPid()),
                    Integer.toString(p.getPpid()),
                    time.started(p.getStartTimeUnixMs()),
                    entry.hasParent()
                            ? Processes.command(entry.getParent())
                            : "(parent " + p.getPpid() + " not in the sampled state)");
        }
        return table;
    }
}
