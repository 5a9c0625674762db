package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.proto.v1.ProcessKey;

/**
 * Map key for a process identity within a host's boot: (pid, start ticks). Immutable.
 *
 * <p>A plain class rather than a record: it is the hottest hash key of the ingest path, and
 * hand-written {@code equals}/{@code hashCode} profile several times cheaper than the
 * record's bootstrap-generated ones on the C1-compiled paths.
 */
final class ProcKey {

    private final int pid;
    private final long startTicks;

    ProcKey(int pid, long startTicks) {
        this.pid = pid;
        this.startTicks = startTicks;
    }

    static ProcKey of(ProcessKey key) {
        return new ProcKey(key.getPid(), key.getStartTicks());
    }

    int pid() {
        return pid;
    }

    long startTicks() {
        return startTicks;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProcKey && ((ProcKey) o).pid == pid && ((ProcKey) o).startTicks == startTicks;
    }

    @Override
    public int hashCode() {
        return pid * 31 + (int) (startTicks ^ (startTicks >>> 32));
    }

    @Override
    public String toString() {
        return pid + "@" + startTicks;
    }
}
