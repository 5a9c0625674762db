package dev.fleetkeeper.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

/** One service entry of {@code agent.yaml}, read by the real loader, for the service-key tests. */
final class ServiceEntries {

    /** Where the file is said to come from, as errors name it. */
    static final String SOURCE = "/etc/fleetkeeper/agent.yaml";

    private ServiceEntries() {
    }

    /**
     * The only service of a file whose entry is {@code - name: NAME}, then {@code fixed}, then
     * {@code extra}, one key per line (so that line 3 is the first of {@code fixed}).
     */
    static ServiceDeclaration only(String name, List<String> fixed, String... extra) {
        StringBuilder yaml = new StringBuilder("services:\n  - name: " + name + "\n");
        for (String l : fixed) {
            yaml.append("    ").append(l).append('\n');
        }
        for (String l : extra) {
            yaml.append("    ").append(l).append('\n');
        }
        List<ServiceDeclaration> services = AgentConfigLoader.parse(SOURCE, yaml.toString()).services();
        assertThat(services).hasSize(1);
        return services.get(0);
    }
}
