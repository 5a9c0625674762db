package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.proto.v1.ProcessKey;

/** Map key for a process identity within a host's boot: (pid, start ticks). Immutable. */
record ProcKey(int pid, long startTicks) {

    static ProcKey of(ProcessKey key) {
        return new ProcKey(key.getPid(), key.getStartTicks());
    }

    ProcessKey toProto() {
        return ProcessKey.newBuilder().setPid(pid).setStartTicks(startTicks).build();
    }
}
