package dev.fleetkeeper.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent closed the way its main closes it (the agent, then its channel) leaves no gRPC
 * callback failing behind it: gRPC reports those as WARNINGs with a stack trace.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AgentShutdownTest {

    @TempDir
    Path dir;

    private MiniFleet fleet;
    private final List<LogRecord> grpcWarnings = new CopyOnWriteArrayList<>();
    // Held strongly: JUL keeps loggers weakly, and a collected logger loses its handler.
    private final Logger grpcLogger = Logger.getLogger("io.grpc");
    private final Handler recorder = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                grpcWarnings.add(r);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @AfterEach
    void stop() {
        grpcLogger.removeHandler(recorder);
        if (fleet != null) {
            fleet.close();
        }
    }

    @Test
    void agentClosedThenItsChannel_leavesNoFailingGrpcCallback() throws Exception {
        fleet = MiniFleet.start(dir, Duration.ofSeconds(2));
        MiniFleet.RunningAgent agent = fleet.startAgent("closing-host");
        await().atMost(Duration.ofSeconds(30)).until(() -> FleetQueries.online(fleet.target(), "closing-host"));
        grpcLogger.addHandler(recorder);

        fleet.stopAgent(agent);

        await().atMost(Duration.ofSeconds(15)).until(() -> !FleetQueries.online(fleet.target(), "closing-host"));
        assertThat(grpcWarnings).extracting(r -> r.getMessage() + ": " + r.getThrown()).isEmpty();
    }
}
