package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fleetkeeper.agent.Agent;
import dev.fleetkeeper.agent.config.AgentConfig;
import dev.fleetkeeper.agent.config.ServiceDeclaration;
import dev.fleetkeeper.agent.service.DriverKind;
import dev.fleetkeeper.agent.service.ServiceSpec;
import dev.fleetkeeper.agent.transport.ControllerChannel;
import dev.fleetkeeper.cli.CliRun;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.InstanceView;
import dev.fleetkeeper.proto.v1.Rollout;
import dev.fleetkeeper.proto.v1.RolloutState;
import dev.fleetkeeper.proto.v1.RolloutStep;
import dev.fleetkeeper.proto.v1.RolloutStepState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rollouts survive crashes of the processes running them. A controller process killed with
 * SIGKILL while instances are in flight, started again on the same data and port, resumes the
 * rollout to the end: every instance on the new version, each restarted exactly once (the step
 * in flight is re-sent with its stored action id, which the agent does not apply twice). An
 * agent process killed with SIGKILL while one of its instances is in flight makes the rollout
 * fail (or pause, with {@code --pause-on-disconnect}) after the healthy deadline; started again
 * on the same state directory it re-adopts its instances, and the ones already healthy on the
 * new version are not restarted.
 *
 * <p>Every worker is a real Python process under the built-in driver, in its own session, on a
 * port of its own, and takes 1.5 s to stop, so that a step is in flight for several seconds.
 */
@Timeout(300)
class RolloutCrashEndToEndTest {

    private static final String PYTHON = "/usr/bin/python3";
    private static final int POOL = 2;
    private static final String WORKER = "import signal, socket, sys, time\n"
            + "def drain(*_):\n    time.sleep(1.5)\n    sys.exit(0)\n"
            + "signal.signal(signal.SIGTERM, drain)\n"
            + "import os\n"
            + "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            + "s.bind(('127.0.0.1', int(sys.argv[1]) + int(os.environ['FLEETKEEPER_INSTANCE']))); s.listen(8)\n"
            + "while True: time.sleep(1)\n";

    @TempDir
    Path dir;

    private final String service = "crash-" + UUID.randomUUID().toString().substring(0, 8);
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private String target;

    @AfterEach
    void stop() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            try {
                toClose.get(i).close();
            } catch (Exception e) {
                // Close the rest.
            }
        }
        // An agent killed with SIGKILL leaves its instances running (their own sessions): ours go too.
        killWorkers();
    }

    // ------------------------------------------------------------------ controller killed

    @Test
    void controllerKilledMidRollout_restartedOnTheSameData_completesIt_restartingEachInstanceOnce() throws Exception {
        ControllerProcess controller = new ControllerProcess(dir.resolve("controller"));
        toClose.add(controller);
        controller.start();
        target = controller.target();
        Path script = workerScript();
        List<String> hosts = new ArrayList<>();
        for (String h : List.of("a", "b", "c")) {
            String hostId = service + "-" + h;
            hosts.add(hostId);
            startInJvmAgent(hostId, pool(script, freeBase()));
        }
        awaitRunning(hosts);
        Map<String, Map<Integer, InstanceView>> before = instances();

        CliRun.Background cli = CliRun.start(target, "rollout", "start", service, "--version", "2",
                "--canary", "1", "--batch", "1", "--min-healthy", "2s", "--healthy-deadline", "60s",
                "--auto-promote");
        String id = rolloutId(await().atMost(Duration.ofSeconds(30))
                .until(() -> cli.out().toString(), out -> out.contains("rollout ro-")));
        // A batch step sent, its answer not yet in: the agent is stopping or starting the instance.
        RolloutStep inFlight = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> status(id).getStepsList().stream()
                        .filter(s -> !s.getCanary() && s.getState() == RolloutStepState.ROLLOUT_STEP_STATE_SENT)
                        .findFirst().orElse(null), s -> s != null);

        controller.kill();
        Thread.sleep(1_000); // the agent finishes applying it meanwhile: its answer has nowhere to go
        controller.start();

        Rollout done = await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .until(() -> status(id), r -> r.getState() == RolloutState.ROLLOUT_STATE_SUCCEEDED
                        || r.getState() == RolloutState.ROLLOUT_STATE_FAILED);
        assertThat(done.getState()).as(done.getMessage()).isEqualTo(RolloutState.ROLLOUT_STATE_SUCCEEDED);
        assertThat(done.getStepsList()).hasSize(hosts.size() * POOL)
                .allSatisfy(s -> assertThat(s.getState()).isEqualTo(RolloutStepState.ROLLOUT_STEP_STATE_HEALTHY));
        RolloutStep resumed = done.getStepsList().stream().filter(s -> s.getHostId().equals(inFlight.getHostId())
                && s.getInstance() == inFlight.getInstance()).findFirst().orElseThrow();
        assertThat(resumed.getActionId()).as("re-sent with the stored id").isEqualTo(inFlight.getActionId());
        assertThat(controller.log()).doesNotContain("Exception in thread");

        Map<String, Map<Integer, InstanceView>> after = instances();
        Map<String, Integer> applied = releasesApplied();
        for (String host : hosts) {
            for (int i = 0; i < POOL; i++) {
                InstanceView now = after.get(host).get(i);
                assertThat(now.getVersion()).as("%s#%d", host, i).isEqualTo("2");
                assertThat(now.getManagerPid()).as("%s#%d has a new pid", host, i)
                        .isNotEqualTo(before.get(host).get(i).getManagerPid());
                assertThat(now.getRestarts()).as("%s#%d restarted exactly once", host, i)
                        .isEqualTo(before.get(host).get(i).getRestarts() + 1);
                assertThat(applied.getOrDefault(host + "#" + i, 0)).as("RELEASE_APPLIED events of %s#%d", host, i)
                        .isEqualTo(1);
            }
        }
    }

    // ------------------------------------------------------------------ agent killed

    @Test
    void agentKilledMidRollout_failsItAfterTheHealthyDeadline_andOnRestartItsHealthyInstanceIsNotRestarted()
            throws Exception {
        AgentKill k = killAgentMidRollout();

        Rollout failed = await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .until(() -> status(k.id), r -> r.getState() != RolloutState.ROLLOUT_STATE_ROLLING
                        && r.getState() != RolloutState.ROLLOUT_STATE_CANARY);
        assertThat(failed.getState()).as(failed.getMessage()).isEqualTo(RolloutState.ROLLOUT_STATE_FAILED);
        assertThat(failed.getMessage()).contains("offline for more than 10 s");

        k.agent.start();
        Map<Integer, InstanceView> back = awaitBack(k);
        assertThat(back.get(0).getManagerPid()).as("the healthy instance was re-adopted, not restarted")
                .isEqualTo(k.healthyPid);
        assertThat(back.get(0).getVersion()).isEqualTo("2");
        Thread.sleep(3_000); // a few rollout ticks with the host online again
        assertThat(instances().get(k.hostId).get(0).getManagerPid()).isEqualTo(k.healthyPid);
        assertThat(status(k.id).getState()).isEqualTo(RolloutState.ROLLOUT_STATE_FAILED);
        assertThat(releasesApplied().get(k.hostId + "#0")).as("instance 0 moved once").isEqualTo(1);
    }

    @Test
    void agentKilledMidRollout_pausesItWithPauseOnDisconnect_andAfterRestartAndResumeItSucceeds_withoutRestartingTheHealthyInstance()
            throws Exception {
        AgentKill k = killAgentMidRollout("--pause-on-disconnect");

        Rollout paused = await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .until(() -> status(k.id), r -> r.getState() != RolloutState.ROLLOUT_STATE_ROLLING
                        && r.getState() != RolloutState.ROLLOUT_STATE_CANARY);
        assertThat(paused.getState()).as(paused.getMessage()).isEqualTo(RolloutState.ROLLOUT_STATE_PAUSED);
        assertThat(paused.getMessage()).contains("offline for more than 10 s");

        k.agent.start();
        Map<Integer, InstanceView> back = awaitBack(k);
        assertThat(back.get(0).getManagerPid()).as("the healthy instance was re-adopted, not restarted")
                .isEqualTo(k.healthyPid);
        Thread.sleep(2_000); // rollout ticks with the host online again, still paused
        assertThat(status(k.id).getState()).as(status(k.id).getMessage()).isEqualTo(RolloutState.ROLLOUT_STATE_PAUSED);

        CliRun.Result resumed = CliRun.run(target, "rollout", "resume", k.id);
        assertThat(resumed.exitCode()).as(resumed.out() + resumed.err()).isZero();
        Rollout done = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .until(() -> status(k.id), r -> r.getState() != RolloutState.ROLLOUT_STATE_ROLLING);
        assertThat(done.getState()).as(done.getMessage()).isEqualTo(RolloutState.ROLLOUT_STATE_SUCCEEDED);
        Map<Integer, InstanceView> end = instances().get(k.hostId);
        assertThat(end.get(0).getManagerPid()).as("instance 0 never restarted after it was healthy")
                .isEqualTo(k.healthyPid);
        assertThat(end.get(1).getVersion()).isEqualTo("2");
        assertThat(releasesApplied().get(k.hostId + "#0")).as("instance 0 moved once").isEqualTo(1);
    }

    /** What a test knows after killing the agent: its rollout, the agent, and instance 0's pid on the new version. */
    private record AgentKill(String id, String hostId, AgentProcess agent, int healthyPid) {
    }

    /**
     * A controller in this JVM and one agent process with a pool of two; a rollout (canary 1,
     * batches of 1, healthy deadline 10 s) until instance 0 is HEALTHY and instance 1 SENT; then
     * the agent is killed with SIGKILL.
     */
    private AgentKill killAgentMidRollout(String... extra) throws Exception {
        MiniFleet fleet = MiniFleet.start(dir.resolve("fleet"), Duration.ofSeconds(2));
        toClose.add(fleet);
        target = fleet.target();
        Path script = workerScript();
        int base = freeBase();
        AgentProcess agent = new AgentProcess(dir.resolve("agent"), target, "reconcileInterval: 500ms\n"
                + "services:\n"
                + "  - name: " + service + "\n"
                + "    driver: builtin\n"
                + "    instances: " + POOL + "\n"
                + "    command: " + PYTHON + "\n"
                + "    args: [\"" + script + "\", \"" + base + "\"]\n"
                + "    ports: [" + base + "]\n"
                + "    portStride: 1\n"
                + "    version: \"1\"\n"
                + "    stopTimeout: 3s\n"
                + "    startTimeout: 10s\n");
        toClose.add(agent);
        String hostId = service + "-agent";
        Files.createDirectories(agent.stateDir());
        Files.writeString(agent.stateDir().resolve("host-id"), hostId + "\n");
        agent.start();
        awaitRunning(List.of(hostId));

        List<String> args = new ArrayList<>(List.of("rollout", "start", service, "--version", "2",
                "--canary", "1", "--batch", "1", "--min-healthy", "2s", "--healthy-deadline", "10s",
                "--auto-promote"));
        args.addAll(List.of(extra));
        CliRun.Background cli = CliRun.start(target, args.toArray(String[]::new));
        String id = rolloutId(await().atMost(Duration.ofSeconds(30))
                .until(() -> cli.out().toString(), out -> out.contains("rollout ro-")));
        Rollout inFlight = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> status(id), r -> r.getStepsCount() == POOL
                        && r.getSteps(0).getState() == RolloutStepState.ROLLOUT_STEP_STATE_HEALTHY
                        && r.getSteps(1).getState() == RolloutStepState.ROLLOUT_STEP_STATE_SENT);
        int healthyPid = inFlight.getSteps(0).getNewPid();
        assertThat(healthyPid).isPositive();
        assertThat(instances().get(hostId).get(0).getManagerPid()).isEqualTo(healthyPid);

        agent.kill();
        return new AgentKill(id, hostId, agent, healthyPid);
    }

    /** Waits until the restarted agent is online and both its instances run with their ports. */
    private Map<Integer, InstanceView> awaitBack(AgentKill k) throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> FleetQueries.online(target, k.hostId));
        awaitRunning(List.of(k.hostId));
        return instances().get(k.hostId);
    }

    // ------------------------------------------------------------------ helpers

    private Path workerScript() throws IOException {
        Path script = dir.resolve("worker.py");
        Files.writeString(script, WORKER);
        return script;
    }

    /** The pool: instance i of the worker listens on {@code base + i}. */
    private ServiceDeclaration pool(Path script, int base) {
        return ServiceDeclaration.valid(ServiceSpec.builder(service, DriverKind.BUILTIN)
                .command(PYTHON, script.toString(), Integer.toString(base))
                .instances(POOL)
                .ports(List.of(base), 1)
                .version("1")
                .stopTimeout(Duration.ofSeconds(3))
                .startTimeout(Duration.ofSeconds(10))
                .build());
    }

    /** An agent in this JVM for {@code hostId} running {@code service} (its instances stop when it is closed). */
    private void startInJvmAgent(String hostId, ServiceDeclaration service) {
        AgentConfig config = AgentConfig.defaults(dir.resolve("agent-" + hostId)).withController(target)
                .withHostId(hostId).withLabels(Map.of("fleet", "crash"));
        config = new AgentConfig(config.controller(), config.hostId(), config.stateDir(), config.labels(),
                config.procRoot(), Duration.ofMillis(500), config.detailInterval(), Duration.ofMillis(500),
                Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofMillis(500), List.of(service));
        ControllerChannel channel = ControllerChannel.open(target);
        Agent agent = new Agent(config, channel.channel(), channel::resetConnectBackoff, InstantSource.system());
        agent.start();
        toClose.add(() -> {
            if (agent.services() != null) {
                agent.services().stopAll();
            }
            agent.close();
            channel.close();
        });
    }

    private static int freeBase() throws Exception {
        return MiniFleet.freePorts(POOL);
    }

    private void awaitRunning(List<String> hosts) {
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            Map<String, Map<Integer, InstanceView>> now = instances();
            return hosts.stream().allMatch(h -> now.containsKey(h) && now.get(h).size() == POOL
                    && now.get(h).values().stream().allMatch(i -> i.getBoundPortsCount() == 1));
        });
    }

    /** Running instances of the service by host and index, from {@code fleetkeeper services --json}. */
    private Map<String, Map<Integer, InstanceView>> instances() throws Exception {
        return FleetQueries.runningInstances(target, service);
    }

    private Rollout status(String id) throws Exception {
        return FleetQueries.rollout(target, id);
    }

    /** RELEASE_APPLIED events the agents reported, by "host#instance", for this service. */
    private Map<String, Integer> releasesApplied() throws Exception {
        Map<String, Integer> out = new HashMap<>();
        for (Event e : FleetQueries.events(target)) {
            if (e.getType() == EventType.EVENT_TYPE_SERVICE_INSTANCE
                    && "RELEASE_APPLIED".equals(e.getAttributesMap().get("kind"))
                    && service.equals(e.getAttributesMap().get("service"))) {
                out.merge(e.getHostId() + "#" + e.getAttributesMap().get("instance"), 1, Integer::sum);
            }
        }
        return out;
    }

    private static String rolloutId(String out) {
        return FleetQueries.rolloutId(out);
    }

    /** SIGKILL to every process started for this test's service (the built-in driver marks them in their environment). */
    private void killWorkers() {
        byte[] marker = ("FLEETKEEPER_SERVICE=" + service + "\0").getBytes(StandardCharsets.UTF_8);
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).forEach(p -> {
                try {
                    byte[] env = Files.readAllBytes(p.resolve("environ"));
                    if (indexOf(env, marker) >= 0) {
                        ProcessHandle.of(Long.parseLong(p.getFileName().toString()))
                                .ifPresent(ProcessHandle::destroyForcibly);
                    }
                } catch (IOException | RuntimeException gone) {
                    // Exited meanwhile, or not ours to read.
                }
            });
        } catch (IOException e) {
            // Nothing more to do.
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (i > 0 && haystack[i - 1] != 0) {
                continue;
            }
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
