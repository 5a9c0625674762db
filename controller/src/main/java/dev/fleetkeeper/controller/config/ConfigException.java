package dev.fleetkeeper.controller.config;

/**
 * A config file that cannot be used: the message names the file, the line and the key, and
 * says what is expected.
 */
public final class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
