package dev.fleetkeeper.agent.service.builtin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.service.ServiceSpec.BackoffSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.CrashLoopSpec;
import dev.fleetkeeper.agent.service.ServiceSpec.RestartPolicy;
import dev.fleetkeeper.agent.service.builtin.RestartPlanner.Decision;
import dev.fleetkeeper.agent.service.builtin.RestartPlanner.Exit;
import dev.fleetkeeper.agent.service.builtin.RestartPlanner.History;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class BuiltinRestartPlannerTest {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
    private static final BackoffSpec BACKOFF = new BackoffSpec(Duration.ofSeconds(1), Duration.ofSeconds(10),
            Duration.ofMinutes(5));
    private static final CrashLoopSpec NO_LOOP = new CrashLoopSpec(1000, Duration.ofMinutes(5));
    private static final Exit FAILED = new Exit(1, "");

    @Test
    void backoff_doublesPerConsecutiveCrash_upToTheMax() {
        RestartPlanner planner = new RestartPlanner(RestartPolicy.ALWAYS, BACKOFF, NO_LOOP);
        History h = History.EMPTY;
        Instant now = T0;
        List<Long> delays = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Decision.Restart r = (Decision.Restart) planner.onExit(h, FAILED, now, now.plusMillis(100));
            delays.add(r.delay().toMillis());
            h = r.next();
            now = now.plus(r.delay());
        }
        assertThat(delays).containsExactly(1000L, 2000L, 4000L, 8000L, 10000L, 10000L);
    }

    @Test
    void backoff_resetsAfterARunThatLastedResetAfter() {
        RestartPlanner planner = new RestartPlanner(RestartPolicy.ALWAYS, BACKOFF, NO_LOOP);
        History afterFourCrashes = new History(4, List.of());

        Decision shortRun = planner.onExit(afterFourCrashes, FAILED, T0, T0.plusSeconds(10));
        Decision longRun = planner.onExit(afterFourCrashes, FAILED, T0, T0.plus(Duration.ofMinutes(5)));

        assertThat(((Decision.Restart) shortRun).delay()).isEqualTo(Duration.ofSeconds(10));
        assertThat(((Decision.Restart) longRun).delay()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void crashLoop_givesUpAfterTheConfiguredRestartsWithinTheWindow_notOutsideIt() {
        RestartPlanner planner = new RestartPlanner(RestartPolicy.ALWAYS, BACKOFF,
                new CrashLoopSpec(3, Duration.ofMinutes(1)));
        History h = History.EMPTY;
        Instant now = T0;
        for (int i = 0; i < 3; i++) {
            Decision d = planner.onExit(h, FAILED, now, now.plusSeconds(1));
            assertThat(d).as("restart %d", i + 1).isInstanceOf(Decision.Restart.class);
            h = ((Decision.Restart) d).next();
            now = now.plusSeconds(5);
        }
        Decision fourth = planner.onExit(h, FAILED, now, now.plusSeconds(1));
        assertThat(fourth).isEqualTo(new Decision.GiveUp(3, Duration.ofMinutes(1)));

        // The same three restarts, but the fourth crash comes after the window has passed them by.
        Instant later = T0.plus(Duration.ofMinutes(2));
        assertThat(planner.onExit(h, FAILED, later, later.plusSeconds(1))).isInstanceOf(Decision.Restart.class);
    }

    @Test
    void policy_onFailureStaysDownAfterStatusZero_restartsAfterASignalOrAnUnknownStatus() {
        RestartPlanner planner = new RestartPlanner(RestartPolicy.ON_FAILURE, BACKOFF, NO_LOOP);

        assertThat(planner.onExit(History.EMPTY, new Exit(0, ""), T0, T0.plusSeconds(1)))
                .isInstanceOf(Decision.Stay.class);
        assertThat(planner.onExit(History.EMPTY, new Exit(-1, "KILL"), T0, T0.plusSeconds(1)))
                .isInstanceOf(Decision.Restart.class);
        assertThat(planner.onExit(History.EMPTY, Exit.UNKNOWN, T0, T0.plusSeconds(1)))
                .isInstanceOf(Decision.Restart.class);
    }

    @Test
    void policy_neverStaysDown_alwaysRestartsAfterStatusZero() {
        assertThat(new RestartPlanner(RestartPolicy.NEVER, BACKOFF, NO_LOOP)
                .onExit(History.EMPTY, FAILED, T0, T0.plusSeconds(1))).isInstanceOf(Decision.Stay.class);
        assertThat(new RestartPlanner(RestartPolicy.ALWAYS, BACKOFF, NO_LOOP)
                .onExit(History.EMPTY, new Exit(0, ""), T0, T0.plusSeconds(1))).isInstanceOf(Decision.Restart.class);
    }
}
