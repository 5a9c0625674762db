package dev.fleetkeeper.agent.telemetry;

/**
 * A parse position in a {@link ProcReader} buffer, for reading blank-separated decimals one
 * after another without allocating. Not thread-safe; owned by one {@link ProcScanner} and shared
 * by its collaborators, which is sound because each use starts with {@link #at} and ends before
 * the next read.
 */
final class FieldCursor {

    private final ScanCounts counts;
    /** The index after the last number parsed. */
    int pos;
    /** Set by {@link #nextLong} when there was no number; cleared by {@link #at}. */
    boolean failed;

    FieldCursor(ScanCounts counts) {
        this.counts = counts;
    }

    /** Moves to {@code from} and clears {@link #failed}. */
    void at(int from) {
        pos = from;
        failed = false;
    }

    /** Skips blanks, parses a signed decimal; sets {@link #failed} if there is none. */
    long nextLong(byte[] b, int end) {
        int i = pos;
        while (i < end && (b[i] == ' ' || b[i] == '\t')) {
            i++;
        }
        boolean negative = i < end && b[i] == '-';
        if (negative) {
            i++;
        }
        int digitsStart = i;
        long v = 0;
        while (i < end && b[i] >= '0' && b[i] <= '9') {
            v = v * 10 + (b[i] - '0');
            i++;
        }
        if (i == digitsStart) {
            failed = true;
        }
        pos = i;
        return negative ? -v : v;
    }

    /**
     * The decimal at {@code from} (a {@code kB} figure, a counter); 0, counted as malformed, if
     * there is none.
     */
    long field(byte[] b, int from, int end) {
        at(from);
        long v = nextLong(b, end);
        if (failed) {
            counts.malformed++;
            return 0;
        }
        return v;
    }
}
