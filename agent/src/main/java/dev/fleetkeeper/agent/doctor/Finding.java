package dev.fleetkeeper.agent.doctor;

import java.util.List;
import java.util.Objects;

/**
 * A diagnosis of one service (or one instance): what is wrong, what was seen, why it matters
 * and what to do. Immutable.
 *
 * @param code        stable code
 * @param severity    how much it matters
 * @param service     the service name
 * @param instance    the instance index, -1 for the whole service
 * @param summary     one line: what is wrong, to what
 * @param explanation why it matters and what probably happened, for a tired operator
 * @param evidence    what was observed
 * @param remedy      what to do, automatic or by hand
 */
public record Finding(FindingCode code, Severity severity, String service, int instance, String summary,
                      String explanation, List<Evidence> evidence, Remedy remedy) {

    public Finding {
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(summary, "summary");
        Objects.requireNonNull(explanation, "explanation");
        evidence = List.copyOf(evidence);
        Objects.requireNonNull(remedy, "remedy");
    }

    /** A label and what was seen. */
    public record Evidence(String label, String value) {
        public Evidence {
            Objects.requireNonNull(label, "label");
            Objects.requireNonNull(value, "value");
        }
    }

    /**
     * What to do. {@code action} is what the agent would do itself when {@code automatic}
     * (null otherwise); {@code commands} are what a person would type.
     */
    public record Remedy(boolean automatic, String description, List<String> commands, RemedyAction action) {
        public Remedy {
            Objects.requireNonNull(description, "description");
            commands = List.copyOf(commands);
            if (automatic != (action != null)) {
                throw new IllegalArgumentException("an automatic remedy needs an action, a manual one none");
            }
        }

        /** A remedy for a person: words and commands. */
        public static Remedy manual(String description, String... commands) {
            return new Remedy(false, description, List.of(commands), null);
        }

        /** A remedy the agent may apply by itself. */
        public static Remedy automatic(String description, RemedyAction action, String... commands) {
            return new Remedy(true, description, List.of(commands), action);
        }
    }

    /** A stable key for "the same finding" across reconciliations: code, service, instance and subject. */
    public String key() {
        String subject = evidence.isEmpty() ? "" : evidence.get(0).value();
        return code + "/" + service + "/" + instance + "/" + subject;
    }
}
