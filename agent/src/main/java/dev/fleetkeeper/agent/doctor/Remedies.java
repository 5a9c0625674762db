package dev.fleetkeeper.agent.doctor;

import dev.fleetkeeper.agent.doctor.Finding.Evidence;
import dev.fleetkeeper.agent.service.Commands;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.telemetry.ProcessId;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiPredicate;

/**
 * Carries out the automatic remedies {@link Doctor} proposes, each verified again right before
 * it acts, and reports what it saw before and after. The only changes it ever makes:
 * <ul>
 *   <li>delete a declared pidfile whose content is still exactly what was diagnosed;</li>
 *   <li>signal a process that still has the diagnosed identity (pid and start time) and whose
 *       environment still carries the service's marker: the stop signal, then SIGKILL after
 *       the stop timeout;</li>
 *   <li>give a declared path (only that path) its declared owner and mode.</li>
 * </ul>
 * Anything that does not verify is left alone and reported as not applied.
 *
 * <p>Blocking (a stop waits up to the service's stop timeout); call it off the scan loop.
 */
public final class Remedies {

    private final HostFacts facts;
    private final BiPredicate<ServiceSpec, ProcessId> membership;
    private final InstantSource clock;
    private final Sleeper sleeper;

    /** Waits; a seam for tests that need no real time to pass. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    public Remedies(HostFacts facts, BiPredicate<ServiceSpec, ProcessId> membership, InstantSource clock) {
        this(facts, membership, clock, d -> Thread.sleep(d.toMillis()));
    }

    Remedies(HostFacts facts, BiPredicate<ServiceSpec, ProcessId> membership, InstantSource clock, Sleeper sleeper) {
        this.facts = facts;
        this.membership = membership;
        this.clock = clock;
        this.sleeper = sleeper;
    }

    /**
     * What a remedy did.
     *
     * @param finding   the finding it answers
     * @param action    what was done, in words
     * @param succeeded whether the problem is gone
     * @param before    evidence before
     * @param after     evidence after
     */
    public record Outcome(Finding finding, String action, boolean succeeded, List<Evidence> before,
                          List<Evidence> after) {
        public Outcome {
            Objects.requireNonNull(finding, "finding");
            Objects.requireNonNull(action, "action");
            before = List.copyOf(before);
            after = List.copyOf(after);
        }
    }

    /** Applies {@code finding}'s automatic remedy; throws if it has none. */
    public Outcome apply(ServiceSpec spec, Finding finding) {
        RemedyAction action = finding.remedy().action();
        if (action == null) {
            throw new IllegalArgumentException(finding.code() + ": no automatic remedy");
        }
        if (action instanceof RemedyAction.RemovePidfile r) {
            return removePidfile(spec, finding, r);
        }
        if (action instanceof RemedyAction.StopProcess s) {
            return stop(spec, finding, s);
        }
        return restore(finding, (RemedyAction.RestorePath) action);
    }

    private static int parsePid(String content) {
        try {
            return Integer.parseInt(content.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private Outcome removePidfile(ServiceSpec spec, Finding f, RemedyAction.RemovePidfile r) {
        List<Evidence> before = List.of(new Evidence("pidfile", r.pidfile() + " = " + r.content().strip()));
        String now;
        try {
            now = Files.readString(r.pidfile(), StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            return new Outcome(f, "nothing to do: " + r.pidfile() + " is already gone", true, before,
                    List.of(new Evidence("pidfile", "absent")));
        } catch (IOException e) {
            return new Outcome(f, "could not read " + r.pidfile() + ": " + e.getMessage(), false, before, before);
        }
        if (!now.equals(r.content())) {
            return new Outcome(f, "left " + r.pidfile() + " alone: it changed since the diagnosis (now '"
                    + now.strip() + "')", false, before, List.of(new Evidence("pidfile", r.pidfile() + " = " + now.strip())));
        }
        int named = parsePid(now);
        if (named > 0) {
            long ticks = facts.startTicks(named);
            if (ticks >= 0 && membership.test(spec, new ProcessId(named, ticks))
                    && facts.isRunning(new ProcessId(named, ticks))) {
                // The service's own live process now: an instance started since the diagnosis.
                return new Outcome(f, "left " + r.pidfile() + " alone: pid " + named + " is a live process of "
                        + spec.name() + " now", false, before, before);
            }
        }
        try {
            Files.delete(r.pidfile());
            return new Outcome(f, "removed stale pidfile " + r.pidfile(), true, before,
                    List.of(new Evidence("pidfile", "absent")));
        } catch (IOException e) {
            return new Outcome(f, "could not remove " + r.pidfile() + ": " + e.getMessage(), false, before, before);
        }
    }

    private Outcome stop(ServiceSpec spec, Finding f, RemedyAction.StopProcess s) {
        ProcessId id = s.process();
        List<Evidence> before = new ArrayList<>(f.evidence());
        if (!facts.isRunning(id)) {
            return new Outcome(f, "nothing to do: pid " + id.pid() + " is already gone", true, before,
                    List.of(new Evidence("process", "pid " + id.pid() + " gone")));
        }
        if (!membership.test(spec, id)) {
            // Never signal what is not provably the service's.
            return new Outcome(f, "refused to signal pid " + id.pid() + ": its environment no longer proves it belongs to "
                    + spec.name(), false, before, before);
        }
        long t0 = clock.millis();
        String how;
        if (!signal(id, s.signal())) {
            return new Outcome(f, "could not signal pid " + id.pid() + " (it may have exited meanwhile)",
                    !facts.isRunning(id), before, List.of());
        }
        boolean gone = waitGone(id, s.timeout());
        if (gone) {
            how = "stopped pid " + id.pid() + " with SIG" + s.signal() + " (gone after " + (clock.millis() - t0) + " ms)";
        } else {
            signal(id, "KILL");
            gone = waitGone(id, Duration.ofSeconds(5));
            how = "pid " + id.pid() + " ignored SIG" + s.signal() + " for " + Doctor.seconds(s.timeout())
                    + "; sent SIGKILL" + (gone ? "" : ", and it is still there (uninterruptible sleep?)");
        }
        return new Outcome(f, how + " (" + s.why() + ")", gone, before,
                List.of(new Evidence("process", gone ? "pid " + id.pid() + " gone" : "pid " + id.pid() + " still running")));
    }

    /** Sends {@code signal} to {@code id} if it is still that identity. */
    private boolean signal(ProcessId id, String signal) {
        if (!facts.isAlive(id)) {
            return false;
        }
        try {
            return Commands.kill(signal, Integer.toString(id.pid()));
        } catch (IOException e) {
            return false;
        }
    }

    private boolean waitGone(ProcessId id, Duration timeout) {
        long deadline = clock.millis() + timeout.toMillis();
        while (facts.isRunning(id)) {
            if (clock.millis() >= deadline) {
                return false;
            }
            try {
                sleeper.sleep(Duration.ofMillis(50));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !facts.isRunning(id);
            }
        }
        return true;
    }

    private Outcome restore(Finding f, RemedyAction.RestorePath r) {
        List<Evidence> before = List.of(new Evidence("path", r.path() + " " + attributes(r.path())));
        try {
            if (Files.isSymbolicLink(r.path())) {
                return new Outcome(f, "left " + r.path() + " alone: it is a symbolic link", false, before, before);
            }
            Files.setAttribute(r.path(), "unix:uid", r.uid(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(r.path(), "unix:gid", r.gid(), LinkOption.NOFOLLOW_LINKS);
            if (r.mode() >= 0) {
                Files.setAttribute(r.path(), "unix:mode", r.mode(), LinkOption.NOFOLLOW_LINKS);
            } else {
                // No declared mode: make sure the owner can write (and enter, for a directory).
                int mode = (Integer) Files.getAttribute(r.path(), "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
                int want = mode | 0200 | (Files.isDirectory(r.path()) ? 0100 : 0);
                if (want != mode) {
                    Files.setAttribute(r.path(), "unix:mode", want, LinkOption.NOFOLLOW_LINKS);
                }
            }
        } catch (IOException | RuntimeException e) {
            return new Outcome(f, "could not change " + r.path() + ": " + e.getMessage(), false, before,
                    List.of(new Evidence("path", r.path() + " " + attributes(r.path()))));
        }
        return new Outcome(f, "gave " + r.path() + " to " + r.owner() + " (uid " + r.uid() + ", gid " + r.gid() + ")"
                + (r.mode() >= 0 ? " mode " + Integer.toOctalString(r.mode()) : ""), true, before,
                List.of(new Evidence("path", r.path() + " " + attributes(r.path()))));
    }

    private static String attributes(Path p) {
        try {
            Map<String, Object> a = Files.readAttributes(p, "unix:uid,gid,mode", LinkOption.NOFOLLOW_LINKS);
            return "uid " + a.get("uid") + " gid " + a.get("gid") + " mode "
                    + Integer.toOctalString((Integer) a.get("mode") & 07777);
        } catch (IOException | RuntimeException e) {
            return "(" + e.getMessage() + ")";
        }
    }
}
