package dev.fleetkeeper.agent.memory;

import dev.fleetkeeper.agent.telemetry.ProcessId;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;

/**
 * The short memory series of one managed instance on the agent: the samples of its current
 * process over the last {@code window}, for local leak decisions while the controller is away.
 * A new process (another pid or start time) starts a new series. Bounded: at most
 * {@link #MAX_SAMPLES} samples, thinned to one per {@code window / MAX_SAMPLES} when samples come
 * faster. Also counts consecutive samples over the limit (monit's {@code for N cycles}), from
 * every sample, thinned or not.
 *
 * <p>Not thread-safe: owned by the service manager's reconcile thread.
 */
public final class MemoryWindow {

    /** Most samples kept per instance (about 12 KiB of records). */
    public static final int MAX_SAMPLES = 512;

    private final ArrayDeque<MemorySample> samples = new ArrayDeque<>();
    private ProcessId owner;
    private long startedAtMillis;
    private int overLimit;
    private long limitBytes;
    private MemorySample newest;

    /**
     * Records {@code sample} of process {@code id}, started at {@code startedAtMillis}, against
     * {@code limitBytes} (0: unknown, never over).
     *
     * @return true when the series was reset because {@code id} is another process
     */
    public boolean record(ProcessId id, long startedAtMillis, MemorySample sample, Duration window, long limitBytes) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(sample, "sample");
        boolean reset = !id.equals(owner);
        if (reset) {
            clear();
            owner = id;
            this.startedAtMillis = startedAtMillis;
        }
        this.limitBytes = limitBytes;
        newest = sample;
        overLimit = limitBytes > 0 && sample.rssBytes() > limitBytes ? overLimit + 1 : 0;
        long spacing = window.toMillis() / MAX_SAMPLES;
        MemorySample last = samples.peekLast();
        if (last == null || sample.timeMillis() - last.timeMillis() >= spacing) {
            samples.addLast(sample);
        }
        long from = sample.timeMillis() - window.toMillis();
        while (!samples.isEmpty() && samples.peekFirst().timeMillis() < from) {
            samples.removeFirst();
        }
        while (samples.size() > MAX_SAMPLES) {
            samples.removeFirst();
        }
        return reset;
    }

    /** Forgets the series: the instance has no process. */
    public void clear() {
        samples.clear();
        owner = null;
        startedAtMillis = 0;
        overLimit = 0;
        limitBytes = 0;
        newest = null;
    }

    /** The samples, oldest first. */
    public List<MemorySample> samples() {
        return List.copyOf(samples);
    }

    /** The newest sample recorded (kept in the series or not), or null. */
    public MemorySample latest() {
        return newest;
    }

    /** Consecutive samples over the limit, up to the newest. */
    public int overLimitSamples() {
        return overLimit;
    }

    /** The limit the newest sample was compared with, 0 if none. */
    public long limitBytes() {
        return limitBytes;
    }

    /** The process the series belongs to, or null. */
    public ProcessId owner() {
        return owner;
    }

    /** When that process started, epoch ms. */
    public long startedAtMillis() {
        return startedAtMillis;
    }

    public int size() {
        return samples.size();
    }
}
