package dev.fleetkeeper.agent.memory;

import dev.fleetkeeper.agent.storage.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The startup baselines of one service, by version label, kept on disk so that a new release
 * is compared with the one before it across agent restarts. Each instance start that settles
 * adds one sample; a version's baseline is the median of its newest {@value #KEEP} samples.
 * Thread-safe.
 *
 * <p>File: {@code DIR/SERVICE}, one line per sample {@code version TAB rss TAB epoch-ms} under a
 * first line {@code fleetkeeper-baselines 1}; replaced atomically (temp file, fsync, rename).
 * An unreadable or foreign file is set aside as {@code SERVICE.bad} and started afresh: these
 * figures are a comparison aid, not a record anything else depends on.
 */
public final class BaselineBook {

    /** Samples kept per version. */
    public static final int KEEP = 20;
    private static final String HEADER = "fleetkeeper-baselines 1";

    private final Path file;
    /** Samples by version, in the order versions were first seen; each list oldest first. */
    private final Map<String, List<long[]>> samples = new LinkedHashMap<>();

    /** A version's baseline: the median of its samples. */
    public record Baseline(String version, long rssBytes, int samples, long recordedAtMillis) {
        public Baseline {
            Objects.requireNonNull(version, "version");
        }
    }

    /** The current version's baseline against the previous version's. */
    public record Regression(Baseline current, Baseline previous, double ratio) {
    }

    private BaselineBook(Path file) {
        this.file = file;
    }

    /** Opens (or starts) the book of {@code service} under {@code dir}; a null {@code dir} keeps it in memory only. */
    public static BaselineBook open(Path dir, String service) {
        BaselineBook b = new BaselineBook(dir == null ? null : dir.resolve(service));
        if (dir != null) {
            b.load();
        }
        return b;
    }

    private void load() {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read memory baselines " + file, e);
        }
        try {
            if (lines.isEmpty() || !lines.get(0).equals(HEADER)) {
                throw new IllegalArgumentException("not a baselines file");
            }
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.split("\t");
                if (f.length != 3) {
                    throw new IllegalArgumentException("bad line '" + line + "'");
                }
                add(f[0], Long.parseLong(f[1]), Long.parseLong(f[2]));
            }
        } catch (IllegalArgumentException e) {
            samples.clear();
            try {
                Files.move(file, file.resolveSibling(file.getFileName() + ".bad"), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException moveFailed) {
                throw new UncheckedIOException("cannot set aside unreadable memory baselines " + file, moveFailed);
            }
        }
    }

    private void add(String version, long rss, long at) {
        List<long[]> list = samples.computeIfAbsent(version, v -> new ArrayList<>());
        list.add(new long[] {rss, at});
        while (list.size() > KEEP) {
            list.remove(0);
        }
    }

    /** Adds one settled start of {@code version} and saves the book. */
    public synchronized void record(String version, long rssBytes, long atMillis) {
        // A label is free text: keep the line format intact.
        add(version.replaceAll("[\\t\\r\\n]", "_"), rssBytes, atMillis);
        save();
    }

    /** Every version's baseline, the most recently recorded first. */
    public synchronized List<Baseline> baselines() {
        List<Baseline> out = new ArrayList<>();
        for (Map.Entry<String, List<long[]>> e : samples.entrySet()) {
            List<Long> values = new ArrayList<>();
            long newest = 0;
            for (long[] s : e.getValue()) {
                values.add(s[0]);
                newest = Math.max(newest, s[1]);
            }
            out.add(new Baseline(e.getKey(), Baselines.median(values), values.size(), newest));
        }
        out.sort(Comparator.comparingLong(Baseline::recordedAtMillis).reversed());
        return out;
    }

    /**
     * {@code version}'s baseline against the newest other version's, when it exceeds it by more
     * than {@code tolerance} (0.2 = 20 %); empty when either is missing or it does not.
     */
    public synchronized Optional<Regression> regression(String version, double tolerance) {
        List<Baseline> all = baselines();
        Baseline current = all.stream().filter(b -> b.version().equals(version)).findFirst().orElse(null);
        if (current == null) {
            return Optional.empty();
        }
        Baseline previous = all.stream().filter(b -> !b.version().equals(version)).findFirst().orElse(null);
        if (previous == null || previous.rssBytes() <= 0) {
            return Optional.empty();
        }
        double ratio = (double) current.rssBytes() / previous.rssBytes();
        return ratio > 1 + tolerance ? Optional.of(new Regression(current, previous, ratio)) : Optional.empty();
    }

    private void save() {
        if (file == null) {
            return;
        }
        StringBuilder b = new StringBuilder(HEADER).append('\n');
        for (Map.Entry<String, List<long[]>> e : samples.entrySet()) {
            for (long[] s : e.getValue()) {
                b.append(e.getKey()).append('\t').append(s[0]).append('\t').append(s[1]).append('\n');
            }
        }
        try {
            DurableFiles.replace(file, b.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save memory baselines " + file, e);
        }
    }
}
