package dev.fleetkeeper.cli;

import dev.fleetkeeper.cli.output.Durations;
import dev.fleetkeeper.cli.transport.ControllerAddress;
import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * picocli converters for the CLI's own argument types; a bad value becomes a usage error (exit
 * 2) that says what was expected. Stateless.
 */
public final class Converters {
    private Converters() {}

    /** {@code HOST:PORT}. */
    public static final class Address implements ITypeConverter<ControllerAddress> {
        @Override
        public ControllerAddress convert(String value) {
            try {
                return ControllerAddress.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** A duration greater than zero: {@code 10s}, {@code 500ms}. */
    public static final class PositiveDuration implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            Duration d;
            try {
                d = Durations.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
            if (d.isZero()) {
                throw new TypeConversionException("'" + value + "' (expected: a duration greater than 0, e.g. 10s)");
            }
            return d;
        }
    }
}
