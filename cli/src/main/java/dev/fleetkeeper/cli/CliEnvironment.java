package dev.fleetkeeper.cli;

import java.time.InstantSource;
import java.time.ZoneId;
import java.util.Map;
import java.util.Objects;

/**
 * What the CLI reads from the world besides its arguments: environment variables, the clock
 * and the time zone to display times in. Injected so that tests are deterministic. Immutable.
 *
 * @param variables environment variables ({@code FLEETKEEPER_CONTROLLER}, {@code COLUMNS})
 * @param clock the current time, for relative times ("3s ago") and {@code --since 10m}
 * @param zone the zone absolute times are shown in
 */
public record CliEnvironment(Map<String, String> variables, InstantSource clock, ZoneId zone) {
    /** Names the controller when {@code --controller} is not given. */
    public static final String CONTROLLER_VARIABLE = "FLEETKEEPER_CONTROLLER";
    /** Terminal width, exported by {@code bin/fleetkeeper}; 80 columns when unset. */
    public static final String COLUMNS_VARIABLE = "COLUMNS";

    private static final int DEFAULT_COLUMNS = 80;

    public CliEnvironment {
        variables = Map.copyOf(variables);
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(zone, "zone");
    }

    /** The real process environment, system clock and default zone. */
    public static CliEnvironment system() {
        return new CliEnvironment(System.getenv(), InstantSource.system(), ZoneId.systemDefault());
    }

    /** The value of a variable, or {@code null} when unset or blank. */
    public String variable(String name) {
        String value = variables.get(name);
        return value == null || value.isBlank() ? null : value.trim();
    }

    /** The terminal width from {@code COLUMNS}, or 80 when unset or not a positive number. */
    public int columns() {
        String value = variable(COLUMNS_VARIABLE);
        if (value != null) {
            try {
                int columns = Integer.parseInt(value);
                if (columns > 0) {
                    return columns;
                }
            } catch (NumberFormatException ignored) {
                // Not a number: fall back, as ps does.
            }
        }
        return DEFAULT_COLUMNS;
    }
}
