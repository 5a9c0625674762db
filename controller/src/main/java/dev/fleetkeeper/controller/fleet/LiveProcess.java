package dev.fleetkeeper.controller.fleet;

import com.google.protobuf.UnknownFieldSet;
import dev.fleetkeeper.proto.v1.MemoryDetail;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.ProcessState;
import java.util.List;

/**
 * The latest sample of one process on one host, with the cmdline and exe its identity was sent
 * with, updated in place by each changed sample. Not thread-safe: owned by the fleet engine's
 * thread through its {@link HostView}.
 *
 * <p>Why not keep the received {@link Process} messages: every process of every host changes
 * about once a second, so a map of messages replaces its whole content every second with
 * objects that live just long enough to be copied by each young collection, and every store of
 * a young message into the (old) map dirties a card the collector must scan. Copying the
 * figures into a record that lives as long as the process makes a delta's messages die young:
 * the young-generation pauses of {@code bench ingest} shrink with them. For the same reason
 * {@link #update} stores a reference field only when its value changes: strings that usually
 * repeat (user, comm, cgroup) keep the held instance, and a reference store into this
 * (by then old) record would dirty its card for the next young collection to scan, whatever
 * it stores.
 */
final class LiveProcess {

    final ProcKey key;
    private boolean hasKey;
    private int ppid;
    private int pgid;
    private int sid;
    private int uid;
    private int euid;
    private String user;
    private int state;
    private long startTimeUnixMs;
    private String comm;
    private int threads;
    private long rssBytes;
    private long vsizeBytes;
    private long cpuUserMs;
    private long cpuSystemMs;
    private float cpuPercent;
    private String cgroup;
    /** The latest sample's detailed memory: absent, as figures, or (with unknown fields) the message itself. */
    private boolean hasMemory;
    private long pssBytes;
    private long privateBytes;
    private long anonymousBytes;
    private long swapBytes;
    private long memorySampledAtUnixMs;
    private MemoryDetail memoryWithUnknownFields;
    /** The latest sample's unknown fields (a newer agent's); the shared empty set almost always. */
    private UnknownFieldSet unknownFields;
    /** From the latest sample that carried an identity (cmdline or exe); empty until one does. */
    private List<String> cmdline = List.of();
    private String exe = "";
    /** When the latest memory point of this process was stored; {@link Long#MIN_VALUE}: never. */
    long lastPointMillis = Long.MIN_VALUE;

    LiveProcess(ProcKey key, Process first) {
        this.key = key;
        update(first);
    }

    /** Takes the figures of a newer sample of the same process; its cmdline and exe only if it has them. */
    void update(Process p) {
        hasKey = p.hasKey();
        ppid = p.getPpid();
        pgid = p.getPgid();
        sid = p.getSid();
        uid = p.getUid();
        euid = p.getEuid();
        if (!p.getUser().equals(user)) {
            user = p.getUser();
        }
        state = p.getStateValue();
        startTimeUnixMs = p.getStartTimeUnixMs();
        if (!p.getComm().equals(comm)) {
            comm = p.getComm();
        }
        threads = p.getThreads();
        rssBytes = p.getRssBytes();
        vsizeBytes = p.getVsizeBytes();
        cpuUserMs = p.getCpuUserMs();
        cpuSystemMs = p.getCpuSystemMs();
        cpuPercent = p.getCpuPercent();
        if (!p.getCgroup().equals(cgroup)) {
            cgroup = p.getCgroup();
        }
        hasMemory = p.hasMemory();
        if (memoryWithUnknownFields != null) {
            memoryWithUnknownFields = null;
        }
        if (hasMemory) {
            MemoryDetail m = p.getMemory();
            if (m.getUnknownFields().asMap().isEmpty()) {
                pssBytes = m.getPssBytes();
                privateBytes = m.getPrivateBytes();
                anonymousBytes = m.getAnonymousBytes();
                swapBytes = m.getSwapBytes();
                memorySampledAtUnixMs = m.getSampledAtUnixMs();
            } else {
                memoryWithUnknownFields = m;
            }
        }
        UnknownFieldSet unknown = p.getUnknownFields();
        if (!unknown.asMap().isEmpty()) {
            unknownFields = unknown;
        } else if (unknownFields != UnknownFieldSet.getDefaultInstance()) {
            unknownFields = UnknownFieldSet.getDefaultInstance();
        }
        if (hasIdentity(p)) {
            cmdline = p.getCmdlineList();
            exe = p.getExe();
        }
    }

    /** Whether a sample carries its process's identity (cmdline or exe); a Delta's changed processes do not. */
    static boolean hasIdentity(Process p) {
        return p.getCmdlineCount() > 0 || !p.getExe().isEmpty();
    }

    boolean isZombie() {
        return state == ProcessState.PROCESS_STATE_ZOMBIE_VALUE;
    }

    int pid() {
        return key.pid();
    }

    String comm() {
        return comm;
    }

    int ppid() {
        return ppid;
    }

    long rssBytes() {
        return rssBytes;
    }

    long pssBytes() {
        return memoryWithUnknownFields != null ? memoryWithUnknownFields.getPssBytes() : hasMemory ? pssBytes : 0;
    }

    long privateBytes() {
        return memoryWithUnknownFields != null ? memoryWithUnknownFields.getPrivateBytes()
                : hasMemory ? privateBytes : 0;
    }

    long anonymousBytes() {
        return memoryWithUnknownFields != null ? memoryWithUnknownFields.getAnonymousBytes()
                : hasMemory ? anonymousBytes : 0;
    }

    /** The latest sample with the identity's cmdline and exe, as one message. */
    Process toProto() {
        Process.Builder b = Process.newBuilder();
        if (hasKey) {
            b.setKey(ProcessKey.newBuilder().setPid(key.pid()).setStartTicks(key.startTicks()));
        }
        b.setPpid(ppid).setPgid(pgid).setSid(sid).setUid(uid).setEuid(euid).setUser(user).setStateValue(state)
                .setStartTimeUnixMs(startTimeUnixMs).setComm(comm).addAllCmdline(cmdline).setExe(exe)
                .setThreads(threads).setRssBytes(rssBytes).setVsizeBytes(vsizeBytes).setCpuUserMs(cpuUserMs)
                .setCpuSystemMs(cpuSystemMs).setCpuPercent(cpuPercent).setCgroup(cgroup);
        if (memoryWithUnknownFields != null) {
            b.setMemory(memoryWithUnknownFields);
        } else if (hasMemory) {
            b.setMemory(MemoryDetail.newBuilder().setPssBytes(pssBytes).setPrivateBytes(privateBytes)
                    .setAnonymousBytes(anonymousBytes).setSwapBytes(swapBytes)
                    .setSampledAtUnixMs(memorySampledAtUnixMs));
        }
        return b.setUnknownFields(unknownFields).build();
    }

}
