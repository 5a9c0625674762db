package dev.fleetkeeper.agent.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.agent.service.ServiceEvent;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.Severity;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ServiceProtoMapperRecycleTest {

    @Test
    void recycled_isAnInstanceWarning_withItsEvidence() {
        Event e = ServiceProtoMapper.event(new ServiceEvent(1000, "worker", 2, ServiceEvent.Kind.RECYCLED,
                "recycled (FORECAST: ...), pid 10 -> 11", Map.of("trigger", "FORECAST", "rss_before", "73400320",
                "limit", "104857600", "forecast_ms", "4200", "pid_before", "10", "pid", "11")), "a-1");

        assertThat(e.getType()).isEqualTo(EventType.EVENT_TYPE_SERVICE_INSTANCE);
        assertThat(e.getSeverity()).isEqualTo(Severity.SEVERITY_WARNING);
        assertThat(e.getMessage()).startsWith("worker#2: recycled");
        assertThat(e.getAttributesMap()).containsEntry("kind", "RECYCLED").containsEntry("trigger", "FORECAST")
                .containsEntry("rss_before", "73400320").containsEntry("forecast_ms", "4200").containsEntry("pid", "11");
    }

    @Test
    void recycleFailed_isCritical() {
        Event e = ServiceProtoMapper.event(new ServiceEvent(1000, "worker", 0, ServiceEvent.Kind.RECYCLE_FAILED,
                "recycle (OVER_LIMIT) failed: ...", Map.of("error", "not running")), "a-2");

        assertThat(e.getType()).isEqualTo(EventType.EVENT_TYPE_SERVICE_INSTANCE);
        assertThat(e.getSeverity()).isEqualTo(Severity.SEVERITY_CRITICAL);
    }
}
