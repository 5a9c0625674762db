package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.Converters;
import dev.fleetkeeper.cli.ExitCodes;
import dev.fleetkeeper.cli.output.Json;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.cli.transport.AdminClient.RolloutVerb;
import dev.fleetkeeper.proto.v1.GateResult;
import dev.fleetkeeper.proto.v1.GetRolloutRequest;
import dev.fleetkeeper.proto.v1.ListRolloutsRequest;
import dev.fleetkeeper.proto.v1.ListRolloutsResponse;
import dev.fleetkeeper.proto.v1.Release;
import dev.fleetkeeper.proto.v1.Rollout;
import dev.fleetkeeper.proto.v1.RolloutPlan;
import dev.fleetkeeper.proto.v1.RolloutState;
import dev.fleetkeeper.proto.v1.RolloutStep;
import dev.fleetkeeper.proto.v1.RolloutStepState;
import dev.fleetkeeper.proto.v1.StartRolloutRequest;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code fleetkeeper rollout …}: start a canary-first, health-gated rollout of a new release of
 * a service, follow it, and pause, resume, promote, abort or roll it back. The controller runs
 * the rollout and keeps it across its own restarts; these commands only ask and watch.
 */
@Command(
        name = "rollout",
        mixinStandardHelpOptions = true,
        description = {
            "Roll a new release of a service across every host that matches --selector: the canary",
            "first, then batches, each instance gated on its health (up and not restarting for",
            "--min-healthy, its ports bound by its own processes, its --probe passing, memory",
            "baseline within tolerance of the previous version's, no crash).",
            "See 'fleetkeeper rollout start --help'."
        },
        subcommands = {
            RolloutCommand.Start.class,
            RolloutCommand.Status.class,
            RolloutCommand.Watch.class,
            RolloutCommand.Pause.class,
            RolloutCommand.Resume.class,
            RolloutCommand.Promote.class,
            RolloutCommand.Abort.class,
            RolloutCommand.Rollback.class,
            RolloutCommand.ListRollouts.class
        })
public final class RolloutCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing subcommand (expected: start, status, watch, pause, resume, promote, abort, rollback, list)");
    }

    /** {@code rollout start SERVICE --version V …}. */
    @Command(name = "start", mixinStandardHelpOptions = true, description = {
        "Start a rollout of release --version of SERVICE, then follow it as 'watch' does (Ctrl-C",
        "detaches; the rollout goes on). Exits 0 when it succeeded or waits for 'promote', 1 when",
        "it failed, was rolled back or aborted. --json prints Rollout snapshots as JSON lines."
    })
    static final class Start extends AdminCommand {
        @Parameters(index = "0", paramLabel = "SERVICE", description = "The service (its name on the hosts).")
        String service;

        @Option(names = "--version", required = true, paramLabel = "V",
                description = "The release's version label (FLEETKEEPER_VERSION, the memory baseline's key).")
        String version;

        @Option(names = "--command", paramLabel = "PATH", description = "A new command; default: the declared one.")
        String command;

        @Option(names = "--arg", paramLabel = "ARG",
                description = "An argument of the new command, repeatable; any --arg replaces the declared arguments.")
        List<String> args = new ArrayList<>();

        @Option(names = "--env", split = ",", paramLabel = "KEY=VALUE",
                description = "Environment entries added to or replacing the declared ones.")
        Map<String, String> env = new LinkedHashMap<>();

        @Option(names = "--switch-current", description = "Point the service's deploy root's 'current' symlink at"
                + " releases/<version> (the service must declare 'releases:').")
        boolean switchCurrent;

        @Option(names = "--selector", split = ",", paramLabel = "KEY=VALUE",
                description = "Only hosts carrying all of these labels, e.g. role=worker,env=prod.")
        Map<String, String> selector = new LinkedHashMap<>();

        @Option(names = "--canary", paramLabel = "N", defaultValue = "1",
                description = "Instances updated first, alone (default: 1).")
        int canary;

        @Option(names = "--batch", paramLabel = "N|P%", defaultValue = "1",
                description = "Instances per batch after the canary: a number or a percentage (default: 1).")
        String batch;

        @Option(names = "--min-available", paramLabel = "N|P%",
                description = "Instances kept available on each host while its instances are updated or rolled"
                        + " back: a number, or a percentage of the host's instances rounded up (default: the floor the"
                        + " service declares on the host, memory.minAvailable or instances - memory.maxRecycling;"
                        + " else all but one).")
        String minAvailable;

        @Option(names = "--min-healthy", paramLabel = "DURATION", converter = Converters.PositiveDuration.class,
                description = "How long an instance must stay healthy to count as done (default: 10s).")
        Duration minHealthy;

        @Option(names = "--healthy-deadline", paramLabel = "DURATION", converter = Converters.PositiveDuration.class,
                description = "How long an instance may take to become healthy before it fails (default: 5m).")
        Duration healthyDeadline;

        @Option(names = "--progress-deadline", paramLabel = "DURATION", converter = Converters.PositiveDuration.class,
                description = "How long the rollout may go without an instance becoming healthy (default: 10m).")
        Duration progressDeadline;

        @Option(names = "--max-failures", paramLabel = "N", defaultValue = "0",
                description = "Failed instances tolerated before the rollout fails (default: 0).")
        int maxFailures;

        @Option(names = "--auto-promote", description = "Go on after a healthy canary without 'promote'.")
        boolean autoPromote;

        @Option(names = "--auto-rollback", description = "On failure, move every changed instance back to what it"
                + " ran before: its previous release in full, or its declared spec.")
        boolean autoRollback;

        @Option(names = "--pause-on-disconnect", description = "When a host with an instance in flight stays"
                + " away past the healthy deadline, pause instead of failing.")
        boolean pauseOnDisconnect;

        @Option(names = "--memory-tolerance", paramLabel = "FRACTION", defaultValue = "0",
                description = "Accepted growth of the settled memory over the previous version's baseline"
                        + " (0.2 = 20%%; default: the service's memory.baselineTolerance).")
        double memoryTolerance;

        @Option(names = "--probe", paramLabel = "PROBE", defaultValue = "",
                description = "Health probe each updated instance must pass, run by its agent on loopback: 'tcp'"
                        + " (every declared port accepts a connection) or 'http:/path' (GET on the instance's first"
                        + " port answers 2xx or 3xx). Default: the service's declared probe, if any.")
        String probe;

        @Option(names = "--reason", paramLabel = "TEXT", defaultValue = "", description = "Why, kept with the rollout.")
        String reason;

        @Override
        void validate() {
            if (version.isBlank()) {
                throw usage("--version: empty (expected: the release's version label)");
            }
            if (canary < 0) {
                throw usage("--canary: " + canary + " (expected: >= 0)");
            }
            if (!batch.trim().matches("[0-9]+%?")) {
                throw usage("--batch: '" + batch + "' (expected: a number of instances such as 2, or a percentage such as 25%)");
            }
            if (minAvailable != null && !minAvailable.trim().matches("[0-9]{1,9}|([0-9]{1,2}|100)%")) {
                throw usage("--min-available: '" + minAvailable + "' (expected: a number of instances such as 2, or a"
                        + " percentage of each host's instances from 0% to 100% such as 50%)");
            }
            if (maxFailures < 0) {
                throw usage("--max-failures: " + maxFailures + " (expected: >= 0)");
            }
            if (memoryTolerance < 0 || memoryTolerance > 10) {
                throw usage("--memory-tolerance: " + memoryTolerance + " (expected: a fraction such as 0.2)");
            }
        }

        @Override
        void run(AdminClient client, PrintWriter out) {
            Release.Builder release = Release.newBuilder().setVersion(version).putAllEnv(env)
                    .setSwitchCurrent(switchCurrent);
            if (command != null) {
                release.setCommand(command);
            }
            if (!args.isEmpty()) {
                release.addAllArgs(args).setArgsSet(true);
            }
            RolloutPlan.Builder plan = RolloutPlan.newBuilder().setCanary(canary).setBatch(batch.trim())
                    .setMaxFailures(maxFailures).setAutoPromote(autoPromote).setAutoRollback(autoRollback)
                    .setPauseOnDisconnect(pauseOnDisconnect).setMemoryTolerance(memoryTolerance).setProbe(probe.strip());
            if (minAvailable != null) {
                plan.setMinAvailable(minAvailable.trim());
            }
            if (minHealthy != null) {
                plan.setMinHealthyMs(minHealthy.toMillis());
            }
            if (healthyDeadline != null) {
                plan.setHealthyDeadlineMs(healthyDeadline.toMillis());
            }
            if (progressDeadline != null) {
                plan.setProgressDeadlineMs(progressDeadline.toMillis());
            }
            Rollout started = client.startRollout(StartRolloutRequest.newBuilder().setService(service)
                    .putAllSelector(selector).setRelease(release).setPlan(plan).setReason(reason).build());
            if (!json) {
                out.println("rollout " + started.getRolloutId() + ": " + started.getService() + " -> "
                        + started.getRelease().getVersion() + ", " + started.getStepsCount() + " instance(s) on "
                        + hosts(started) + " host(s), canary " + started.getPlan().getCanary() + ", batch "
                        + started.getPlan().getBatch() + (started.getPlan().getMinAvailable().isEmpty() ? ""
                                : ", min available " + started.getPlan().getMinAvailable()));
                out.println("Ctrl-C detaches; the rollout goes on on the controller: fleetkeeper rollout status "
                        + started.getRolloutId());
                out.flush();
            }
            status = follow(client, started, json, out);
        }
    }

    /** {@code rollout status ID}. */
    @Command(name = "status", mixinStandardHelpOptions = true, description = {
        "Show a rollout and every instance: its batch, state, pids, gate results and why.",
        "--json prints a Rollout."
    })
    static final class Status extends AdminCommand {
        @Parameters(index = "0", paramLabel = "ID", description = "The rollout id.")
        String id;

        @Override
        void run(AdminClient client, PrintWriter out) {
            Rollout r = client.getRollout(GetRolloutRequest.newBuilder().setRolloutId(id).build());
            if (json) {
                out.println(Json.document(r));
            } else {
                printStatus(r, out);
            }
            status = failed(r.getState()) ? ExitCodes.FAILED : ExitCodes.OK;
        }
    }

    /** {@code rollout watch ID}. */
    @Command(name = "watch", mixinStandardHelpOptions = true, description = {
        "Follow a rollout live: each instance as it is sent, verified, healthy or failed, with its",
        "gate results, until the rollout ends, pauses or waits for 'promote'. --json: JSON lines."
    })
    static final class Watch extends AdminCommand {
        @Parameters(index = "0", paramLabel = "ID", description = "The rollout id.")
        String id;

        @Override
        void run(AdminClient client, PrintWriter out) {
            status = follow(client, client.getRollout(GetRolloutRequest.newBuilder().setRolloutId(id).build()), json, out);
        }
    }

    /** The operator's verbs: one call, then the rollout as it is now. */
    abstract static class Verb extends AdminCommand {
        @Parameters(index = "0", paramLabel = "ID", description = "The rollout id.")
        String id;

        abstract RolloutVerb verb();

        @Override
        void run(AdminClient client, PrintWriter out) {
            Rollout r = client.controlRollout(verb(), GetRolloutRequest.newBuilder().setRolloutId(id).build());
            if (json) {
                out.println(Json.document(r));
            } else {
                out.println(headline(r));
            }
        }
    }

    /** {@code rollout pause ID}. */
    @Command(name = "pause", mixinStandardHelpOptions = true,
            description = "Pause: no new instance is started; those in flight finish their gates.")
    static final class Pause extends Verb {
        @Override
        RolloutVerb verb() {
            return RolloutVerb.PAUSE;
        }
    }

    /** {@code rollout resume ID}. */
    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a paused rollout.")
    static final class Resume extends Verb {
        @Override
        RolloutVerb verb() {
            return RolloutVerb.RESUME;
        }
    }

    /** {@code rollout promote ID}. */
    @Command(name = "promote", mixinStandardHelpOptions = true,
            description = "Go on after a healthy canary: roll the rest, batch by batch.")
    static final class Promote extends Verb {
        @Override
        RolloutVerb verb() {
            return RolloutVerb.PROMOTE;
        }
    }

    /** {@code rollout abort ID}. */
    @Command(name = "abort", mixinStandardHelpOptions = true,
            description = "Stop: nothing more is changed; every instance keeps what it runs now.")
    static final class Abort extends Verb {
        @Override
        RolloutVerb verb() {
            return RolloutVerb.ABORT;
        }
    }

    /** {@code rollout rollback ID}. */
    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "Move every instance the rollout changed back to what it ran before: its previous release"
                    + " in full (command, arguments, environment), or its declared spec.")
    static final class Rollback extends Verb {
        @Override
        RolloutVerb verb() {
            return RolloutVerb.ROLLBACK;
        }
    }

    /** {@code rollout list [SERVICE]}. */
    @Command(name = "list", mixinStandardHelpOptions = true, description = {
        "Rollouts, newest first, with their outcome; 'status ID' shows each instance's.",
        "--json prints a ListRolloutsResponse."
    })
    static final class ListRollouts extends AdminCommand {
        @Parameters(index = "0", arity = "0..1", paramLabel = "SERVICE", description = "Only this service's.")
        String service;

        @Option(names = "-n", paramLabel = "N", defaultValue = "0", description = "At most N (default: 50).")
        int limit;

        @Override
        void validate() {
            requireLimit(limit);
        }

        @Override
        void run(AdminClient client, PrintWriter out) {
            ListRolloutsResponse all = client.listRollouts(ListRolloutsRequest.newBuilder()
                    .setService(service == null ? "" : service).setLimit(limit).build());
            if (json) {
                out.println(Json.document(all));
                return;
            }
            if (all.getRolloutsCount() == 0) {
                out.println("No rollouts" + (service == null ? "" : " of " + service) + ".");
                return;
            }
            for (Rollout r : all.getRolloutsList()) {
                out.println(headline(r));
            }
        }
    }

    // ------------------------------------------------------------------ output

    /**
     * Prints each step as it changes state, and the rollout's own changes, until it ends, pauses
     * or waits for promotion; watches again after a lost connection. Returns the exit status.
     */
    static int follow(AdminClient client, Rollout first, boolean json, PrintWriter out) {
        Map<String, RolloutStepState> seen = new LinkedHashMap<>();
        Rollout[] last = {null};
        java.util.function.Predicate<Rollout> sink = r -> {
            if (json) {
                if (last[0] == null || !last[0].equals(r)) {
                    out.println(Json.line(r));
                }
            } else {
                if (last[0] == null || last[0].getState() != r.getState()) {
                    out.println(headline(r));
                }
                for (RolloutStep s : r.getStepsList()) {
                    String key = s.getHostId() + "#" + s.getInstance();
                    if (seen.get(key) != s.getState()) {
                        seen.put(key, s.getState());
                        if (s.getState() != RolloutStepState.ROLLOUT_STEP_STATE_PENDING) {
                            out.println("  " + stepLine(r, s));
                        }
                    }
                }
            }
            out.flush();
            last[0] = r;
            return !settled(r);
        };
        if (!sink.test(first)) {
            return exitStatus(first);
        }
        // Rollout snapshots stream until the rollout settles.
        WatchAgain.until(() -> settled(last[0]),
                () -> client.watchRollout(GetRolloutRequest.newBuilder().setRolloutId(first.getRolloutId()).build(),
                        sink),
                json, out, "the rollout", "fleetkeeper rollout status " + first.getRolloutId());
        Rollout end = last[0];
        if (!json && end.getState() == RolloutState.ROLLOUT_STATE_AWAITING_PROMOTION) {
            out.println("The canary is healthy. Go on: fleetkeeper rollout promote " + end.getRolloutId()
                    + "   or undo it: fleetkeeper rollout rollback " + end.getRolloutId());
        } else if (!json && end.getState() == RolloutState.ROLLOUT_STATE_PAUSED) {
            out.println("Paused. Go on: fleetkeeper rollout resume " + end.getRolloutId());
        }
        out.flush();
        return exitStatus(end);
    }

    static void printStatus(Rollout r, PrintWriter out) {
        out.println(headline(r));
        RolloutPlan p = r.getPlan();
        out.println("  plan: canary " + p.getCanary() + ", batch " + p.getBatch() + ", min available "
                + (p.getMinAvailable().isEmpty() ? "as declared per host" : p.getMinAvailable()) + ", min healthy "
                + seconds(p.getMinHealthyMs()) + ", healthy deadline " + seconds(p.getHealthyDeadlineMs())
                + ", progress deadline " + seconds(p.getProgressDeadlineMs()) + ", max failures " + p.getMaxFailures()
                + (p.getAutoPromote() ? ", auto-promote" : "") + (p.getAutoRollback() ? ", auto-rollback" : "")
                + (p.getProbe().isEmpty() ? "" : ", probe " + p.getProbe())
                + (p.getMemoryTolerance() > 0 ? ", memory tolerance " + Math.round(p.getMemoryTolerance() * 100) + "%"
                        : ""));
        for (RolloutStep s : r.getStepsList()) {
            out.println("  " + stepLine(r, s));
        }
    }

    static String headline(Rollout r) {
        return r.getRolloutId() + "  " + r.getService() + " -> " + r.getRelease().getVersion() + "  "
                + name(r.getState()) + (r.getState() == RolloutState.ROLLOUT_STATE_PAUSED
                        ? " (from " + name(r.getPausedFrom()) + ")" : "")
                + (r.getMessage().isEmpty() ? "" : "  " + r.getMessage());
    }

    static String stepLine(Rollout r, RolloutStep s) {
        StringBuilder b = new StringBuilder();
        b.append(s.getHostname()).append("  ").append(r.getService()).append('#').append(s.getInstance())
                .append(s.getCanary() ? "  canary" : "  batch " + s.getBatch()).append("  ")
                .append(s.getState().name().substring("ROLLOUT_STEP_STATE_".length()).toLowerCase(Locale.ROOT));
        if (s.getOldPid() > 0 || s.getNewPid() > 0) {
            b.append("  pid ").append(pid(s.getOldPid())).append(" -> ").append(pid(s.getNewPid()));
        }
        List<String> failing = new ArrayList<>();
        for (GateResult g : s.getGatesList()) {
            if (!g.getOk()) {
                failing.add(g.getGate() + ": " + g.getDetail());
            }
        }
        if (!s.getGatesList().isEmpty()) {
            b.append(failing.isEmpty() ? "  gates ok" : "  gates failing: " + String.join("; ", failing));
        }
        if (!s.getMessage().isEmpty()) {
            b.append("  ").append(s.getMessage());
        }
        return b.toString();
    }

    /**
     * Where a watch stops: the rollout ended, or waits for an operator. FAILED is not an end
     * while an automatic rollback is to follow.
     */
    static boolean settled(Rollout r) {
        return switch (r.getState()) {
            case ROLLOUT_STATE_SUCCEEDED, ROLLOUT_STATE_ROLLED_BACK, ROLLOUT_STATE_ABORTED,
                    ROLLOUT_STATE_AWAITING_PROMOTION, ROLLOUT_STATE_PAUSED -> true;
            case ROLLOUT_STATE_FAILED -> !r.getPlan().getAutoRollback();
            default -> false;
        };
    }

    static boolean failed(RolloutState s) {
        return s == RolloutState.ROLLOUT_STATE_FAILED || s == RolloutState.ROLLOUT_STATE_ROLLED_BACK
                || s == RolloutState.ROLLOUT_STATE_ABORTED;
    }

    private static int exitStatus(Rollout r) {
        return failed(r.getState()) ? ExitCodes.FAILED : ExitCodes.OK;
    }

    private static long hosts(Rollout r) {
        return r.getStepsList().stream().map(RolloutStep::getHostId).distinct().count();
    }

    private static String name(RolloutState s) {
        return s.name().substring("ROLLOUT_STATE_".length());
    }

    private static String pid(int pid) {
        return pid > 0 ? Integer.toString(pid) : "-";
    }

    private static String seconds(long millis) {
        return millis <= 0 ? "default" : String.format(Locale.ROOT, "%.0fs", millis / 1000.0);
    }
}
