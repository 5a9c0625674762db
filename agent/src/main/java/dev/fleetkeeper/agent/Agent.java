package dev.fleetkeeper.agent;

import dev.fleetkeeper.agent.action.AppliedActions;
import dev.fleetkeeper.agent.config.AgentConfig;
import dev.fleetkeeper.agent.doctor.HostFacts;
import dev.fleetkeeper.agent.identity.HostIdentity;
import dev.fleetkeeper.agent.manage.DriverFactory;
import dev.fleetkeeper.agent.manage.ServiceManager;
import dev.fleetkeeper.agent.manage.StandardDrivers;
import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.agent.telemetry.HostScan;
import dev.fleetkeeper.agent.telemetry.ProcScanner;
import dev.fleetkeeper.agent.transport.Backoff;
import dev.fleetkeeper.agent.transport.ControllerLink;
import dev.fleetkeeper.agent.transport.LinkIdentity;
import dev.fleetkeeper.agent.transport.LinkListener;
import dev.fleetkeeper.agent.transport.Sampling;
import dev.fleetkeeper.agent.transport.ServiceProtoMapper;
import io.grpc.Channel;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent: scans {@code /proc} on a schedule and streams the result to the controller
 * through a {@link ControllerLink}; runs the declared services through a
 * {@link ServiceManager} (which has its own threads) when the config declares any. Scanning and
 * the link run on one named loop thread ({@code fleetkeeper-agent-loop}), so their parts need
 * no locks.
 *
 * <p>Lifecycle: {@link #start()} once, {@link #close()} (idempotent). Does not own the
 * {@link Channel} it is given.
 */
public final class Agent implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Agent.class);

    private final AgentConfig config;
    private final Channel channel;
    private final Runnable resetConnectBackoff;
    private final String target;
    private final InstantSource clock;
    private final Path machineIdFile;
    private final DriverFactory drivers;
    private ServiceManager services;
    private final AtomicLong eventIds = new AtomicLong();

    private ScheduledExecutorService loop;
    private ProcScanner scanner;
    private ControllerLink link;
    private ScheduledFuture<?> scanTask;
    private Duration scanInterval;
    private String hostId;
    private volatile HostScan lastScan;
    private final AtomicLong taskFailures = new AtomicLong();
    private boolean closed;

    public Agent(AgentConfig config, Channel channel, Runnable resetConnectBackoff, InstantSource clock) {
        this(config, channel, resetConnectBackoff, clock, Path.of("/etc/machine-id"),
                new StandardDrivers(config.stateDir(), config.procRoot(), clock));
    }

    Agent(AgentConfig config, Channel channel, Runnable resetConnectBackoff, InstantSource clock,
          Path machineIdFile, DriverFactory drivers) {
        this.config = config;
        this.channel = channel;
        this.resetConnectBackoff = resetConnectBackoff;
        this.target = config.controller();
        this.clock = clock;
        this.machineIdFile = machineIdFile;
        this.drivers = drivers;
    }

    /** Version of this agent build ("dev" when not run from a packaged jar). */
    public static String version() {
        String v = Agent.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** Resolves the host id, opens local state, and starts scanning and streaming. */
    public synchronized void start() {
        if (loop != null) {
            throw new IllegalStateException("agent already started");
        }
        hostId = HostIdentity.resolve(config.hostId(), config.stateDir(), machineIdFile);
        AppliedActions applied = AppliedActions.open(config.stateDir(), 1024);
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "fleetkeeper-agent-loop");
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
        loop = executor;
        scanner = new ProcScanner(config.procRoot(), clock, config.detailInterval());
        LinkIdentity identity = new LinkIdentity(hostId, config.labels(), version(), scanner.hostInfo(),
                applied.recent(64));
        link = new ControllerLink(channel, resetConnectBackoff, target, loop, clock, identity,
                new Backoff(config.reconnectInitialBackoff(), config.reconnectMaxBackoff(),
                        () -> ThreadLocalRandom.current().nextDouble()),
                config.heartbeatInterval(), applied, new LinkListener() {
                    @Override
                    public void onWelcome(Sampling sampling) {
                        if (sampling.scanInterval() != null && !sampling.scanInterval().equals(scanInterval)) {
                            log.info("Controller asks for a scan every {} ms", sampling.scanInterval().toMillis());
                            scheduleScans(sampling.scanInterval());
                        }
                    }

                    @Override
                    public void onDisconnected(String reason) {
                        // The link reconnects by itself; scanning goes on.
                    }
                });
        if (!config.services().isEmpty()) {
            long agentStart = clock.millis();
            ServiceEvent.Sink sink = e -> link.enqueueEventFromAnyThread(
                    ServiceProtoMapper.event(e, "svc-" + agentStart + "-" + eventIds.incrementAndGet()));
            services = new ServiceManager(config.services(), drivers, new HostFacts(config.procRoot()),
                    this::lastScan, clock, config.reconcileInterval(), hostId, sink, link::publishServices,
                    config.stateDir().resolve("baselines"), config.stateDir().resolve("releases"));
            scanner.setDetailEveryScan(services::isManaged);
            link.setCommandHandler(services::execute);
        }
        log.info("Fleetkeeper agent {} starting as host {}: {}", version(), hostId, config.describe());
        loop.execute(guarded("first scan", () -> {
            scheduleScans(config.scanInterval());
            link.start();
        }));
        if (services != null) {
            services.start();
        }
    }

    public String hostId() {
        return hostId;
    }

    /** The newest scan, or null before the first one. Any thread. */
    public HostScan lastScan() {
        return lastScan;
    }

    /** The service manager, or null when the config declares no services. */
    public ServiceManager services() {
        return services;
    }

    /** The link, for tests and the bench. */
    public ControllerLink link() {
        return link;
    }

    /** Loop tasks that threw (each is logged). */
    public long taskFailures() {
        return taskFailures.get();
    }

    private void scheduleScans(Duration interval) {
        if (scanTask != null) {
            scanTask.cancel(false);
        }
        scanInterval = interval;
        scanTask = loop.scheduleAtFixedRate(guarded("scan", this::scanOnce), 0, interval.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    private void scanOnce() {
        HostScan scan = scanner.scan();
        lastScan = scan;
        link.publish(scan);
    }

    /** Wraps a loop task so that a failure is logged and counted, and periodic tasks go on. */
    private Runnable guarded(String what, Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                taskFailures.incrementAndGet();
                log.error("Agent task '{}' failed; it will run again on schedule", what, e);
            }
        };
    }

    @Override
    public synchronized void close() {
        if (closed || loop == null) {
            closed = true;
            return;
        }
        closed = true;
        if (services != null) {
            // First: its commands and events go through the link.
            services.close();
        }
        link.close();
        loop.shutdownNow();
        try {
            if (!loop.awaitTermination(5, TimeUnit.SECONDS)) {
                log.warn("Agent loop did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // After the loop: the scanner holds /proc/PID/stat files open between scans.
        scanner.close();
        log.info("Fleetkeeper agent stopped");
    }
}
