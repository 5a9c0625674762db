package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.Converters;
import dev.fleetkeeper.cli.ExitCodes;
import dev.fleetkeeper.cli.output.Json;
import dev.fleetkeeper.cli.transport.AdminClient;
import dev.fleetkeeper.proto.v1.GetRecycleRequest;
import dev.fleetkeeper.proto.v1.ListRecyclesRequest;
import dev.fleetkeeper.proto.v1.ListRecyclesResponse;
import dev.fleetkeeper.proto.v1.RecycleJob;
import dev.fleetkeeper.proto.v1.RecycleJobState;
import dev.fleetkeeper.proto.v1.RecycleStep;
import dev.fleetkeeper.proto.v1.RecycleStepState;
import dev.fleetkeeper.proto.v1.StartRecycleRequest;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code fleetkeeper recycle SERVICE}: a fleet-wide, staggered, graceful recycle run by the
 * controller, followed as it runs; {@code --status}, {@code --list} and {@code --abort} look at
 * and stop jobs.
 */
@Command(
        name = "recycle",
        mixinStandardHelpOptions = true,
        description = {
            "Recycle every instance of a service on every online host that matches --selector:",
            "each is restarted gracefully (stop signal, stop timeout, then SIGKILL; pre-flight before",
            "the start), at most --max-parallel at once across the fleet, never below --min-available",
            "per host. The controller runs the job and keeps it across its own restarts; this command",
            "prints a line per instance as it completes and a summary, and exits 0 when every instance",
            "was recycled, 1 otherwise. Ctrl-C only detaches: the job goes on (see --status).",
            "--json prints job snapshots as JSON lines (RecycleJob)."
        })
public final class RecycleCommand extends AdminCommand {

    @Parameters(index = "0", arity = "0..1", paramLabel = "SERVICE", description = "The service to recycle.")
    String service;

    @Option(names = "--selector", split = ",", paramLabel = "KEY=VALUE",
            description = "Only hosts carrying all of these labels, e.g. role=worker,env=prod.")
    Map<String, String> selector = new LinkedHashMap<>();

    @Option(names = "--max-parallel", paramLabel = "K", defaultValue = "1",
            description = "Most instances being recycled at once across the fleet (default: 1).")
    int maxParallel;

    @Option(names = "--min-available", paramLabel = "N|P%", defaultValue = "",
            description = "Fewest instances kept available on each host: a number, or a percentage of the"
                    + " host's instances rounded up (default: all but one; a single-instance host goes to 0"
                    + " for its recycle).")
    String minAvailable;

    @Option(names = "--step-timeout", paramLabel = "DURATION", converter = Converters.PositiveDuration.class,
            description = "How long one instance may take, or a host may hold its turn (offline, below its"
                    + " floor), before that instance fails (default: 5m).")
    Duration stepTimeout;

    @Option(names = "--reason", paramLabel = "TEXT", defaultValue = "",
            description = "Why, kept with the job and in the agents' events.")
    String reason;

    @Option(names = "--status", arity = "0..1", fallbackValue = "", paramLabel = "JOB",
            description = "Show job JOB and its steps; without JOB, list the jobs.")
    String statusOf;

    @Option(names = "--list", description = "List recycle jobs, newest first (of SERVICE if given).")
    boolean list;

    @Option(names = "--abort", paramLabel = "JOB",
            description = "Stop job JOB: no further instance is recycled; those in progress finish.")
    String abort;

    @Override
    void validate() {
        if (abort == null && statusOf == null && !list && (service == null || service.isBlank())) {
            throw usage("SERVICE: missing (expected: the service to recycle, or --status / --list / --abort)");
        }
        if (maxParallel < 1) {
            throw usage("--max-parallel: " + maxParallel + " (expected: >= 1)");
        }
    }

    @Override
    void run(AdminClient client, PrintWriter out) {
        if (abort != null) {
            show(client.abortRecycle(GetRecycleRequest.newBuilder().setJobId(abort).build()), out);
            return;
        }
        if (list || (statusOf != null && statusOf.isEmpty())) {
            ListRecyclesResponse jobs = client.listRecycles(ListRecyclesRequest.newBuilder()
                    .setService(service == null ? "" : service).build());
            if (json) {
                out.println(Json.document(jobs));
                return;
            }
            if (jobs.getJobsCount() == 0) {
                out.println("No recycle jobs" + (service == null ? "" : " of " + service) + ".");
                return;
            }
            for (RecycleJob j : jobs.getJobsList()) {
                out.println(j.getJobId() + "  " + j.getService() + "  " + state(j.getState()) + "  " + j.getMessage());
            }
            return;
        }
        if (statusOf != null) {
            show(client.getRecycle(GetRecycleRequest.newBuilder().setJobId(statusOf).build()), out);
            return;
        }
        StartRecycleRequest.Builder request = StartRecycleRequest.newBuilder()
                .setService(service)
                .putAllSelector(selector)
                .setMaxParallel(maxParallel)
                .setMinAvailable(minAvailable)
                .setReason(reason);
        if (stepTimeout != null) {
            request.setStepTimeoutMs(stepTimeout.toMillis());
        }
        RecycleJob job = client.startRecycle(request.build());
        follow(client, job, out);
    }

    /** Prints progress until the job ends, watching again after a lost connection. */
    private void follow(AdminClient client, RecycleJob started, PrintWriter out) {
        Progress progress = new Progress(out);
        progress.accept(started);
        if (!json) {
            out.println("Ctrl-C detaches; the job goes on on the controller: fleetkeeper recycle --status "
                    + started.getJobId());
            out.flush();
        }
        WatchAgain.until(progress::ended,
                () -> client.watchRecycle(GetRecycleRequest.newBuilder().setJobId(started.getJobId()).build(),
                        progress::accept),
                json, out, "the job", "fleetkeeper recycle --status " + started.getJobId());
        status = progress.last.getState() == RecycleJobState.RECYCLE_JOB_STATE_SUCCEEDED ? ExitCodes.OK : ExitCodes.FAILED;
    }

    /** Prints what is new in each snapshot: the header once, a line per ended step, the summary. */
    private final class Progress {
        private final PrintWriter out;
        private final Set<Integer> printed = new HashSet<>();
        private RecycleJob last;

        Progress(PrintWriter out) {
            this.out = out;
        }

        boolean ended() {
            return last != null && terminal(last.getState());
        }

        void accept(RecycleJob job) {
            boolean first = last == null;
            if (json) {
                if (last == null || !last.equals(job)) {
                    out.println(Json.line(job));
                }
            } else {
                if (first) {
                    out.println("recycle " + job.getJobId() + ": " + job.getService() + ", " + job.getStepsCount()
                            + " instance(s) on " + hosts(job) + " host(s), at most " + job.getMaxParallel()
                            + " at once, floor " + (job.getMinAvailable().isEmpty() ? "all but one" : job.getMinAvailable())
                            + " per host");
                }
                int total = job.getStepsCount();
                for (int k = 0; k < total; k++) {
                    RecycleStep s = job.getSteps(k);
                    if (printed.contains(k) || !(s.getState() == RecycleStepState.RECYCLE_STEP_STATE_DONE
                            || s.getState() == RecycleStepState.RECYCLE_STEP_STATE_FAILED)) {
                        continue;
                    }
                    printed.add(k);
                    out.println("  [" + printed.size() + "/" + total + "] " + stepLine(job, s));
                }
                if (terminal(job.getState()) && (last == null || !terminal(last.getState()))) {
                    out.println("recycle " + job.getJobId() + " " + state(job.getState()) + ": " + job.getMessage()
                            + " in " + seconds(job.getFinishedAtUnixMs() - job.getCreatedAtUnixMs()));
                }
            }
            out.flush();
            last = job;
        }
    }

    private void show(RecycleJob job, PrintWriter out) {
        if (json) {
            out.println(Json.document(job));
        } else {
            out.println(job.getJobId() + "  " + job.getService() + "  " + state(job.getState()) + "  " + job.getMessage());
            for (RecycleStep s : job.getStepsList()) {
                out.println("  " + stepLine(job, s));
            }
        }
        status = job.getState() == RecycleJobState.RECYCLE_JOB_STATE_FAILED ? ExitCodes.FAILED : ExitCodes.OK;
    }

    private static String stepLine(RecycleJob job, RecycleStep s) {
        String who = s.getHostname() + "  " + job.getService() + "#" + s.getInstance();
        switch (s.getState()) {
            case RECYCLE_STEP_STATE_DONE:
                return who + "  pid " + pid(s.getOldPid()) + " -> " + pid(s.getNewPid()) + "  recycled in "
                        + seconds(s.getFinishedAtUnixMs() - s.getSentAtUnixMs());
            case RECYCLE_STEP_STATE_FAILED:
                return who + "  FAILED: " + s.getMessage();
            default:
                return who + "  " + s.getState().name().substring("RECYCLE_STEP_STATE_".length()).toLowerCase(Locale.ROOT)
                        + (s.getMessage().isEmpty() ? "" : ": " + s.getMessage());
        }
    }

    private static long hosts(RecycleJob job) {
        return job.getStepsList().stream().map(RecycleStep::getHostId).distinct().count();
    }

    private static boolean terminal(RecycleJobState s) {
        return s == RecycleJobState.RECYCLE_JOB_STATE_SUCCEEDED || s == RecycleJobState.RECYCLE_JOB_STATE_FAILED
                || s == RecycleJobState.RECYCLE_JOB_STATE_ABORTED;
    }

    private static String state(RecycleJobState s) {
        return s.name().substring("RECYCLE_JOB_STATE_".length());
    }

    private static String pid(int pid) {
        return pid > 0 ? Integer.toString(pid) : "-";
    }

    private static String seconds(long millis) {
        return String.format(Locale.ROOT, "%.1fs", Math.max(0, millis) / 1000.0);
    }
}
