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

    SocketTables(String root, ProcReader reader, ScanCounts counts, FieldCursor cursor) {
        this.root = root;
        this.reader = reader;
        this.counts = counts;
        this.cursor = cursor;
    }

    /**
     * The rows of interest in every table, by inode; {@code previous} (the last scan's sockets)
     * lends its formatted addresses.
     */
    Map<Long, Row> read(Map<Long, SocketSample> previous) {
        Map<Long, Row> rows = new HashMap<>();
        for (SocketProtocol p : SocketProtocol.values()) {
            readTable(p, rows, previous);
        }
        return rows;
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
