package dev.fleetkeeper.agent.telemetry;

import java.util.HashMap;
import java.util.Map;

/**
 * Reads the kernel's socket tables ({@code /proc/net/tcp}, {@code tcp6}, {@code udp},
 * {@code udp6}) into the rows a scan is interested in: listening TCP sockets and bound,
 * unconnected UDP sockets, keyed by inode, before their owners are known. Not thread-safe; owned
 * by one {@link ProcScanner}.
 *
 * <p>UDP sockets count as bound when their local port is not 0 and they are unconnected
 * (state 07), which is what {@code ss -lu} lists; connected UDP sockets (DNS lookups) churn
 * too fast to be worth an owner search and are not services.
 *
 * <p>The UDP tables are read whole by {@link ProcReader#readTable}, which knows when a short
 * read of a seq_file means end of file. The TCP tables are read only as far as their listening
 * sockets go. The kernel lists a TCP table in two passes ({@code tcp_seq_next} in
 * {@code net/ipv4/tcp_ipv4.c}, shared by {@code tcp6}): first the listening hash, then the
 * established hash (established, closing, TIME_WAIT and, since Linux 4.4, SYN_RECV request
 * sockets). A socket is in the listening hash exactly while it is in state LISTEN:
 * {@code inet_csk_listen_start} sets the state before hashing it, and {@code tcp_set_state}
 * unhashes it before storing CLOSE; the walk holds each bucket's lock, as do both. Kernels
 * before 4.4 also list pending SYN_RECV requests under their listener. So the first row that
 * is neither LISTEN nor SYN_RECV starts the established pass, and reading stops there. That
 * matters because the established pass costs in proportion to the connections on the host
 * (about 150 bytes rendered each) and to the size of the established hash, which the kernel
 * searches bucket by bucket for the next socket: reading {@code /proc/net/tcp6} whole took
 * 2.7 ms with 600 TIME_WAIT sockets, its listeners 0.1 ms. The first read asks for the size
 * the listening rows had last time plus a little, so that the kernel searches the established
 * hash only for its first two sockets. (It still walks the whole hash when a family has no
 * connection at all: the search for the row after the last listener finds nothing.)
 *
 * <p>Even so, the search for the row after the last listener walks the established hash from its
 * first bucket, and it has one bucket per 64 KiB of RAM or so (262,144 on a 24 GiB host): about
 * 1.6 ms of kernel time per table when the family has no connection, most of a quiet host's
 * socket cost. So the TCP tables are read again only when something may have changed their
 * listeners: the TCP counts of {@code /proc/net/sockstat} and {@code sockstat6} changed (a
 * {@code listen} hashes a socket and counts it in {@code inuse}, a {@code socket} counts in
 * {@code alloc}, a close uncounts both), a process appeared or went away, or
 * {@value #TCP_REREAD_MILLIS} ms passed. Otherwise their last rows are used again. What this can
 * miss for up to that long is one process closing a listener and opening another between two
 * scans while no other TCP socket on the host comes or goes. Without a readable {@code sockstat}
 * (an unusual /proc) the tables are read on every scan. The UDP tables cost little (a small hash
 * whose empty slots are skipped) and are read every time.
 *
 * <p>Rows are parsed as bytes from the shared buffer; an address is formatted only for an
 * inode not seen with the same protocol and port in the previous scan. A malformed row is
 * skipped and counted in {@link ScanCounts#malformed}.
 *
 * <p>Netlink {@code sock_diag} (what {@code ss} uses) would replace these reads, but Java 17 has
 * no {@code AF_NETLINK} sockets and its foreign-function API is an incubator module, so it is
 * not reachable without a native build.
 */
final class SocketTables {

    private static final int TCP_LISTEN = 0x0A;
    private static final int TCP_SYN_RECV = 0x03;
    /** Bytes asked beyond last scan's listening rows: more than one row of any table. */
    private static final int FIRST_READ_SLACK = 256;
    private static final int UDP_UNCONNECTED = 0x07;
    /** Longest time the TCP tables' rows are used again without reading the tables. */
    static final long TCP_REREAD_MILLIS = 5_000;

    /** A table row of interest, before its owners are known. */
    record Row(SocketProtocol protocol, String address, int port, long inode, int uid) {
    }

    private final String root;
    private final ProcReader reader;
    private final ScanCounts counts;
    private final FieldCursor cursor;
    private final int[] tokenBounds = new int[20];
    /** Bytes of each table up to the end of its listening rows at the last read; by ordinal. */
    private final int[] prefixBytes = new int[SocketProtocol.values().length];
    private final ProcReader.PrefixEnd listenersEnd = SocketTables::endOfListeners;
    /** Rows of the TCP and TCP6 tables at their last read; null before the first. */
    private Map<Long, Row> tcpRows;
    private long tcpReadAt;
    private long tcpReads;
    /** TCP inuse and alloc of sockstat, TCP6 inuse of sockstat6, at the last scan; -1 unknown. */
    private long tcpInuse = -1;
    private long tcpAlloc = -1;
    private long tcp6Inuse = -1;

    SocketTables(String root, ProcReader reader, ScanCounts counts, FieldCursor cursor) {
        this.root = root;
        this.reader = reader;
        this.counts = counts;
        this.cursor = cursor;
    }

    /**
     * The rows of interest in every table, by inode; {@code previous} (the last scan's sockets)
     * lends its formatted addresses. The TCP tables' rows are those of their last read unless
     * {@code processesChanged}, the sockstat counts changed, or {@link #TCP_REREAD_MILLIS} passed
     * since {@code now}'s last read (see the class documentation).
     */
    Map<Long, Row> read(Map<Long, SocketSample> previous, long now, boolean processesChanged) {
        boolean countsChanged = readSockstat();
        if (tcpRows == null || countsChanged || processesChanged || now - tcpReadAt >= TCP_REREAD_MILLIS
                || now < tcpReadAt) {
            Map<Long, Row> tcp = new HashMap<>();
            readTable(SocketProtocol.TCP, tcp, previous);
            readTable(SocketProtocol.TCP6, tcp, previous);
            tcpRows = tcp;
            tcpReadAt = now;
            tcpReads++;
        }
        Map<Long, Row> rows = new HashMap<>(tcpRows);
        readTable(SocketProtocol.UDP, rows, previous);
        readTable(SocketProtocol.UDP6, rows, previous);
        return rows;
    }

    /** Reads of the TCP tables so far; for tests and benches. */
    long tcpReads() {
        return tcpReads;
    }

    /**
     * Reads the TCP counts of {@code sockstat} and {@code sockstat6}; true if they differ from the
     * last scan's or {@code sockstat}'s cannot be read. A missing {@code sockstat6} (no IPv6)
     * reads as -1 every time, which is no change.
     */
    private boolean readSockstat() {
        long inuse = -1;
        long alloc = -1;
        int n = reader.readSmall(reader.path().append(root).append("/net/sockstat"));
        int line = n > 0 ? lineStarting(reader.buf(), n, "TCP: ") : -1;
        if (line >= 0) {
            inuse = valueAfter(reader.buf(), line, n, " inuse ");
            alloc = valueAfter(reader.buf(), line, n, " alloc ");
        }
        long inuse6 = -1;
        n = reader.readSmall(reader.path().append(root).append("/net/sockstat6"));
        line = n > 0 ? lineStarting(reader.buf(), n, "TCP6: ") : -1;
        if (line >= 0) {
            inuse6 = valueAfter(reader.buf(), line, n, " inuse ");
        }
        boolean changed = inuse < 0 || alloc < 0 || inuse != tcpInuse || alloc != tcpAlloc || inuse6 != tcp6Inuse;
        tcpInuse = inuse;
        tcpAlloc = alloc;
        tcp6Inuse = inuse6;
        return changed;
    }

    /** The start of the first line of {@code b[0, n)} that starts with {@code prefix}, or -1. */
    static int lineStarting(byte[] b, int n, String prefix) {
        for (int line = 0; line < n; ) {
            if (ProcFormat.startsWith(b, line, n, prefix)) {
                return line;
            }
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            if (eol < 0) {
                return -1;
            }
            line = eol + 1;
        }
        return -1;
    }

    /**
     * The decimal number after {@code key} (" inuse ") on the line starting at {@code line}, or -1
     * if the line has no such key or no digits follow it.
     */
    static long valueAfter(byte[] b, int line, int n, String key) {
        int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
        int end = eol < 0 ? n : eol;
        for (int i = line; i + key.length() <= end; i++) {
            if (ProcFormat.startsWith(b, i, end, key)) {
                long v = -1;
                for (int j = i + key.length(); j < end && b[j] >= '0' && b[j] <= '9'; j++) {
                    v = (v < 0 ? 0 : v * 10) + (b[j] - '0');
                }
                return v;
            }
        }
        return -1;
    }

    private void readTable(SocketProtocol protocol, Map<Long, Row> rows,
                           Map<Long, SocketSample> previous) {
        StringBuilder path = reader.path().append(root).append("/net/").append(protocol.procFile());
        int n = protocol.isTcp()
                ? reader.readTable(path, prefixBytes[protocol.ordinal()] + FIRST_READ_SLACK, listenersEnd)
                : reader.readTable(path, Integer.MAX_VALUE, null);
        if (protocol.isTcp()) {
            prefixBytes[protocol.ordinal()] = Math.max(0, n);
        }
        if (n <= 0) {
            return; // no such table (no IPv6, or a fixture without it)
        }
        byte[] b = reader.buf();
        int line = ProcFormat.indexOf(b, 0, n, (byte) '\n') + 1; // skip the header
        if (line == 0) {
            return;
        }
        while (line < n) {
            int eol = ProcFormat.indexOf(b, line, n, (byte) '\n');
            int end = eol < 0 ? n : eol;
            if (end > line && !parseRow(protocol, b, line, end, rows, previous)) {
                counts.malformed++;
            }
            line = end + 1;
        }
    }

    /**
     * The start of the first complete line in {@code b[from, to)} whose state is neither LISTEN
     * nor SYN_RECV (the established pass has begun; see the class documentation), or -1. The
     * header and malformed lines have no hex state and do not end the prefix.
     */
    static int endOfListeners(byte[] b, int from, int to) {
        for (int line = from; line < to; ) {
            int eol = ProcFormat.indexOf(b, line, to, (byte) '\n');
            int end = eol < 0 ? to : eol;
            // sl local rem st ...: the state is the fourth token.
            int i = line;
            int tokenFrom = -1;
            int tokenTo = -1;
            for (int token = 0; token < 4; token++) {
                while (i < end && b[i] == ' ') {
                    i++;
                }
                tokenFrom = i;
                while (i < end && b[i] != ' ') {
                    i++;
                }
                tokenTo = i;
            }
            if (tokenTo - tokenFrom == 2) {
                long state = ProcFormat.parseHex(b, tokenFrom, 2);
                if (state >= 0 && state != TCP_LISTEN && state != TCP_SYN_RECV) {
                    return line;
                }
            }
            line = end + 1;
        }
        return -1;
    }

    /** Parses one table row; false if it is malformed. Rows not of interest return true. */
    private boolean parseRow(SocketProtocol protocol, byte[] b, int from, int end, Map<Long, Row> rows,
                             Map<Long, SocketSample> previous) {
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
        int[] tok = tokenBounds;
        int count = 0;
        int i = from;
        while (count < 10) {
            while (i < end && b[i] == ' ') {
                i++;
            }
            if (i >= end) {
                break;
            }
            int s = i;
            while (i < end && b[i] != ' ') {
                i++;
            }
            tok[2 * count] = s;
            tok[2 * count + 1] = i;
            count++;
        }
        if (count < 10) {
            return false;
        }
        int addrLen = protocol == SocketProtocol.TCP || protocol == SocketProtocol.UDP ? 8 : 32;
        int localFrom = tok[2];
        int localTo = tok[3];
        if (localTo - localFrom != addrLen + 5 || b[localFrom + addrLen] != ':') {
            return false;
        }
        long state = ProcFormat.parseHex(b, tok[6], tok[7] - tok[6]);
        long port = ProcFormat.parseHex(b, localFrom + addrLen + 1, 4);
        if (state < 0 || port < 0) {
            return false;
        }
        boolean interesting = protocol.isTcp() ? state == TCP_LISTEN : state == UDP_UNCONNECTED && port != 0;
        if (!interesting) {
            return true;
        }
        cursor.at(tok[14]);
        long uid = cursor.nextLong(b, tok[15]);
        cursor.pos = tok[18];
        long inode = cursor.nextLong(b, tok[19]);
        if (cursor.failed || cursor.pos != tok[19]) {
            return false;
        }
        if (inode == 0) {
            return true; // an orphaned socket no process holds
        }
        SocketSample prev = previous.get(inode);
        String address = prev != null && prev.protocol() == protocol && prev.port() == port
                ? prev.address()
                : ProcFormat.formatAddress(b, localFrom, addrLen);
        if (address == null) {
            return false;
        }
        rows.put(inode, new Row(protocol, address, (int) port, inode, (int) uid));
        return true;
    }
}
