package dev.fleetkeeper.controller.rollout;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * The rollout decisions, pure: no I/O, no clock (time is an argument), no threads. The
 * {@code RolloutCoordinator} stores what they return and then carries it out.
 *
 * <h2>Rules</h2>
 * <ul>
 * <li>The canaries go first; with every canary settled and at least one HEALTHY the rollout
 *     awaits promotion (or is ROLLING with auto-promote). Then one batch at a time: a batch
 *     starts when every earlier one has settled.</li>
 * <li>A step starts only if its host keeps its floor of available instances afterwards
 *     ({@link RolloutPlan#floorOn}): the plan's min_available if set, else the floor the service
 *     declares on the host (its memory policy's), else all but one, so one instance per host at
 *     a time. A plan whose floor leaves some host no instance to update is refused. An instance
 *     that already runs the release is not sent anything: it is verified as it is.</li>
 * <li>A VERIFYING step is HEALTHY once every gate ({@link RolloutGates}) has passed for
 *     min_healthy without interruption; a crash or memory gate fails it at once; any other
 *     failing gate fails it at the healthy deadline (counted from its start).</li>
 * <li>A SENT step whose answer is not awaited (the controller restarted, or the send failed)
 *     is sent again with the same action id once its host is online: the agent applies an id
 *     at most once. No answer within the healthy deadline: FAILED.</li>
 * <li>More FAILED steps than max_failures, or no step becoming HEALTHY within the progress
 *     deadline: FAILED, then ROLLING_BACK with auto-rollback. A host with steps in progress
 *     offline longer than the healthy deadline: FAILED, or PAUSED with pause_on_disconnect.</li>
 * <li>ROLLING_BACK sends each changed instance back to what it ran before (its own action id,
 *     kept), host floors respected: its previous release in full, or {@code to_declared} when it
 *     ran its declared spec; with {@code current} switched back when the rollout switched it
 *     and the previous version can name a release directory. ROLLED_BACK when none is left.</li>
 * <li>PAUSED starts nothing; steps in flight finish their gates (a crash or memory gate still
 *     fails one), and a SENT step whose host is back is re-sent. Deadlines do not run while
 *     paused: resume restarts the progress deadline and the healthy deadline of every step in
 *     flight (so a host back after pausing the rollout by its disconnect is not failed for it).</li>
 * </ul>
 * Stateless; thread-safe.
 */
final class RolloutPlanner {

    private RolloutPlanner() {
    }

    /**
     * An action to send: {@code release} to {@code step}'s instance with {@code actionId}; with
     * {@code toDeclared}, back to the instance's declared spec instead ({@code release} then
     * carries only the declared version and the {@code current} switch).
     */
    record Send(RolloutStep step, String actionId, Release release, boolean toDeclared, String currentTarget) {
        /** A send whose {@code current} switch, if any, goes to {@code releases/<version>}. */
        Send(RolloutStep step, String actionId, Release release, boolean toDeclared) {
            this(step, actionId, release, toDeclared, "");
        }
    }

    /** The rollout after a decision (stored before acting) and the actions to send then. */
    record Decision(Rollout rollout, List<Send> sends) {
        Decision {
            sends = List.copyOf(sends);
        }
    }

    /** An agent's answer to an ApplyRelease action. */
    record Answer(Kind kind, String message, int oldPid, String previousCurrent) {
        enum Kind { SUCCEEDED, DUPLICATE, FAILED }

        /** An answer that does not say where {@code current} pointed before. */
        Answer(Kind kind, String message, int oldPid) {
            this(kind, message, oldPid, "");
        }
    }

    /**
     * A new PENDING rollout over every online host that matches the selector and reports the
     * service: canaries first, then batches, host by host and instance by instance.
     *
     * @throws RolloutRefusedException  when no such host exists
     * @throws IllegalArgumentException when the release or plan does not fit
     */
    static Rollout plan(String rolloutId, String service, Map<String, String> selector, Release release,
                        RolloutPlan plan, String reason, Collection<RolloutHost> hosts, long now) {
        if (service.isBlank()) {
            throw new IllegalArgumentException("service: missing (expected: a service name; see 'fleetkeeper services')");
        }
        if (release.version().isBlank()) {
            throw new IllegalArgumentException("release.version: missing (expected: the new release's version label)");
        }
        List<RolloutHost> chosen = new ArrayList<>();
        Set<String> skipped = new TreeSet<>();
        for (RolloutHost h : hosts) {
            if (!h.matches(selector) || !h.reportsService() || h.declared() == 0) {
                continue;
            }
            if (h.online()) {
                chosen.add(h);
            } else {
                skipped.add(h.hostname());
            }
        }
        if (chosen.isEmpty()) {
            throw new RolloutRefusedException("no online host" + (selector.isEmpty() ? "" : " with labels "
                    + new java.util.TreeMap<>(selector)) + " reports service '" + service + "'"
                    + (skipped.isEmpty() ? "" : " (offline: " + String.join(", ", skipped) + ")")
                    + " (see 'fleetkeeper services')");
        }
        chosen.sort(Comparator.comparing(RolloutHost::hostname).thenComparing(RolloutHost::hostId));
        int total = chosen.stream().mapToInt(RolloutHost::declared).sum();
        plan.checkFor(total);
        for (RolloutHost h : chosen) {
            RolloutPlan.Floor floor = plan.floorOn(h.declared(), h.minAvailable());
            if (floor.instances() >= h.declared()) {
                throw new IllegalArgumentException("min_available: " + h.hostname() + " must keep " + floor.instances()
                        + " of its " + h.declared() + " instance(s) of '" + service + "' available (" + floor.source()
                        + "), so none of them could ever be updated (expected: a floor below each host's instances; "
                        + (floor.source().startsWith("declared")
                                ? "lower memory.minAvailable in that host's agent.yaml, or start the rollout with "
                                        + "--min-available N below " + h.declared() + ")"
                                : "ask for less with --min-available)"));
            }
        }
        if (!plan.probe().isEmpty()) {
            for (RolloutHost h : chosen) {
                Map<Integer, Integer> portOwner = new HashMap<>();
                for (RolloutHost.Instance i : h.instances()) {
                    if (i.index() >= h.declared()) {
                        continue;
                    }
                    if (i.expectedPorts().isEmpty()) {
                        throw new IllegalArgumentException("probe: '" + plan.probe() + "' but " + service + "#"
                                + i.index() + " on " + h.hostname() + " declares no ports to probe (expected: no "
                                + "probe, or ports declared for the service in that host's agent.yaml)");
                    }
                    for (int port : i.expectedPorts()) {
                        Integer other = portOwner.putIfAbsent(port, i.index());
                        if (other != null) {
                            throw new IllegalArgumentException("probe: '" + plan.probe() + "' but " + service + "#"
                                    + other + " and #" + i.index() + " on " + h.hostname() + " share port " + port
                                    + ", so a probe could reach either (expected: no probe, or ports of their own "
                                    + "for each instance: portStride >= 1 in that host's agent.yaml)");
                        }
                    }
                }
            }
            release = release.withProbe(plan.probe());
        }
        int batchSize = plan.batchSize(total - plan.canary());
        List<RolloutStep> steps = new ArrayList<>();
        int k = 0;
        for (RolloutHost h : chosen) {
            for (int i = 0; i < h.declared(); i++, k++) {
                PreviousRelease previous = h.running(i);
                boolean canary = k < plan.canary();
                int batch = canary ? 0 : (k - plan.canary()) / batchSize + 1;
                steps.add(RolloutStep.pending(h.hostId(), h.hostname(), i, canary, batch, previous));
            }
        }
        String message = total + " instance(s) on " + chosen.size() + " host(s), " + plan.canary() + " canary, "
                + "batches of " + batchSize
                + (plan.minAvailable().isEmpty() ? "" : ", min_available " + plan.minAvailable() + " per host")
                + (skipped.isEmpty() ? "" : "; skipped offline: " + String.join(", ", skipped));
        return new Rollout(rolloutId, service, selector, release, plan, reason, RolloutState.PENDING, null, message,
                now, 0, now, 0, steps);
    }

    /**
     * The next state of {@code rollout} given what the hosts report now.
     *
     * @param hosts    what is known of each host, by host id (a missing host counts as offline)
     * @param awaiting action ids whose answer this controller run still waits for
     */
    static Decision decide(Rollout rollout, Map<String, RolloutHost> hosts, Set<String> awaiting, long now) {
        RolloutState state = rollout.state();
        if (state != RolloutState.ROLLING_BACK && !state.isActive()) {
            return new Decision(rollout, List.of());
        }
        Rollout r = state == RolloutState.PENDING ? rollout.to(RolloutState.CANARY, rollout.message(), now) : rollout;
        List<Send> sends = new ArrayList<>();
        if (r.state() == RolloutState.ROLLING_BACK) {
            return rollBack(r, hosts, awaiting, now, sends);
        }
        if (r.state() == RolloutState.AWAITING_PROMOTION) {
            return new Decision(r, sends);
        }
        long healthyDeadline = r.plan().healthyDeadlineMillis();
        List<RolloutStep> steps = new ArrayList<>(r.steps());
        boolean progressed = false;

        // 1. Steps in flight: resends, gates, deadlines (not while paused). Offline hosts are waited for below.
        boolean paused = r.state() == RolloutState.PAUSED;
        String disconnected = null;
        for (int k = 0; k < steps.size(); k++) {
            RolloutStep s = steps.get(k);
            if (s.state() != RolloutStepState.SENT && s.state() != RolloutStepState.VERIFYING) {
                continue;
            }
            RolloutHost h = hosts.get(s.hostId());
            if (h == null || !h.online()) {
                long offlineFor = h == null ? Long.MAX_VALUE : now - h.lastSeenMillis();
                if (offlineFor > healthyDeadline) {
                    disconnected = s.hostname();
                }
                steps.set(k, s.withMessage("waiting for " + s.hostname() + " to come back online"));
                continue;
            }
            if (s.state() == RolloutStepState.SENT) {
                if (!paused && now - s.sentAtMillis() > healthyDeadline) {
                    steps.set(k, s.failed("no answer from " + s.hostname() + " within " + seconds(healthyDeadline),
                            now));
                } else if (!awaiting.contains(s.actionId())) {
                    sends.add(new Send(s, s.actionId(), r.release(), false));
                }
                continue;
            }
            List<GateResult> gates = RolloutGates.evaluate(r, s, h);
            RolloutHost.Instance seen = h.instance(s.instance());
            int pid = s.newPid();
            if (seen != null && seen.running() && seen.pid() > 0 && seen.version().equals(r.release().version())
                    && !(s.changed() && seen.pid() == s.oldPid())) {
                pid = seen.pid();
            }
            if (RolloutGates.definitive(gates)) {
                steps.set(k, s.checked(pid, 0, gates, "").failed(RolloutGates.failing(gates), now));
            } else if (RolloutGates.allOk(gates)) {
                long since = s.healthySinceMillis() > 0 ? s.healthySinceMillis() : now;
                RolloutStep c = s.checked(pid, since, gates, "healthy for " + seconds(now - since) + " of "
                        + seconds(r.plan().minHealthyMillis()));
                if (now - since >= r.plan().minHealthyMillis()) {
                    steps.set(k, c.healthy(now));
                    progressed = true;
                } else {
                    steps.set(k, c);
                }
            } else if (!paused && now - s.sentAtMillis() > healthyDeadline) {
                steps.set(k, s.checked(pid, 0, gates, "").failed("not healthy within " + seconds(healthyDeadline)
                        + ": " + RolloutGates.failing(gates), now));
            } else {
                steps.set(k, s.checked(pid, 0, gates, "waiting: " + RolloutGates.failing(gates)));
            }
        }
        int failures = (int) steps.stream().filter(s -> s.state() == RolloutStepState.FAILED).count();
        if (progressed) {
            r = r.progressed(now);
        }

        // 2. Failures, disconnects, deadlines.
        boolean running = r.state() == RolloutState.CANARY || r.state() == RolloutState.ROLLING;
        if (disconnected == null && running) {
            disconnected = offlinePendingHost(r, steps, hosts, now);
        }
        String failure = null;
        if (failures > r.plan().maxFailures()) {
            failure = failures + " instance(s) failed (max_failures " + r.plan().maxFailures() + "): "
                    + firstFailure(r, steps);
        } else if (running && disconnected != null) {
            String why = disconnected + " offline for more than " + seconds(healthyDeadline) + " mid-rollout";
            if (r.plan().pauseOnDisconnect()) {
                r = r.withSteps(steps, failures, why).to(RolloutState.PAUSED, "paused: " + why
                        + "; resume once it is back", now);
                return new Decision(r, sends);
            }
            failure = why;
        } else if (running && now - r.progressedAtMillis() > r.plan().progressDeadlineMillis()) {
            failure = "no instance became healthy within the progress deadline of "
                    + seconds(r.plan().progressDeadlineMillis());
        }
        if (failure != null) {
            return fail(r.withSteps(steps, failures, r.message()), failure, hosts, awaiting, now, sends);
        }

        // 3. Start what the phase and the host floors allow.
        if (running) {
            int group = currentGroup(r.state(), steps);
            Map<String, Set<Integer>> busy = busy(steps);
            for (int k = 0; k < steps.size() && group >= 0; k++) {
                RolloutStep s = steps.get(k);
                if (s.state() != RolloutStepState.PENDING || s.batch() != group
                        || (r.state() == RolloutState.CANARY) != s.canary()) {
                    continue;
                }
                RolloutHost h = hosts.get(s.hostId());
                if (h == null || !h.online()) {
                    steps.set(k, s.withMessage("waiting for " + s.hostname() + " to come back online"));
                    continue;
                }
                RolloutHost.Instance seen = h.instance(s.instance());
                if (!h.reportsService() || s.instance() >= h.declared()) {
                    steps.set(k, s.skipped(s.hostname() + " no longer declares " + r.service() + "#" + s.instance(),
                            now));
                    continue;
                }
                if (seen != null && seen.available() && runs(seen, r.release())) {
                    // Already on the release: verify it as it is, never restart it.
                    steps.set(k, s.verifyingUnchanged(seen.pid(), now));
                    busy.computeIfAbsent(s.hostId(), x -> new HashSet<>()).add(s.instance());
                    continue;
                }
                String held = floorHolds(r.plan(), h, s.instance(), busy.getOrDefault(s.hostId(), Set.of()));
                if (held != null) {
                    steps.set(k, s.withMessage("waiting: " + held));
                    continue;
                }
                RolloutStep sent = s.sent(actionId(r.rolloutId(), k, false, now), seen == null ? 0 : seen.pid(), now);
                steps.set(k, sent);
                sends.add(new Send(sent, sent.actionId(), r.release(), false));
                busy.computeIfAbsent(s.hostId(), x -> new HashSet<>()).add(s.instance());
            }
        }
        r = r.withSteps(steps, failures, r.state() == RolloutState.PAUSED ? r.message() : progress(r, steps));

        // 4. Phase ends.
        if (r.state() == RolloutState.CANARY && steps.stream().filter(RolloutStep::canary)
                .allMatch(s -> s.state().isSettled())) {
            long healthy = steps.stream().filter(s -> s.canary() && s.state() == RolloutStepState.HEALTHY).count();
            if (healthy == 0) {
                return fail(r, "no canary became healthy", hosts, awaiting, now, sends);
            }
            boolean rest = steps.stream().anyMatch(s -> !s.canary());
            if (r.plan().autoPromote() || !rest) {
                r = r.to(RolloutState.ROLLING, healthy + " canary instance(s) healthy; "
                        + (rest ? "promoted automatically" : "nothing else to update"), now);
            } else {
                r = r.to(RolloutState.AWAITING_PROMOTION, healthy + " canary instance(s) healthy; promote with "
                        + "'fleetkeeper rollout promote " + r.rolloutId() + "'", now);
            }
        }
        if (r.state() == RolloutState.ROLLING && steps.stream().allMatch(s -> s.state().isSettled())) {
            long healthy = r.count(RolloutStepState.HEALTHY);
            r = r.to(RolloutState.SUCCEEDED, healthy + " of " + steps.size() + " instance(s) of " + r.service()
                    + " on " + r.release().version() + (failures > 0 ? ", " + failures + " failed (tolerated)" : ""),
                    now);
        }
        return new Decision(r, sends);
    }

    /** The rollout after the agent answered {@code actionId}; unchanged if no step waits for that id. */
    static Rollout answered(Rollout rollout, String actionId, Answer a, long now) {
        if (rollout.state().isTerminal()) {
            return rollout;
        }
        List<RolloutStep> steps = new ArrayList<>(rollout.steps());
        for (int k = 0; k < steps.size(); k++) {
            RolloutStep s = steps.get(k);
            if (s.state() == RolloutStepState.SENT && s.actionId().equals(actionId)) {
                steps.set(k, switch (a.kind()) {
                    case SUCCEEDED -> s.verifying(a.oldPid(), "applied; checking its gates")
                            .withPreviousCurrent(a.previousCurrent());
                    case DUPLICATE -> s.verifying(0, "the agent had already applied it; checking its gates");
                    case FAILED -> s.failed(a.message().isEmpty() ? "the agent could not apply the release"
                            : a.message(), now);
                });
            } else if (s.state() == RolloutStepState.ROLLING_BACK && s.rollbackActionId().equals(actionId)) {
                steps.set(k, a.kind() == Answer.Kind.FAILED
                        ? s.failed("rollback to " + s.previous().describe() + " failed: " + a.message(), now)
                        : s.rolledBack(now));
            } else {
                continue;
            }
            int failures = rollout.state() == RolloutState.ROLLING_BACK ? rollout.failures()
                    : (int) steps.stream().filter(x -> x.state() == RolloutStepState.FAILED).count();
            return rollout.withSteps(steps, failures, rollout.message());
        }
        return rollout;
    }

    /** Paused by an operator: nothing new starts. */
    static Rollout pause(Rollout r, long now) {
        if (r.state() != RolloutState.CANARY && r.state() != RolloutState.ROLLING) {
            throw refused(r, "pause", "only while CANARY or ROLLING");
        }
        return r.to(RolloutState.PAUSED, "paused by an operator", now);
    }

    /** Resumed where it paused; the progress deadline and the healthy deadlines of steps in flight start again. */
    static Rollout resume(Rollout r, long now) {
        if (r.state() != RolloutState.PAUSED) {
            throw refused(r, "resume", "only while PAUSED");
        }
        // Deadlines did not run while paused: the steps in flight get their whole healthy deadline again.
        List<RolloutStep> steps = new ArrayList<>(r.steps());
        steps.replaceAll(s -> s.state() == RolloutStepState.SENT || s.state() == RolloutStepState.VERIFYING
                ? s.deadlineRestarted(now) : s);
        return r.withSteps(steps, r.failures(), r.message()).to(r.pausedFrom(), "resumed by an operator", now)
                .progressed(now);
    }

    /** Promoted after its canary. */
    static Rollout promote(Rollout r, long now) {
        if (r.state() != RolloutState.AWAITING_PROMOTION) {
            throw refused(r, "promote", "only while AWAITING_PROMOTION");
        }
        return r.to(RolloutState.ROLLING, "promoted by an operator", now).progressed(now);
    }

    /** Stopped by an operator: steps not started are skipped; instances keep what they run. */
    static Rollout abort(Rollout r, long now) {
        if (!r.state().canGo(RolloutState.ABORTED)) {
            throw refused(r, "abort", "only while it is active");
        }
        List<RolloutStep> steps = skipPending(r.steps(), "not updated: the rollout was aborted", now);
        return r.withSteps(steps, r.failures(), r.message()).to(RolloutState.ABORTED, "aborted by an operator after "
                + steps.stream().filter(s -> s.state() == RolloutStepState.HEALTHY).count() + " of " + steps.size()
                + " instance(s) updated", now);
    }

    /** Rolled back by an operator (the next decision sends the previous releases). */
    static Rollout rollback(Rollout r, long now) {
        if (!r.state().canGo(RolloutState.ROLLING_BACK)) {
            throw refused(r, "roll back", "only while active or FAILED");
        }
        return r.withSteps(skipPending(r.steps(), "not updated: the rollout is rolled back", now), r.failures(),
                r.message()).to(RolloutState.ROLLING_BACK, "rollback requested by an operator; rolling back", now);
    }

    // ---------------------------------------------------------------- internals

    private static Decision fail(Rollout r, String why, Map<String, RolloutHost> hosts, Set<String> awaiting,
                                 long now, List<Send> sends) {
        Rollout failed = r.withSteps(skipPending(r.steps(), "not updated: the rollout failed", now), r.failures(),
                r.message()).to(RolloutState.FAILED, why, now);
        if (!failed.plan().autoRollback()) {
            return new Decision(failed, sends);
        }
        Rollout back = failed.to(RolloutState.ROLLING_BACK, why + "; rolling back", now);
        // Resends of steps of the forward rollout are dropped: their instances go back now.
        return rollBack(back, hosts, awaiting, now, new ArrayList<>());
    }

    private static Decision rollBack(Rollout r, Map<String, RolloutHost> hosts, Set<String> awaiting, long now,
                                     List<Send> sends) {
        List<RolloutStep> steps = new ArrayList<>(r.steps());
        Map<String, Set<Integer>> busy = busy(steps);
        long healthyDeadline = r.plan().healthyDeadlineMillis();
        for (int k = 0; k < steps.size(); k++) {
            RolloutStep s = steps.get(k);
            RolloutHost h = hosts.get(s.hostId());
            boolean online = h != null && h.online();
            if (s.state() == RolloutStepState.ROLLING_BACK) {
                if (!online && (h == null || now - h.lastSeenMillis() > healthyDeadline)) {
                    steps.set(k, s.failed(s.hostname() + " offline for more than " + seconds(healthyDeadline)
                            + "; not rolled back (still on " + r.release().version() + " or in between)", now));
                } else if (online && !awaiting.contains(s.rollbackActionId())) {
                    sends.add(back(r, s, s.rollbackActionId()));
                }
                continue;
            }
            if (!s.changed() || !s.rollbackActionId().isEmpty() || !s.state().canGo(RolloutStepState.ROLLING_BACK)) {
                continue;
            }
            if (!online) {
                if (h == null || now - h.lastSeenMillis() > healthyDeadline) {
                    // Cannot be reached: it stays as it is; the end message counts it.
                    continue;
                }
                steps.set(k, s.withMessage("waiting for " + s.hostname() + " to roll it back"));
                continue;
            }
            String held = floorHolds(r.plan(), h, s.instance(), busy.getOrDefault(s.hostId(), Set.of()));
            if (held != null) {
                steps.set(k, s.withMessage("waiting to roll back: " + held));
                continue;
            }
            RolloutStep back = s.rollingBack(actionId(r.rolloutId(), k, true, now));
            steps.set(k, back);
            sends.add(back(r, back, back.rollbackActionId()));
            busy.computeIfAbsent(s.hostId(), x -> new HashSet<>()).add(s.instance());
        }
        Rollout next = r.withSteps(steps, r.failures(), r.message());
        boolean waiting = steps.stream().anyMatch(s -> s.state() == RolloutStepState.ROLLING_BACK
                || (s.changed() && s.rollbackActionId().isEmpty() && s.state().canGo(RolloutStepState.ROLLING_BACK)
                && reachable(hosts.get(s.hostId()), now, healthyDeadline)));
        if (waiting) {
            return new Decision(next.withSteps(steps, r.failures(), reason(r.message()) + "; rolling back: "
                    + next.count(RolloutStepState.ROLLED_BACK) + " instance(s) back on their previous release, "
                    + next.count(RolloutStepState.ROLLING_BACK) + " in progress"), sends);
        }
        long back = next.count(RolloutStepState.ROLLED_BACK);
        long stuck = steps.stream().filter(s -> s.changed() && s.state() != RolloutStepState.ROLLED_BACK).count();
        return new Decision(next.to(RolloutState.ROLLED_BACK, reason(r.message()) + "; rolled back " + back + " instance(s)"
                + (stuck > 0 ? ", " + stuck + " could not be rolled back" : ""), now), sends);
    }

    /**
     * The rollback of {@code s}: what its instance ran before, in full, or back to its declared
     * spec. When the rollout switched {@code current}, the rollback switches it back to the
     * previous version's {@code releases/<version>} (the declared version's, for the declared
     * spec), so that {@code current} names what the instance runs again, as it did before; a
     * version that cannot name a directory (an unlabelled declared spec) leaves {@code current}
     * where the rollout put it. The agent refuses a directory that does not exist.
     */
    private static Send back(Rollout r, RolloutStep s, String actionId) {
        PreviousRelease p = s.previous();
        String target = r.release().switchCurrent() ? currentBefore(r, s.hostId()) : "";
        Release release = p.release().withSwitchCurrent(r.release().switchCurrent()
                && (!target.isEmpty() || p.release().versionNamesDirectory()));
        return new Send(s, actionId, release, p.declared(), target);
    }

    /**
     * Where {@code current} pointed on {@code hostId} before this rollout switched it: what its
     * agent answered for the first step it switched there (a later step's answer names the
     * rollout's own release). "" when no agent said: the rollback then points it at the previous
     * version's {@code releases/<version>}.
     */
    private static String currentBefore(Rollout r, String hostId) {
        String own = "releases/" + r.release().version();
        RolloutStep first = null;
        for (RolloutStep s : r.steps()) {
            if (s.hostId().equals(hostId) && !s.previousCurrent().isEmpty() && !s.previousCurrent().equals(own)
                    && (first == null || s.sentAtMillis() < first.sentAtMillis())) {
                first = s;
            }
        }
        return first == null ? "" : first.previousCurrent();
    }

    /**
     * Whether the instance already runs exactly {@code release}, as its agent reports it: the
     * same version and, for a release applied to it, the same command, arguments, environment
     * and probe. An instance on its declared spec (or whose agent does not report releases) runs
     * it only when the release changes nothing but the label.
     */
    private static boolean runs(RolloutHost.Instance seen, Release release) {
        if (!seen.version().equals(release.version())) {
            return false;
        }
        if (seen.release() == null) {
            return release.command().isEmpty() && !release.argsSet() && release.env().isEmpty()
                    && release.probe().isEmpty();
        }
        return seen.release().withSwitchCurrent(false).equals(release.withSwitchCurrent(false));
    }

    /** The reason a rollback began, without its progress. */
    private static String reason(String message) {
        int i = message.indexOf("; rolling back");
        return i >= 0 ? message.substring(0, i) : message;
    }

    private static boolean reachable(RolloutHost h, long now, long deadline) {
        return h != null && (h.online() || now - h.lastSeenMillis() <= deadline);
    }

    /** The batch whose pending steps may start now (0: canaries), or -1 when none may. */
    private static int currentGroup(RolloutState state, List<RolloutStep> steps) {
        if (state == RolloutState.CANARY) {
            return 0;
        }
        if (steps.stream().anyMatch(s -> s.canary() && !s.state().isSettled())) {
            return -1;
        }
        int lowest = Integer.MAX_VALUE;
        for (RolloutStep s : steps) {
            if (!s.canary() && !s.state().isSettled()) {
                lowest = Math.min(lowest, s.batch());
            }
        }
        return lowest == Integer.MAX_VALUE ? -1 : lowest;
    }

    /** A host that holds a pending step of the current phase and has been offline past the healthy deadline. */
    private static String offlinePendingHost(Rollout r, List<RolloutStep> steps, Map<String, RolloutHost> hosts,
                                             long now) {
        int group = currentGroup(r.state(), steps);
        for (RolloutStep s : steps) {
            if (s.state() == RolloutStepState.PENDING && s.batch() == group) {
                RolloutHost h = hosts.get(s.hostId());
                if (h == null || (!h.online() && now - h.lastSeenMillis() > r.plan().healthyDeadlineMillis())) {
                    return s.hostname();
                }
            }
        }
        return null;
    }

    /** Instances of this rollout in flight, by host. */
    private static Map<String, Set<Integer>> busy(List<RolloutStep> steps) {
        Map<String, Set<Integer>> out = new HashMap<>();
        for (RolloutStep s : steps) {
            if (s.state().isInFlight()) {
                out.computeIfAbsent(s.hostId(), x -> new HashSet<>()).add(s.instance());
            }
        }
        return out;
    }

    /** Why taking {@code instance} down now would break the host's floor, or null when it would not. */
    private static String floorHolds(RolloutPlan plan, RolloutHost h, int instance, Set<Integer> busy) {
        RolloutPlan.Floor floor = plan.floorOn(h.declared(), h.minAvailable());
        int available = 0;
        for (RolloutHost.Instance i : h.instances()) {
            if (i.index() < h.declared() && i.available() && !busy.contains(i.index())) {
                available++;
            }
        }
        RolloutHost.Instance self = h.instance(instance);
        boolean selfAvailable = self != null && self.available() && !busy.contains(instance);
        if (available - (selfAvailable ? 1 : 0) < floor.instances()) {
            return h.hostname() + " has " + available + " of " + h.declared() + " instance(s) available, "
                    + floor.describe();
        }
        return null;
    }

    private static List<RolloutStep> skipPending(List<RolloutStep> steps, String why, long now) {
        List<RolloutStep> out = new ArrayList<>();
        for (RolloutStep s : steps) {
            out.add(s.state() == RolloutStepState.PENDING ? s.skipped(why, now) : s);
        }
        return out;
    }

    private static String firstFailure(Rollout r, List<RolloutStep> steps) {
        for (RolloutStep s : steps) {
            if (s.state() == RolloutStepState.FAILED) {
                return s.describe(r.service()) + ": " + s.message();
            }
        }
        return "";
    }

    private static String progress(Rollout r, List<RolloutStep> steps) {
        long healthy = steps.stream().filter(s -> s.state() == RolloutStepState.HEALTHY).count();
        long active = steps.stream().filter(s -> s.state().isInFlight()).count();
        long failed = steps.stream().filter(s -> s.state() == RolloutStepState.FAILED).count();
        return r.state().name().toLowerCase(Locale.ROOT).replace('_', ' ') + ": " + healthy + " of " + steps.size()
                + " instance(s) on " + r.release().version() + ", " + active + " in progress"
                + (failed > 0 ? ", " + failed + " failed" : "");
    }

    private static RolloutRefusedException refused(Rollout r, String what, String when) {
        return new RolloutRefusedException("cannot " + what + " rollout " + r.rolloutId() + ": it is "
                + r.state() + " (" + what + " is possible " + when + ")");
    }

    /**
     * The action id of step {@code index} (or of its rollback): the issue time first (12 hex
     * digits, as every action id, so that the store expires its result with the others), then
     * the rollout and the step.
     */
    static String actionId(String rolloutId, int index, boolean rollback, long now) {
        Objects.requireNonNull(rolloutId, "rolloutId");
        return String.format(Locale.ROOT, "%012x-%s-%d%s", now, rolloutId, index, rollback ? "-rb" : "");
    }

    private static String seconds(long millis) {
        return millis % 1000 == 0 ? millis / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }
}
