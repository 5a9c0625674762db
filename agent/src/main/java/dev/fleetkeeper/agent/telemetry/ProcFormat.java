package dev.fleetkeeper.agent.telemetry;

import java.nio.ByteOrder;

/**
 * Byte-level parsing helpers for {@code /proc} text: numbers, hex addresses. Stateless;
 * thread-safe.
 */
final class ProcFormat {

    /**
     * The kernel prints addresses in {@code /proc/net/*} as 32-bit words in host byte order
     * ({@code %08X} of a {@code __be32}), so on little-endian hosts each word's bytes are
     * reversed.
     */
    private static final boolean SWAP_WORDS = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private ProcFormat() {
    }

    static int hexDigit(byte c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return -1;
    }

    /** Parses {@code len} hex digits at {@code off}; -1 if any is not a hex digit. */
    static long parseHex(byte[] b, int off, int len) {
        long v = 0;
        for (int i = 0; i < len; i++) {
            int d = hexDigit(b[off + i]);
            if (d < 0) {
                return -1;
            }
            v = (v << 4) | d;
        }
        return v;
    }

    /**
     * Formats a {@code /proc/net} hex address of 8 (IPv4) or 32 (IPv6) digits the way {@code ss}
     * does: dotted quad, RFC 5952 compressed IPv6, and IPv4-mapped as {@code ::ffff:a.b.c.d}.
     * Returns null if the digits are malformed.
     */
    static String formatAddress(byte[] b, int off, int len) {
        if (len != 8 && len != 32) {
            return null;
        }
        byte[] addr = new byte[len / 2];
        for (int word = 0; word < len / 8; word++) {
            long w = parseHex(b, off + word * 8, 8);
            if (w < 0) {
                return null;
            }
            for (int i = 0; i < 4; i++) {
                int shift = SWAP_WORDS ? 8 * i : 8 * (3 - i);
                addr[word * 4 + i] = (byte) (w >>> shift);
            }
        }
        return addr.length == 4 ? ipv4(addr, 0) : ipv6(addr);
    }

    private static String ipv4(byte[] a, int off) {
        return (a[off] & 0xff) + "." + (a[off + 1] & 0xff) + "." + (a[off + 2] & 0xff) + "."
                + (a[off + 3] & 0xff);
    }

    private static String ipv6(byte[] a) {
        boolean mapped = a[10] == (byte) 0xff && a[11] == (byte) 0xff;
        for (int i = 0; i < 10 && mapped; i++) {
            mapped = a[i] == 0;
        }
        if (mapped) {
            return "::ffff:" + ipv4(a, 12);
        }
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((a[2 * i] & 0xff) << 8) | (a[2 * i + 1] & 0xff);
        }
        // RFC 5952: compress the longest run of two or more zero groups, the first if tied.
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(groups[i]));
        }
        return sb.toString();
    }

    /**
     * Parses the first {@code out.length} single-space-separated decimal fields of
     * {@code b[from, to)}, each an optional {@code -} and at least one digit, into {@code out};
     * false if there are fewer or one is malformed. Fields after those are not looked at (the
     * stat fields beyond RSS include values above {@code Long.MAX_VALUE}).
     */
    static boolean parseFields(byte[] b, int from, int to, long[] out) {
        int i = from;
        for (int field = 0; field < out.length; field++) {
            if (i >= to) {
                return false;
            }
            boolean negative = b[i] == '-';
            if (negative) {
                i++;
            }
            int digits = i;
            long v = 0;
            while (i < to) {
                int d = b[i] - '0';
                if (d < 0 || d > 9) {
                    break;
                }
                v = v * 10 + d;
                i++;
            }
            if (i == digits) {
                return false;
            }
            if (i < to) {
                if (b[i] != ' ' && b[i] != '\n') {
                    return false;
                }
                i++;
            }
            out[field] = negative ? -v : v;
        }
        return true;
    }

    /** Index of the first {@code c} in {@code b[from, to)}, or -1. */
    static int indexOf(byte[] b, int from, int to, byte c) {
        for (int i = from; i < to; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }

    /** Index of the last {@code c} in {@code b[from, to)}, or -1. */
    static int lastIndexOf(byte[] b, int from, int to, byte c) {
        for (int i = to - 1; i >= from; i--) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }

    /** Whether {@code b[off, to)} starts with the ASCII text {@code prefix}. */
    static boolean startsWith(byte[] b, int off, int to, String prefix) {
        if (to - off < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (b[off + i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code s} equals the ASCII bytes {@code b[off, to)}; false for non-ASCII. */
    static boolean asciiEquals(String s, byte[] b, int off, int to) {
        if (s.length() != to - off) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (b[off + i] < 0 || s.charAt(i) != b[off + i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Parses a non-negative decimal with an optional fraction ({@code 12.34}) at {@code off};
     * stops at the first other byte. NaN if there is no digit.
     */
    static double parseDecimal(byte[] b, int off, int to) {
        long whole = 0;
        long frac = 0;
        long scale = 1;
        boolean any = false;
        int i = off;
        while (i < to && b[i] >= '0' && b[i] <= '9') {
            whole = whole * 10 + (b[i++] - '0');
            any = true;
        }
        if (i < to && b[i] == '.') {
            i++;
            while (i < to && b[i] >= '0' && b[i] <= '9' && scale < 1_000_000_000L) {
                frac = frac * 10 + (b[i++] - '0');
                scale *= 10;
                any = true;
            }
        }
        return any ? whole + (double) frac / scale : Double.NaN;
    }
}
