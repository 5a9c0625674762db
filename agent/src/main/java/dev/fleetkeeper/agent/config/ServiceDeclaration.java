package dev.fleetkeeper.agent.config;

import dev.fleetkeeper.agent.service.ServiceSpec;
import java.util.Objects;

/**
 * One entry of the config's {@code services} list: a usable spec, or the error that makes it
 * unusable. A bad service never stops the agent: it is reported (finding SPEC_INVALID) and
 * every other service is managed as usual.
 *
 * @param name  the service's name, or "services[i]" when it has none
 * @param spec  the spec, null when {@code error} is set
 * @param error what is wrong, with file, line and key; null when {@code spec} is set
 */
public record ServiceDeclaration(String name, ServiceSpec spec, String error) {
    public ServiceDeclaration {
        Objects.requireNonNull(name, "name");
        if ((spec == null) == (error == null)) {
            throw new IllegalArgumentException("exactly one of spec and error");
        }
    }

    public static ServiceDeclaration valid(ServiceSpec spec) {
        return new ServiceDeclaration(spec.name(), spec, null);
    }

    public static ServiceDeclaration invalid(String name, String error) {
        return new ServiceDeclaration(name, null, error);
    }

    public boolean isValid() {
        return spec != null;
    }
}
