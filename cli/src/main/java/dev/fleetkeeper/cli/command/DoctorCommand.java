package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.CliException;
import dev.fleetkeeper.cli.ExitCodes;
import dev.fleetkeeper.cli.output.Json;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.DoctorReport;
import dev.fleetkeeper.proto.v1.DoctorRequest;
import dev.fleetkeeper.proto.v1.DoctorResponse;
import dev.fleetkeeper.proto.v1.Finding;
import dev.fleetkeeper.proto.v1.RemedyOutcome;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fleetkeeper doctor HOST [SERVICE] [--fix]}: the whole story of what is wrong, and the repair. */
@Command(
        name = "doctor",
        mixinStandardHelpOptions = true,
        description = {
            "Diagnose a host's managed services through its agent: each finding with its severity,",
            "code, evidence, why it matters and its remedy (automatic, or the exact commands).",
            "--fix applies the automatic remedies (never killing a process that is not provably the",
            "service's own) and shows each with before/after evidence, then what remains.",
            "Waits for the agent up to --timeout (default 2m, 5m with --fix).",
            "--json prints a DoctorResponse.",
            "",
            "Exit status: 0 no finding remains; 1 findings remain (or the agent refused or failed);",
            "2 bad command line, or the controller could not be reached."
        })
public final class DoctorCommand extends AdminCommand {
    @Parameters(index = "0", paramLabel = "HOST", description = "Host name or id.")
    String host;

    @Parameters(index = "1", paramLabel = "SERVICE", arity = "0..1", description = "Only this service (default: all).")
    String service;

    @Option(names = "--fix", description = "Apply the automatic remedies, then diagnose again.")
    boolean fix;

    @Override
    Duration defaultTimeout() {
        return fix ? Duration.ofMinutes(5) : Duration.ofMinutes(2);
    }

    @Override
    void run(AdminClient client, PrintWriter out) {
        DoctorResponse response = client.doctor(DoctorRequest.newBuilder()
                .setHost(host)
                .setService(service == null ? "" : service)
                .setFix(fix)
                .build());
        DoctorReport report = response.getReport();
        List<Finding> remaining = fix ? report.getRemainingList() : report.getFindingsList();
        boolean succeeded = response.getOutcome().getStatus() == ActionStatus.ACTION_STATUS_SUCCEEDED;
        if (json) {
            out.println(Json.document(response));
            status = !succeeded || !remaining.isEmpty() ? ExitCodes.FAILED : ExitCodes.OK;
            return;
        }
        String what = "doctor" + (service == null ? "" : " " + service) + (fix ? " --fix" : "");
        if (!succeeded && report.getServicesCount() == 0) {
            ServiceText.requireSucceeded(response.getOutcome(), host, what);
        }
        printReport(out, report, remaining);
        if (!succeeded) {
            throw new CliException(ExitCodes.FAILED, ServiceText.failure(response.getOutcome(), host, what));
        }
        status = remaining.isEmpty() ? ExitCodes.OK : ExitCodes.FAILED;
    }

    private void printReport(PrintWriter out, DoctorReport report, List<Finding> remaining) {
        String examined = report.getServicesCount() == 0 ? "no services" : String.join(", ", report.getServicesList());
        out.println(host + ": doctor" + (fix ? " --fix" : "") + " examined " + examined + ": "
                + (report.getFindingsCount() == 0 ? "no findings."
                        : ServiceText.plural(report.getFindingsCount(), "finding", "findings")
                                + (fix ? " before repair." : ".")));
        printFindings(out, report.getFindingsList());
        if (fix) {
            if (report.getAppliedCount() > 0) {
                out.println();
                out.println("Applied " + ServiceText.plural(report.getAppliedCount(), "remedy:", "remedies:"));
                for (RemedyOutcome r : report.getAppliedList()) {
                    out.println("  " + (r.getSucceeded() ? "ok     " : "FAILED ") + r.getCode() + "  "
                            + ServiceText.target(r.getService(), r.getInstance()) + ": " + r.getAction());
                    if (r.getBeforeCount() > 0) {
                        out.println("         before:");
                        ServiceText.printEvidence(out, "           ", r.getBeforeList());
                    }
                    if (r.getAfterCount() > 0) {
                        out.println("         after:");
                        ServiceText.printEvidence(out, "           ", r.getAfterList());
                    }
                }
            } else if (report.getFindingsCount() > 0) {
                out.println();
                out.println("Applied no remedy: none of the findings has an automatic one.");
            }
            if (report.getFindingsCount() > 0) {
                out.println();
                if (remaining.isEmpty()) {
                    out.println("Remaining: none.");
                } else {
                    out.println("Remaining: " + ServiceText.plural(remaining.size(), "finding", "findings"));
                    printFindings(out, remaining);
                }
            }
        }
        out.println();
        if (remaining.isEmpty()) {
            out.println(host + ": nothing left to fix.");
            return;
        }
        long automatic = remaining.stream().filter(f -> f.hasRemedy() && f.getRemedy().getAutomatic()).count();
        String next = fix || automatic == 0
                ? "run the commands shown above by hand."
                : "'fleetkeeper doctor " + host + (service == null ? "" : " " + service) + " --fix' applies "
                        + ServiceText.plural((int) automatic, "automatic remedy", "automatic remedies")
                        + (automatic < remaining.size() ? "; the rest need the commands shown above." : ".");
        out.println(host + ": " + ServiceText.plural(remaining.size(), "finding remains", "findings remain") + "; " + next);
    }

    private static void printFindings(PrintWriter out, List<Finding> findings) {
        for (int i = 0; i < findings.size(); i++) {
            out.println();
            ServiceText.printFinding(out, i + 1, findings.get(i));
        }
    }
}
