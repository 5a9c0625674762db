package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.ExitCodes;
import dev.fleetkeeper.cli.output.Json;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.TailLogsRequest;
import dev.fleetkeeper.proto.v1.TailLogsResponse;
import java.io.PrintWriter;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fleetkeeper logs SERVICE --host H}: the last lines of an instance's output. */
@Command(
        name = "logs",
        mixinStandardHelpOptions = true,
        description = {
            "Print the last lines of a service instance's output, read by the host's agent.",
            "Waits for the agent up to --timeout (default 30s).",
            "--json prints a TailLogsResponse."
        })
public final class LogsCommand extends AdminCommand {
    /** Most lines an agent returns. */
    static final int MAX_LINES = 10_000;

    @Parameters(index = "0", paramLabel = "SERVICE", description = "The service.")
    String service;

    @Option(names = "--host", required = true, paramLabel = "HOST", description = "Host name or id.")
    String host;

    @Option(names = "--instance", paramLabel = "I", defaultValue = "0", description = "Instance (from 0); default 0.")
    int instance;

    @Option(names = "-n", paramLabel = "N", defaultValue = "100", description = "How many lines (default 100, at most 10000).")
    int lines;

    @Override
    Duration defaultTimeout() {
        return Duration.ofSeconds(30);
    }

    @Override
    void validate() {
        if (instance < 0) {
            throw usage("--instance: " + instance + " (expected: >= 0)");
        }
        if (lines < 1 || lines > MAX_LINES) {
            throw usage("-n: " + lines + " (expected: 1 to " + MAX_LINES + ")");
        }
    }

    @Override
    void run(AdminClient client, PrintWriter out) {
        TailLogsResponse response = client.tailLogs(TailLogsRequest.newBuilder()
                .setHost(host).setService(service).setInstance(instance).setLines(lines).build());
        if (json) {
            out.println(Json.document(response));
            status = response.getOutcome().getStatus() == ActionStatus.ACTION_STATUS_SUCCEEDED
                    ? ExitCodes.OK : ExitCodes.FAILED;
            return;
        }
        String target = ServiceText.target(service, instance);
        ServiceText.requireSucceeded(response.getOutcome(), host, "logs " + target);
        int n = response.getLogs().getLinesCount();
        out.println("==> " + host + " " + target + ": last " + ServiceText.plural(n, "line", "lines") + " <==");
        response.getLogs().getLinesList().forEach(out::println);
    }
}
