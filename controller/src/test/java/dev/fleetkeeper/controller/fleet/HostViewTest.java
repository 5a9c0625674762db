package dev.fleetkeeper.controller.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UnknownFieldSet;
import dev.fleetkeeper.controller.store.HostRecord;
import dev.fleetkeeper.proto.v1.Delta;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.HostStats;
import dev.fleetkeeper.proto.v1.MemoryDetail;
import dev.fleetkeeper.proto.v1.Process;
import dev.fleetkeeper.proto.v1.ProcessKey;
import dev.fleetkeeper.proto.v1.ProcessState;
import dev.fleetkeeper.proto.v1.Snapshot;
import dev.fleetkeeper.proto.v1.Socket;
import dev.fleetkeeper.proto.v1.SocketProtocol;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class HostViewTest {

    private static final long T0 = 1_767_225_600_000L;
    private static final long RESOLUTION = 10_000;

    private final HostEvents ev = new HostEvents(T0);
    private final HostView view = new HostView(new HostRecord("host-1", "web-1", Map.of(), "1.0", "6.8",
            "boot-1", T0, T0, T0, true));

    @Test
    void firstSnapshot_withoutCompare_reportsNoStarts_onlyZombiesItHolds() {
        Snapshot first = snapshot(T0, List.of(proc(1, "systemd", 0), proc(100, "node", 1),
                zombie(proc(101, "worker", 100))), List.of());

        List<Event> events = view.replace(first, false, ev, RESOLUTION).events();

        assertThat(types(events)).containsExactly(EventType.EVENT_TYPE_ZOMBIE_APPEARED);
        assertThat(view.processes).hasSize(3);
    }

    @Test
    void deltaRemovingAProcess_reportsProcessExited_withItsKeyAndComm() {
        view.replace(snapshot(T0, List.of(proc(1, "systemd", 0), proc(100, "node", 1)), List.of()), false, ev, RESOLUTION);

        List<Event> events = view.apply(delta(T0 + 1000).addProcessesRemoved(key(100)).build(), ev, RESOLUTION).events();

        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.getType()).isEqualTo(EventType.EVENT_TYPE_PROCESS_EXITED);
            assertThat(e.getProcess()).isEqualTo(key(100));
            assertThat(e.getMessage()).isEqualTo("node (pid 100) exited");
            assertThat(e.getTimeUnixMs()).isEqualTo(T0 + 1000);
            assertThat(e.getHostId()).isEqualTo("host-1");
        });
        assertThat(view.processes).doesNotContainKey(new ProcKey(100, 5100));
    }

    @Test
    void deltaAddingAProcess_reportsProcessStarted() {
        view.replace(snapshot(T0, List.of(proc(1, "systemd", 0)), List.of()), false, ev, RESOLUTION);

        List<Event> events = view.apply(delta(T0 + 1000).addProcessesUpserted(proc(200, "queue", 1)).build(),
                ev, RESOLUTION).events();

        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.getType()).isEqualTo(EventType.EVENT_TYPE_PROCESS_STARTED);
            assertThat(e.getProcess()).isEqualTo(key(200));
            assertThat(e.getAttributesMap()).containsEntry("ppid", "1").containsEntry("comm", "queue");
        });
    }

    @Test
    void processTurningZombie_reportsZombieAppeared_namingItsParent() {
        view.replace(snapshot(T0, List.of(proc(1, "systemd", 0), proc(100, "node", 1), proc(101, "worker", 100)),
                List.of()), false, ev, RESOLUTION);

        Process dead = zombie(proc(101, "worker", 100)).toBuilder().clearCmdline().clearExe().build();
        List<Event> events = view.apply(delta(T0 + 1000).addProcessesUpserted(dead).build(), ev, RESOLUTION).events();

        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.getType()).isEqualTo(EventType.EVENT_TYPE_ZOMBIE_APPEARED);
            assertThat(e.getProcess()).isEqualTo(key(101));
            assertThat(e.getMessage()).contains("worker (pid 101) is a zombie", "parent node (pid 100)");
            assertThat(e.getAttributesMap()).containsEntry("parent_comm", "node").containsEntry("ppid", "100");
        });
        // Still a zombie in the next delta: not reported again.
        assertThat(view.apply(delta(T0 + 2000).addProcessesUpserted(dead.toBuilder().setRssBytes(0)).build(),
                ev, RESOLUTION).events()).isEmpty();
    }

    @Test
    void listenerAddedAndRemoved_reportAppearedAndDisappeared_withOwners() {
        view.replace(snapshot(T0, List.of(proc(100, "node", 1), proc(200, "nginx", 1)),
                List.of(socket(9001, 3000, 100))), false, ev, RESOLUTION);

        List<Event> events = view.apply(delta(T0 + 1000).addSocketsRemoved(9001).addSocketsUpserted(socket(9002, 80, 200))
                .build(), ev, RESOLUTION).events();

        assertThat(events).hasSize(2);
        Event gone = events.stream().filter(e -> e.getType() == EventType.EVENT_TYPE_LISTENER_DISAPPEARED)
                .findFirst().orElseThrow();
        assertThat(gone.getMessage()).isEqualTo("listener tcp 0.0.0.0:3000 went away (node (pid 100))");
        assertThat(gone.getAttributesMap()).containsEntry("port", "3000").containsEntry("owners", "node (pid 100)");
        Event appeared = events.stream().filter(e -> e.getType() == EventType.EVENT_TYPE_LISTENER_APPEARED)
                .findFirst().orElseThrow();
        assertThat(appeared.getMessage()).isEqualTo("listener tcp 0.0.0.0:80 appeared (nginx (pid 200))");
        assertThat(appeared.getAttributesMap()).containsEntry("owners", "nginx (pid 200)");
    }

    @Test
    void listenerGoneWithItsOwnerInOneDelta_stillNamesTheOwner() {
        view.replace(snapshot(T0, List.of(proc(100, "node", 1)), List.of(socket(9001, 3000, 100))), false, ev, RESOLUTION);

        List<Event> events = view.apply(delta(T0 + 1000).addProcessesRemoved(key(100)).addSocketsRemoved(9001).build(),
                ev, RESOLUTION).events();

        assertThat(events).filteredOn(e -> e.getType() == EventType.EVENT_TYPE_LISTENER_DISAPPEARED).singleElement()
                .satisfies(e -> assertThat(e.getAttributesMap()).containsEntry("owners", "node (pid 100)"));
        assertThat(types(events)).contains(EventType.EVENT_TYPE_PROCESS_EXITED);
    }

    @Test
    void changedProcessWithoutCmdline_keepsTheStoredCmdlineAndExe() {
        view.replace(snapshot(T0, List.of(proc(100, "node", 1)), List.of()), false, ev, RESOLUTION);

        Process grown = proc(100, "node", 1).toBuilder().clearCmdline().clearExe().setRssBytes(999_000).build();
        List<Event> events = view.apply(delta(T0 + 1000).addProcessesUpserted(grown).build(), ev, RESOLUTION).events();

        assertThat(events).isEmpty();
        Process full = view.full(new ProcKey(100, 5100));
        assertThat(full.getRssBytes()).isEqualTo(999_000);
        assertThat(full.getCmdlineList()).containsExactly("node", "server.js");
        assertThat(full.getExe()).isEqualTo("/usr/bin/node");
        assertThat(view.toSnapshot().getProcessesList()).singleElement()
                .satisfies(p -> assertThat(p.getCmdlineList()).containsExactly("node", "server.js"));
        // And the exit event of such a process still carries what it was.
        assertThat(view.apply(delta(T0 + 2000).addProcessesRemoved(key(100)).build(), ev, RESOLUTION).events())
                .singleElement().satisfies(e -> assertThat(e.getMessage()).isEqualTo("node (pid 100) exited"));
    }

    @Test
    void reconnectSnapshot_withCompare_reportsWhatChangedWhileAway() {
        view.replace(snapshot(T0, List.of(proc(1, "systemd", 0), proc(100, "node", 1)),
                List.of(socket(9001, 3000, 100))), false, ev, RESOLUTION);

        Snapshot after = snapshot(T0 + 60_000, List.of(proc(1, "systemd", 0), proc(300, "node", 1)),
                List.of(socket(9003, 3000, 300)));
        List<Event> events = view.replace(after, true, ev, RESOLUTION).events();

        assertThat(events).filteredOn(e -> e.getType() == EventType.EVENT_TYPE_PROCESS_EXITED).singleElement()
                .satisfies(e -> {
                    assertThat(e.getProcess()).isEqualTo(key(100));
                    assertThat(e.getMessage()).isEqualTo("node (pid 100) exited while the agent was not connected");
                });
        assertThat(events).filteredOn(e -> e.getType() == EventType.EVENT_TYPE_PROCESS_STARTED).singleElement()
                .satisfies(e -> assertThat(e.getProcess()).isEqualTo(key(300)));
        assertThat(events).filteredOn(e -> e.getType() == EventType.EVENT_TYPE_LISTENER_DISAPPEARED).singleElement()
                .satisfies(e -> assertThat(e.getAttributesMap()).containsEntry("owners", "node (pid 100)"));
        assertThat(events).filteredOn(e -> e.getType() == EventType.EVENT_TYPE_LISTENER_APPEARED).singleElement()
                .satisfies(e -> assertThat(e.getAttributesMap()).containsEntry("owners", "node (pid 300)"));
        assertThat(events).hasSize(4);
    }

    @Test
    void sameSnapshotAgain_withCompare_reportsNothing() {
        Snapshot s = snapshot(T0, List.of(proc(1, "systemd", 0), proc(100, "node", 1)), List.of(socket(9001, 3000, 100)));
        view.replace(s, false, ev, RESOLUTION);

        assertThat(view.replace(s.toBuilder().setTakenAtUnixMs(T0 + 5000).build(), true, ev, RESOLUTION).events())
                .isEmpty();
    }

    @Test
    void memoryPoints_atMostOnePerResolutionPerIdentity() {
        HostView.Applied first = view.replace(snapshot(T0, List.of(proc(100, "node", 1), proc(200, "queue", 1)),
                List.of()), false, ev, RESOLUTION);
        assertThat(first.points()).hasSize(2);

        int n100 = 0;
        int n200 = 0;
        for (long t = T0 + 1000; t <= T0 + 30_000; t += 1000) {
            Delta d = delta(t)
                    .addProcessesUpserted(proc(100, "node", 1).toBuilder().clearCmdline().setRssBytes(t - T0))
                    .addProcessesUpserted(proc(200, "queue", 1).toBuilder().clearCmdline().setRssBytes(t - T0))
                    .build();
            for (HostView.Point p : view.apply(d, ev, RESOLUTION).points()) {
                assertThat(p.point().timeMillis()).isEqualTo(t);
                assertThat(p.point().rssBytes()).isEqualTo(t - T0);
                if (p.process().pid() == 100) {
                    n100++;
                } else {
                    n200++;
                }
            }
        }

        // Snapshot at T0, then T0+10s, T0+20s, T0+30s.
        assertThat(n100).isEqualTo(3);
        assertThat(n200).isEqualTo(3);
    }

    @Test
    void newIdentityOnAReusedPid_getsItsOwnMemoryPointAtOnce() {
        view.replace(snapshot(T0, List.of(proc(100, "node", 1)), List.of()), false, ev, RESOLUTION);

        Process reused = proc(100, "node", 1).toBuilder().setKey(ProcessKey.newBuilder().setPid(100).setStartTicks(9999))
                .build();
        HostView.Applied applied = view.apply(delta(T0 + 1000).addProcessesRemoved(key(100))
                .addProcessesUpserted(reused).build(), ev, RESOLUTION);

        assertThat(applied.points()).singleElement()
                .satisfies(p -> assertThat(p.process()).isEqualTo(new ProcKey(100, 9999)));
        assertThat(types(applied.events())).containsExactlyInAnyOrder(EventType.EVENT_TYPE_PROCESS_EXITED,
                EventType.EVENT_TYPE_PROCESS_STARTED);
    }

    @Test
    void heldProcess_isEveryFieldOfTheLatestSample_withTheIdentitysCmdlineAndExe_unknownFieldsIncluded() {
        Process first = Process.newBuilder().setKey(key(100)).setPpid(1).setPgid(100).setSid(100).setUid(33)
                .setEuid(34).setUser("www-data").setState(ProcessState.PROCESS_STATE_RUNNING)
                .setStartTimeUnixMs(T0 - 5000).setComm("node").addCmdline("node").addCmdline("server.js")
                .setExe("/usr/bin/node").setThreads(8).setRssBytes(1 << 20).setVsizeBytes(4 << 20)
                .setMemory(MemoryDetail.newBuilder().setPssBytes(1).setPrivateBytes(2).setAnonymousBytes(3)
                        .setSwapBytes(4).setSampledAtUnixMs(T0 - 100))
                .setCpuUserMs(10).setCpuSystemMs(20).setCpuPercent(1.5f).setCgroup("/system.slice/app.service")
                .setUnknownFields(UnknownFieldSet.newBuilder()
                        .addField(99, UnknownFieldSet.Field.newBuilder().addVarint(7).build()).build())
                .build();
        view.replace(snapshot(T0, List.of(first), List.of()), false, ev, RESOLUTION);
        assertThat(view.full(new ProcKey(100, 5100))).isEqualTo(first);

        Process changed = first.toBuilder().clearCmdline().clearExe().clearMemory().setUnknownFields(UnknownFieldSet.getDefaultInstance())
                .setState(ProcessState.PROCESS_STATE_SLEEPING).setRssBytes(2 << 20).setCpuPercent(0.5f)
                .setThreads(9).setMemory(MemoryDetail.newBuilder().setPssBytes(5).setUnknownFields(
                        UnknownFieldSet.newBuilder()
                                .addField(98, UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build()))
                .build();
        view.apply(delta(T0 + 1000).addProcessesUpserted(changed).build(), ev, RESOLUTION);

        Process expected = changed.toBuilder().addAllCmdline(first.getCmdlineList()).setExe(first.getExe()).build();
        assertThat(view.full(new ProcKey(100, 5100))).isEqualTo(expected);
        assertThat(view.toSnapshot().getProcessesList()).containsExactly(expected);
        assertThat(view.toSnapshot().toByteArray()).isEqualTo(Snapshot.newBuilder().setTakenAtUnixMs(T0 + 1000)
                .setHost(HostStats.newBuilder().setSampledAtUnixMs(T0 + 1000)).addProcesses(expected).build()
                .toByteArray());
    }

    // ---- fixtures ----

    static ProcessKey key(int pid) {
        return ProcessKey.newBuilder().setPid(pid).setStartTicks(5000L + pid).build();
    }

    static Process proc(int pid, String comm, int ppid) {
        return Process.newBuilder().setKey(key(pid)).setPpid(ppid).setComm(comm).setUser("app")
                .setState(ProcessState.PROCESS_STATE_SLEEPING).setRssBytes(pid * 1000L)
                .addCmdline(comm).addCmdline(comm.equals("node") ? "server.js" : "--serve")
                .setExe("/usr/bin/" + comm).build();
    }

    static Process zombie(Process p) {
        return p.toBuilder().setState(ProcessState.PROCESS_STATE_ZOMBIE).setRssBytes(0).build();
    }

    static Socket socket(long inode, int port, int... ownerPids) {
        Socket.Builder b = Socket.newBuilder().setProtocol(SocketProtocol.SOCKET_PROTOCOL_TCP).setAddress("0.0.0.0")
                .setPort(port).setInode(inode);
        for (int pid : ownerPids) {
            b.addOwners(key(pid));
        }
        return b.build();
    }

    static Snapshot snapshot(long t, List<Process> processes, List<Socket> sockets) {
        return Snapshot.newBuilder().setTakenAtUnixMs(t).setHost(HostStats.newBuilder().setSampledAtUnixMs(t))
                .addAllProcesses(processes).addAllSockets(sockets).build();
    }

    static Delta.Builder delta(long t) {
        return Delta.newBuilder().setTakenAtUnixMs(t).setHost(HostStats.newBuilder().setSampledAtUnixMs(t))
                .setMergedScans(1);
    }

    private static List<EventType> types(List<Event> events) {
        return events.stream().map(Event::getType).collect(Collectors.toList());
    }
}
