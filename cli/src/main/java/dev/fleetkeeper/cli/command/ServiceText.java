package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.CliException;
import dev.fleetkeeper.cli.ExitCodes;
import dev.fleetkeeper.proto.v1.ActionOutcome;
import dev.fleetkeeper.proto.v1.ActionStatus;
import dev.fleetkeeper.proto.v1.Evidence;
import dev.fleetkeeper.proto.v1.Finding;
import dev.fleetkeeper.proto.v1.ManagerState;
import dev.fleetkeeper.proto.v1.Severity;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/** Wording shared by the service commands: states, severities, findings, action outcomes. Stateless. */
final class ServiceText {
    private ServiceText() {}

    /** {@code running}, {@code backoff}, ...; "-" when unset. */
    static String managerState(ManagerState state) {
        if (state == ManagerState.MANAGER_STATE_UNSPECIFIED || state == ManagerState.UNRECOGNIZED) {
            return null;
        }
        return state.name().substring("MANAGER_STATE_".length()).toLowerCase(Locale.ROOT);
    }

    /** {@code CRITICAL}, {@code WARNING}, {@code INFO}. */
    static String severity(Severity severity) {
        if (severity == Severity.SEVERITY_UNSPECIFIED || severity == Severity.UNRECOGNIZED) {
            return "INFO";
        }
        return severity.name().substring("SEVERITY_".length());
    }

    /** {@code api#0} for an instance, {@code api} for the whole service (-1). */
    static String target(String service, int instance) {
        return instance < 0 ? service : service + "#" + instance;
    }

    static String plural(int n, String one, String many) {
        return n + " " + (n == 1 ? one : many);
    }

    /**
     * One finding as a block: a headline, the evidence as "label: value", why it matters, and
     * the remedy with its exact commands.
     */
    static void printFinding(PrintWriter out, int number, Finding f) {
        out.println("[" + number + "] " + severity(f.getSeverity()) + "  " + f.getCode() + "  "
                + target(f.getService(), f.getInstance()) + ": " + f.getSummary());
        printEvidence(out, "    ", f.getEvidenceList());
        if (!f.getExplanation().isEmpty()) {
            out.println("    Why: " + f.getExplanation());
        }
        if (f.hasRemedy()) {
            out.println("    Remedy (" + (f.getRemedy().getAutomatic() ? "automatic with --fix" : "by hand") + "): "
                    + f.getRemedy().getDescription());
            for (String command : f.getRemedy().getCommandsList()) {
                out.println("      $ " + command);
            }
        }
    }

    static void printEvidence(PrintWriter out, String indent, List<Evidence> evidence) {
        int width = evidence.stream().mapToInt(e -> e.getLabel().length()).max().orElse(0);
        for (Evidence e : evidence) {
            out.println(indent + e.getLabel() + ":" + " ".repeat(width - e.getLabel().length() + 1) + e.getValue());
        }
    }

    /**
     * Throws the agent's answer as a one-line failure unless it carried the action out: REJECTED
     * (unknown service, unsafe), FAILED, DUPLICATE.
     */
    static void requireSucceeded(ActionOutcome outcome, String host, String what) {
        if (outcome.getStatus() == ActionStatus.ACTION_STATUS_SUCCEEDED) {
            return;
        }
        throw new CliException(ExitCodes.FAILED, failure(outcome, host, what));
    }

    static String failure(ActionOutcome outcome, String host, String what) {
        String verb = switch (outcome.getStatus()) {
            case ACTION_STATUS_REJECTED -> "the agent on " + host + " refused " + what;
            case ACTION_STATUS_DUPLICATE -> "the agent on " + host + " had already applied " + what;
            default -> what + " failed on " + host;
        };
        return verb + ": " + (outcome.getMessage().isEmpty() ? "(no reason given)" : outcome.getMessage())
                + " (action " + outcome.getActionId() + ")";
    }
}
