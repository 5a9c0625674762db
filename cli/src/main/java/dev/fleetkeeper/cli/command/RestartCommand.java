package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.ExitCodes;
import dev.fleetkeeper.cli.output.Json;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.proto.v1.ActionOutcome;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.RestartServiceRequest;
import java.io.PrintWriter;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fleetkeeper restart SERVICE --host H}: restart instances through the host's agent. */
@Command(
        name = "restart",
        mixinStandardHelpOptions = true,
        description = {
            "Restart a service's instances on a host through its agent: gracefully, one after",
            "another, each after a pre-flight check (port free, pidfile sane, paths writable).",
            "Waits for the agent up to --timeout (default 5m).",
            "--json prints an ActionOutcome."
        })
public final class RestartCommand extends AdminCommand {
    @Parameters(index = "0", paramLabel = "SERVICE", description = "The service.")
    String service;

    @Option(names = "--host", required = true, paramLabel = "HOST", description = "Host name or id.")
    String host;

    @Option(names = "--instance", paramLabel = "I", defaultValue = "-1",
            description = "Only instance I (from 0); default: all, one after another.")
    int instance;

    @Override
    Duration defaultTimeout() {
        return Duration.ofMinutes(5);
    }

    @Override
    void validate() {
        if (instance < -1) {
            throw usage("--instance: " + instance + " (expected: >= 0; leave it out for all instances)");
        }
    }

    @Override
    void run(AdminClient client, PrintWriter out) {
        ActionOutcome outcome = client.restartService(RestartServiceRequest.newBuilder()
                .setHost(host).setService(service).setInstance(instance).build());
        String what = "restart " + ServiceText.target(service, instance)
                + (instance < 0 ? " (all instances)" : "");
        if (json) {
            out.println(Json.document(outcome));
            status = outcome.getStatus() == ActionStatus.ACTION_STATUS_SUCCEEDED ? ExitCodes.OK : ExitCodes.FAILED;
            return;
        }
        ServiceText.requireSucceeded(outcome, host, what);
        out.println(host + ": " + what + " done" + (outcome.getMessage().isEmpty() ? "." : ": " + outcome.getMessage()));
    }
}
