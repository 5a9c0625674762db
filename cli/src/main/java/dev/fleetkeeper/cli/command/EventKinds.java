package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.proto.v1.EventType;
import dev.fleetkeeper.proto.v1.Severity;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Event types and severities as people type and read them: {@code process-exited}, {@code warning}. Stateless. */
final class EventKinds {
    private static final String TYPE_PREFIX = "EVENT_TYPE_";
    private static final String SEVERITY_PREFIX = "SEVERITY_";

    private EventKinds() {}

    /** {@code EVENT_TYPE_PROCESS_EXITED} → {@code process-exited}; {@code -} when unset or unknown. */
    static String typeName(EventType type) {
        if (type == EventType.EVENT_TYPE_UNSPECIFIED || type == EventType.UNRECOGNIZED) {
            return "-";
        }
        return type.name().substring(TYPE_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** {@code SEVERITY_WARNING} → {@code warning}. */
    static String severityName(Severity severity) {
        if (severity == Severity.SEVERITY_UNSPECIFIED || severity == Severity.UNRECOGNIZED) {
            return "-";
        }
        return severity.name().substring(SEVERITY_PREFIX.length()).toLowerCase(Locale.ROOT);
    }

    /** Every type a user may ask for, by name. */
    static List<String> typeNames() {
        return Arrays.stream(EventType.values())
                .filter(t -> t != EventType.EVENT_TYPE_UNSPECIFIED && t != EventType.UNRECOGNIZED)
                .map(EventKinds::typeName)
                .collect(Collectors.toList());
    }

    /** Accepts {@code process-exited}, {@code PROCESS_EXITED} or {@code EVENT_TYPE_PROCESS_EXITED}. */
    static final class TypeConverter implements ITypeConverter<EventType> {
        @Override
        public EventType convert(String value) {
            String name = value.trim().toUpperCase(Locale.ROOT).replace('-', '_');
            if (!name.startsWith(TYPE_PREFIX)) {
                name = TYPE_PREFIX + name;
            }
            try {
                EventType type = EventType.valueOf(name);
                if (type != EventType.EVENT_TYPE_UNSPECIFIED && type != EventType.UNRECOGNIZED) {
                    return type;
                }
            } catch (IllegalArgumentException e) {
                // Fall through to the message listing what is accepted.
            }
            throw new TypeConversionException(
                    "'" + value + "' is not an event type (expected: " + String.join(", ", typeNames()) + ")");
        }
    }
}
