package dev.fleetkeeper.controller.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.controller.fleet.AgentAction;
import dev.fleetkeeper.controller.rollout.Release;
import dev.fleetkeeper.proto.v1.Action;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** An ApplyRelease action as the agent receives it: a release in full, or back to the declared spec. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ApplyReleaseActionTest {

    @Test
    void aRelease_travelsInFull_andBackToTheDeclaredSpec_travelsAsToDeclared() {
        Release custom = new Release("41", "/opt/worker", List.of("--fast"), true, Map.of("QUEUE", "fast"), true,
                "http:/healthz");

        Action forward = GrpcAgentSession.action("a-1", 5, new AgentAction.ApplyRelease("worker", 1, custom, false,
                "ro-1"));
        Action back = GrpcAgentSession.action("a-2", 6, new AgentAction.ApplyRelease("worker", 1,
                Release.ofVersion("40").withSwitchCurrent(true), true, "ro-1"));

        assertThat(forward.getApplyRelease().getToDeclared()).isFalse();
        assertThat(forward.getApplyRelease().getRelease().getCommand()).isEqualTo("/opt/worker");
        assertThat(forward.getApplyRelease().getRelease().getEnvMap()).containsEntry("QUEUE", "fast");
        assertThat(forward.getApplyRelease().getRelease().getSwitchCurrent()).isTrue();
        assertThat(forward.getApplyRelease().getRelease().getProbe()).isEqualTo("http:/healthz");
        assertThat(back.getApplyRelease().getToDeclared()).isTrue();
        assertThat(back.getApplyRelease().getRelease().getVersion()).isEqualTo("40");
        assertThat(back.getApplyRelease().getRelease().getSwitchCurrent()).isTrue();
        assertThat(back.getApplyRelease().getRolloutId()).isEqualTo("ro-1");
    }
}
