package dev.fleetkeeper.agent.transport;

import dev.fleetkeeper.agent.telemetry.HostSample;
import dev.fleetkeeper.agent.telemetry.HostScan;
import dev.fleetkeeper.agent.telemetry.MemoryDetail;
import dev.fleetkeeper.agent.telemetry.MemoryPressure;
import dev.fleetkeeper.agent.telemetry.ProcState;
import dev.fleetkeeper.agent.telemetry.ProcessId;
import dev.fleetkeeper.agent.telemetry.ProcessSample;
import dev.fleetkeeper.agent.telemetry.ScanDelta;
import dev.fleetkeeper.agent.telemetry.SocketProtocol;
import dev.fleetkeeper.agent.telemetry.SocketSample;
import dev.fleetkeeper.proto.v1.Delta;
import dev.fleetkeeper.proto.v1.HostStats;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.ProcessState;
import dev.fleetkeeper.proto.v1.ScanStats;
import dev.fleetkeeper.proto.v1.Snapshot;
import dev.fleetkeeper.proto.v1.Socket;

/**
 * Converts the agent's telemetry records to wire messages. The one place on the agent side that
 * knows both. Stateless.
 */
final class AgentProtoMapper {

    private AgentProtoMapper() {
    }

    static Snapshot snapshot(HostScan scan) {
        Snapshot.Builder b = Snapshot.newBuilder()
                .setTakenAtUnixMs(scan.takenAtMillis())
                .setHost(host(scan.host()));
        for (ProcessSample p : scan.processes().values()) {
            b.addProcesses(process(p, true));
        }
        for (SocketSample s : scan.sockets().values()) {
            b.addSockets(socket(s));
        }
        return b.build();
    }

    static Delta delta(ScanDelta d, long takenAtMillis, int mergedScans) {
        Delta.Builder b = Delta.newBuilder()
                .setTakenAtUnixMs(takenAtMillis)
                .setHost(host(d.host()))
                .setMergedScans(mergedScans);
        for (ProcessSample p : d.added()) {
            b.addProcessesUpserted(process(p, true));
        }
        for (ProcessSample p : d.changed()) {
            b.addProcessesUpserted(process(p, false));
        }
        for (ProcessId id : d.removed()) {
            b.addProcessesRemoved(key(id));
        }
        for (SocketSample s : d.socketsUpserted()) {
            b.addSocketsUpserted(socket(s));
        }
        for (long inode : d.socketsRemoved()) {
            b.addSocketsRemoved(inode);
        }
        return b.build();
    }

    static ProcessKey key(ProcessId id) {
        return ProcessKey.newBuilder().setPid(id.pid()).setStartTicks(id.startTicks()).build();
    }

    /** {@code withIdentity}: include cmdline and exe (new identities only). */
    static Process process(ProcessSample p, boolean withIdentity) {
        Process.Builder b = Process.newBuilder()
                .setKey(key(p.id()))
                .setPpid(p.ppid())
                .setPgid(p.pgid())
                .setSid(p.sid())
                .setUid(p.uid())
                .setEuid(p.euid())
                .setUser(p.user())
                .setState(state(p.state()))
                .setStartTimeUnixMs(p.startTimeMillis())
                .setComm(p.comm())
                .setThreads(p.threads())
                .setRssBytes(p.rssBytes())
                .setVsizeBytes(p.vsizeBytes())
                .setCpuUserMs(p.cpuUserMillis())
                .setCpuSystemMs(p.cpuSystemMillis())
                .setCpuPercent(p.cpuPercent())
                .setCgroup(p.cgroup());
        if (withIdentity) {
            b.addAllCmdline(p.cmdline()).setExe(p.exe());
        }
        MemoryDetail m = p.memory();
        if (m != null) {
            b.setMemory(dev.fleetkeeper.proto.v1.MemoryDetail.newBuilder()
                    .setPssBytes(m.pssBytes())
                    .setPrivateBytes(m.privateBytes())
                    .setAnonymousBytes(m.anonymousBytes())
                    .setSwapBytes(m.swapBytes())
                    .setSampledAtUnixMs(m.sampledAtMillis()));
        }
        return b.build();
    }

    static Socket socket(SocketSample s) {
        Socket.Builder b = Socket.newBuilder()
                .setProtocol(protocol(s.protocol()))
                .setAddress(s.address())
                .setPort(s.port())
                .setInode(s.inode())
                .setUid(s.uid());
        for (ProcessId owner : s.owners()) {
            b.addOwners(key(owner));
        }
        return b.build();
    }

    static HostStats host(HostSample h) {
        HostStats.Builder b = HostStats.newBuilder()
                .setSampledAtUnixMs(h.sampledAtMillis())
                .setMemTotalBytes(h.memTotalBytes())
                .setMemAvailableBytes(h.memAvailableBytes())
                .setSwapTotalBytes(h.swapTotalBytes())
                .setSwapFreeBytes(h.swapFreeBytes())
                .setLoad1(h.load1())
                .setLoad5(h.load5())
                .setLoad15(h.load15())
                .setOomKills(h.oomKills())
                .setUptimeMs(h.uptimeMillis())
                .setProcessCount(h.processCount())
                .setCpuCount(h.cpuCount());
        MemoryPressure mp = h.memoryPressure();
        if (mp != null) {
            b.setMemoryPressure(dev.fleetkeeper.proto.v1.MemoryPressure.newBuilder()
                    .setSomeAvg10(mp.someAvg10()).setSomeAvg60(mp.someAvg60()).setSomeAvg300(mp.someAvg300())
                    .setFullAvg10(mp.fullAvg10()).setFullAvg60(mp.fullAvg60()).setFullAvg300(mp.fullAvg300())
                    .setSomeTotalUs(mp.someTotalMicros()).setFullTotalUs(mp.fullTotalMicros()));
        }
        if (h.scan() != null) {
            b.setScan(ScanStats.newBuilder()
                    .setVanished(h.scan().vanished())
                    .setMalformed(h.scan().malformed())
                    .setDurationUs(h.scan().durationMicros())
                    .setCpuUs(h.scan().cpuMicros()));
        }
        return b.build();
    }

    static ProcessState state(ProcState s) {
        switch (s) {
            case RUNNING: return ProcessState.PROCESS_STATE_RUNNING;
            case SLEEPING: return ProcessState.PROCESS_STATE_SLEEPING;
            case DISK_SLEEP: return ProcessState.PROCESS_STATE_DISK_SLEEP;
            case ZOMBIE: return ProcessState.PROCESS_STATE_ZOMBIE;
            case STOPPED: return ProcessState.PROCESS_STATE_STOPPED;
            case TRACING_STOP: return ProcessState.PROCESS_STATE_TRACING_STOP;
            case DEAD: return ProcessState.PROCESS_STATE_DEAD;
            case IDLE: return ProcessState.PROCESS_STATE_IDLE;
            case PARKED: return ProcessState.PROCESS_STATE_PARKED;
            case WAKING: return ProcessState.PROCESS_STATE_WAKING;
            default: return ProcessState.PROCESS_STATE_UNSPECIFIED;
        }
    }

    static dev.fleetkeeper.proto.v1.SocketProtocol protocol(SocketProtocol p) {
        switch (p) {
            case TCP: return dev.fleetkeeper.proto.v1.SocketProtocol.SOCKET_PROTOCOL_TCP;
            case TCP6: return dev.fleetkeeper.proto.v1.SocketProtocol.SOCKET_PROTOCOL_TCP6;
            case UDP: return dev.fleetkeeper.proto.v1.SocketProtocol.SOCKET_PROTOCOL_UDP;
            case UDP6: return dev.fleetkeeper.proto.v1.SocketProtocol.SOCKET_PROTOCOL_UDP6;
            default: return dev.fleetkeeper.proto.v1.SocketProtocol.SOCKET_PROTOCOL_UNSPECIFIED;
        }
    }
}
