package dev.fleetkeeper.controller.recycle;

/**
 * The per-host floor of a recycle: a number of instances ("2"), a percentage of the host's
 * declared instances rounded up ("50%": 2 of 3), or the default ("") of declared - 1, which
 * recycles one instance per host at a time and lets a single-instance host go to 0 for its
 * recycle (otherwise it could never be recycled; ask "1" to refuse that). Immutable.
 */
public final class MinAvailable {
    private final String spec;
    private final int number;
    private final int percent;

    private MinAvailable(String spec, int number, int percent) {
        this.spec = spec;
        this.number = number;
        this.percent = percent;
    }

    /** Parses "", "N" (N >= 0) or "P%" (0 to 100); throws IllegalArgumentException saying what is expected. */
    public static MinAvailable parse(String spec) {
        String s = spec.strip();
        try {
            if (s.isEmpty()) {
                return new MinAvailable("", -1, -1);
            }
            if (s.endsWith("%")) {
                int p = Integer.parseInt(s.substring(0, s.length() - 1).strip());
                if (p >= 0 && p <= 100) {
                    return new MinAvailable(s, -1, p);
                }
            } else {
                int n = Integer.parseInt(s);
                if (n >= 0) {
                    return new MinAvailable(s, n, -1);
                }
            }
        } catch (NumberFormatException e) {
            // Falls through to the message below.
        }
        throw new IllegalArgumentException("min_available: '" + spec
                + "' (expected: a number of instances such as 2, or a percentage of each host's instances such as 50%)");
    }

    /** The floor on a host that declares {@code declared} instances. */
    public int floorFor(int declared) {
        if (number >= 0) {
            return number;
        }
        if (percent >= 0) {
            return (declared * percent + 99) / 100;
        }
        return Math.max(0, declared - 1);
    }

    /** As asked, "" for the default. */
    public String spec() {
        return spec;
    }

    @Override
    public String toString() {
        return spec.isEmpty() ? "declared-1" : spec;
    }
}
