package dev.fleetkeeper.controller.recycle;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The recycle decisions, pure: no I/O, no clock (time is an argument), no threads. The
 * {@link RecycleCoordinator} stores what they return and then carries it out.
 *
 * <h2>Rules</h2>
 * <ul>
 * <li>A step is <em>in flight</em> while SENT or SETTLING. At most {@code maxParallel} steps of
 *     a job are in flight across the fleet.</li>
 * <li>An instance is <em>available</em> when the host's latest report shows it RUNNING,
 *     consistent with /proc and holding every port it is declared to, and no step of the job is
 *     in flight for it. A step starts only if its host keeps at least its floor available
 *     afterwards (recycling an instance that is not available costs nothing).</li>
 * <li>A step held by its host (host offline, or below its floor with nothing of the job in
 *     flight there) waits, at most the step timeout; then it FAILS with the reason. Other hosts
 *     go on meanwhile.</li>
 * <li>A SENT step whose answer is not awaited (the controller restarted, or the send failed)
 *     is sent again with the same action id once its host is online: the agent applies an id
 *     at most once and answers DUPLICATE, and the step then waits for the instance instead.</li>
 * <li>SENT or SETTLING longer than the step timeout (from the first send): FAILED.</li>
 * <li>SETTLING ends DONE when a report shows the instance available with a pid other than
 *     the one it had before.</li>
 * <li>When every step has ended the job is SUCCEEDED if all are DONE, else FAILED.</li>
 * </ul>
 * Stateless; thread-safe.
 */
final class RecyclePlanner {

    private RecyclePlanner() {
    }

    /** An action to send: recycle {@code step}'s instance with its action id. */
    record Send(RecycleStep step) {
    }

    /** The job after a decision (stored before acting) and the actions to send then. */
    record Decision(RecycleJob job, List<Send> sends) {
        Decision {
            sends = List.copyOf(sends);
        }
    }

    /** An agent's answer to a recycle action. */
    record Answer(Kind kind, String message, int oldPid, int newPid) {
        enum Kind { SUCCEEDED, DUPLICATE, FAILED }
    }

    /**
     * A new PENDING job for every online host that matches the request's selector and reports
     * the service, one step per declared instance, by host name then index.
     *
     * @throws RecycleRefusedException when no such host exists
     */
    static RecycleJob plan(String jobId, RecycleRequest r, Collection<HostObservation> hosts, long now) {
        MinAvailable min = MinAvailable.parse(r.minAvailable());
        List<HostObservation> chosen = new ArrayList<>();
        Set<String> skipped = new TreeSet<>();
        Set<String> reporting = new TreeSet<>();
        for (HostObservation h : hosts) {
            if (h.reportsService()) {
                reporting.add(h.hostname());
            }
            if (!h.matches(r.selector()) || !h.reportsService() || h.declared() == 0) {
                continue;
            }
            if (h.online()) {
                chosen.add(h);
            } else {
                skipped.add(h.hostname());
            }
        }
        if (chosen.isEmpty()) {
            throw new RecycleRefusedException("no online host" + (r.selector().isEmpty() ? "" : " with labels "
                    + labels(r.selector())) + " reports service '" + r.service() + "'"
                    + (skipped.isEmpty() ? "" : " (offline: " + String.join(", ", skipped) + ")")
                    + "; hosts reporting it: " + (reporting.isEmpty() ? "none" : String.join(", ", reporting))
                    + " (see 'fleetkeeper services')");
        }
        chosen.sort(Comparator.comparing(HostObservation::hostname).thenComparing(HostObservation::hostId));
        List<RecycleStep> steps = new ArrayList<>();
        for (HostObservation h : chosen) {
            int floor = min.floorFor(h.declared());
            for (int i = 0; i < h.declared(); i++) {
                steps.add(RecycleStep.pending(h.hostId(), h.hostname(), i, floor));
            }
        }
        String message = steps.size() + " instance(s) on " + chosen.size() + " host(s)"
                + (skipped.isEmpty() ? "" : "; skipped offline: " + String.join(", ", skipped));
        return new RecycleJob(jobId, r.service(), r.selector(), r.maxParallel(), r.minAvailable(),
                r.stepTimeoutMillis(), r.reason(), JobState.PENDING, message, now, 0, steps);
    }

    /**
     * The next state of {@code job} given what the hosts report now.
     *
     * @param hosts    what is known of each host, by host id (a missing host counts as offline)
     * @param awaiting action ids whose answer this controller run still waits for
     */
    static Decision decide(RecycleJob job, Map<String, HostObservation> hosts, Set<String> awaiting, long now) {
        if (job.state().isTerminal()) {
            return new Decision(job, List.of());
        }
        RecycleJob current = job.state() == JobState.PENDING ? job.to(JobState.RUNNING, job.message(), 0) : job;
        long timeout = current.stepTimeoutMillis();
        List<RecycleStep> steps = new ArrayList<>(current.steps());
        List<Send> sends = new ArrayList<>();

        // 1. Steps in flight: answers overdue, resends, instances back.
        for (int k = 0; k < steps.size(); k++) {
            RecycleStep s = steps.get(k);
            HostObservation h = hosts.get(s.hostId());
            boolean online = h != null && h.online();
            if (s.state() == StepState.SENT) {
                if (now - s.sentAtMillis() > timeout) {
                    steps.set(k, s.failed("no answer from " + s.hostname() + " within " + seconds(timeout)
                            + (online ? "" : " (host offline)") + "; the agent may still recycle it (see 'fleetkeeper"
                            + " events --host " + s.hostname() + "')", now));
                } else if (online && !awaiting.contains(s.actionId())) {
                    sends.add(new Send(s));
                }
            } else if (s.state() == StepState.SETTLING) {
                HostObservation.Instance seen = h == null ? null : h.instance(s.instance());
                if (seen != null && seen.available() && seen.pid() > 0 && seen.pid() != s.oldPid()) {
                    steps.set(k, s.done(seen.pid(), now));
                } else if (now - s.sentAtMillis() > timeout) {
                    steps.set(k, s.failed("recycled, but not available again within " + seconds(timeout) + " ("
                            + (seen == null ? "not reported" : seen.state().toLowerCase(Locale.ROOT)
                            + (seen.pid() > 0 ? ", pid " + seen.pid() : "")) + ")", now));
                }
            }
        }

        // 2. Start what the budget and the floors allow.
        int inFlight = 0;
        Map<String, Integer> inFlightOnHost = new HashMap<>();
        Map<String, Set<Integer>> busy = new HashMap<>();
        for (RecycleStep s : steps) {
            if (s.state().isInFlight()) {
                inFlight++;
                inFlightOnHost.merge(s.hostId(), 1, Integer::sum);
                busy.computeIfAbsent(s.hostId(), x -> new java.util.HashSet<>()).add(s.instance());
            }
        }
        for (int k = 0; k < steps.size(); k++) {
            RecycleStep s = steps.get(k);
            if (s.state() != StepState.PENDING) {
                continue;
            }
            HostObservation h = hosts.get(s.hostId());
            if (h == null || !h.online()) {
                long since = s.heldSinceMillis() > 0 ? s.heldSinceMillis() : now;
                if (now - since > timeout) {
                    steps.set(k, s.failed(s.hostname() + " offline for more than " + seconds(timeout)
                            + "; not recycled", now));
                } else {
                    steps.set(k, s.held("waiting for " + s.hostname() + " to come back online", since));
                }
                continue;
            }
            if (!h.reportsService() || s.instance() >= h.declared()) {
                steps.set(k, s.failed(s.hostname() + " no longer declares " + current.service() + "#" + s.instance(),
                        now));
                continue;
            }
            if (s.minAvailable() > h.declared() - 1) {
                steps.set(k, s.failed("floor " + s.minAvailable() + " of " + h.declared() + " instance(s) on "
                        + s.hostname() + ": recycling any instance would go below it (lower --min-available)", now));
                continue;
            }
            if (inFlight >= current.maxParallel()) {
                if (s.heldSinceMillis() != 0) {
                    steps.set(k, s.held("", 0));
                }
                continue;
            }
            Set<Integer> hostBusy = busy.getOrDefault(s.hostId(), Set.of());
            int available = 0;
            for (HostObservation.Instance i : h.instances()) {
                if (i.index() < h.declared() && i.available() && !hostBusy.contains(i.index())) {
                    available++;
                }
            }
            HostObservation.Instance self = h.instance(s.instance());
            boolean selfAvailable = self != null && self.available() && !hostBusy.contains(s.instance());
            int after = available - (selfAvailable ? 1 : 0);
            if (after < s.minAvailable()) {
                if (inFlightOnHost.getOrDefault(s.hostId(), 0) > 0) {
                    // Waiting for this job's own step on the host: not held by the host.
                    if (s.heldSinceMillis() != 0) {
                        steps.set(k, s.held("", 0));
                    }
                    continue;
                }
                long since = s.heldSinceMillis() > 0 ? s.heldSinceMillis() : now;
                String why = s.hostname() + " has " + available + " of " + h.declared() + " instance(s) available,"
                        + " floor " + s.minAvailable();
                if (now - since > timeout) {
                    steps.set(k, s.failed(why + " for more than " + seconds(timeout) + "; not recycled", now));
                } else {
                    steps.set(k, s.held("waiting: " + why, since));
                }
                continue;
            }
            RecycleStep sent = s.sent(actionId(current.jobId(), k, now), self == null ? 0 : self.pid(), now);
            steps.set(k, sent);
            sends.add(new Send(sent));
            inFlight++;
            inFlightOnHost.merge(s.hostId(), 1, Integer::sum);
            busy.computeIfAbsent(s.hostId(), x -> new java.util.HashSet<>()).add(s.instance());
        }

        RecycleJob next = current.withSteps(steps, progress(current.service(), steps));
        return new Decision(finishIfDone(next, now), sends);
    }

    /** The job after the agent answered {@code actionId}; unchanged if no SENT step has that id. */
    static RecycleJob answered(RecycleJob job, String actionId, Answer a, long now) {
        if (job.state().isTerminal()) {
            return job;
        }
        List<RecycleStep> steps = new ArrayList<>(job.steps());
        for (int k = 0; k < steps.size(); k++) {
            RecycleStep s = steps.get(k);
            if (!s.actionId().equals(actionId) || s.state() != StepState.SENT) {
                continue;
            }
            switch (a.kind()) {
                case SUCCEEDED:
                    steps.set(k, s.settling(a.oldPid(), a.newPid(), "waiting until it is available again"));
                    break;
                case DUPLICATE:
                    steps.set(k, s.settling(0, 0, "the agent had already recycled it; waiting until it is available"));
                    break;
                default:
                    steps.set(k, s.failed(a.message().isEmpty() ? "the agent could not recycle it" : a.message(), now));
            }
            RecycleJob next = job.withSteps(steps, progress(job.service(), steps));
            return finishIfDone(next, now);
        }
        return job;
    }

    /** The job stopped by an operator: steps not started fail, steps in flight finish on their hosts. */
    static RecycleJob abort(RecycleJob job, long now) {
        if (job.state().isTerminal()) {
            return job;
        }
        List<RecycleStep> steps = new ArrayList<>();
        for (RecycleStep s : job.steps()) {
            steps.add(s.state() == StepState.PENDING ? s.failed("not recycled: the job was aborted", now) : s);
        }
        long done = steps.stream().filter(s -> s.state() == StepState.DONE).count();
        return job.withSteps(steps, job.message()).to(JobState.ABORTED, "aborted by an operator after " + done
                + " of " + steps.size() + " instance(s) recycled", now);
    }

    private static RecycleJob finishIfDone(RecycleJob job, long now) {
        if (job.steps().stream().allMatch(s -> s.state().isTerminal())) {
            long failed = job.count(StepState.FAILED);
            long done = job.count(StepState.DONE);
            if (failed == 0) {
                return job.to(JobState.SUCCEEDED, "recycled " + done + " instance(s) of " + job.service(), now);
            }
            return job.to(JobState.FAILED, failed + " of " + job.steps().size() + " instance(s) failed, "
                    + done + " recycled", now);
        }
        return job;
    }

    private static String progress(String service, List<RecycleStep> steps) {
        long done = steps.stream().filter(s -> s.state() == StepState.DONE).count();
        long failed = steps.stream().filter(s -> s.state() == StepState.FAILED).count();
        long active = steps.stream().filter(s -> s.state().isInFlight()).count();
        return done + " of " + steps.size() + " instance(s) of " + service + " recycled, " + active + " in progress"
                + (failed > 0 ? ", " + failed + " failed" : "");
    }

    /**
     * The action id of step {@code index}: the issue time first (12 hex digits, as every action
     * id, so that the store expires its result with the others), then the job and the step.
     */
    static String actionId(String jobId, int index, long now) {
        return String.format(Locale.ROOT, "%012x-%s-%d", now, jobId, index);
    }

    private static String seconds(long millis) {
        return millis % 1000 == 0 ? millis / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }

    private static String labels(Map<String, String> selector) {
        List<String> out = new ArrayList<>();
        new java.util.TreeMap<>(selector).forEach((k, v) -> out.add(k + "=" + v));
        return String.join(",", out);
    }
}
