package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.output.Durations;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code --since}: an age ({@code 10m}, {@code 2h}) counted back from now, or a point in time
 * ({@code 2026-11-05T10:00:00Z}, or local: {@code 2026-11-05T10:00}, {@code 2026-11-05}).
 * Resolved against the injected clock and zone when the command runs. Immutable.
 */
final class Since {
    private final String text;
    private final Duration age;

    private Since(String text, Duration age) {
        this.text = text;
        this.age = age;
    }

    /**
     * Parses the argument; checks its shape now so that a typo is a usage error.
     *
     * @throws IllegalArgumentException saying what was expected
     */
    static Since parse(String text) {
        String s = text.trim();
        try {
            return new Since(s, Durations.parse(s));
        } catch (IllegalArgumentException notAnAge) {
            Since since = new Since(s, null);
            since.at(ZoneId.of("UTC")); // validates the time formats
            return since;
        }
    }

    /** The lower bound in milliseconds since the Unix epoch. */
    long resolve(InstantSource clock, ZoneId zone) {
        return age != null ? clock.instant().minus(age).toEpochMilli() : at(zone).toEpochMilli();
    }

    private Instant at(ZoneId zone) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            // Try the next format.
        }
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            // Try the next format.
        }
        try {
            return LocalDateTime.parse(text).atZone(zone).toInstant();
        } catch (DateTimeParseException e) {
            // Try the next format.
        }
        try {
            return LocalDate.parse(text).atStartOfDay(zone).toInstant();
        } catch (DateTimeParseException e) {
            throw invalid(text);
        }
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException("'" + text + "' (expected: an age such as 30s, 10m, 2h, 1d, "
                + "or a time such as 2026-11-05T10:00:00Z, 2026-11-05T10:00 or 2026-11-05 in local time)");
    }

    @Override
    public String toString() {
        return text;
    }

    /** picocli converter: a malformed value is a usage error. */
    static final class Converter implements ITypeConverter<Since> {
        @Override
        public Since convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
