package dev.fleetkeeper.controller.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Collectors;

/**
 * Reads {@code controller.yaml} into a {@link ControllerConfig}. Unknown keys, wrong types and
 * bad values fail with a {@link ConfigException} naming the file, line and key. Stateless.
 */
public final class ControllerConfigLoader {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    private ControllerConfigLoader() {
    }

    /** Loads {@code file}; keys it does not set take their defaults. */
    public static ControllerConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": no such file (pass --config with the path of controller.yaml, "
                    + "or see deploy/conf/controller.yaml.example)");
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(file.toString(), text);
    }

    /** Parses YAML {@code text}; {@code source} names it in errors. */
    public static ControllerConfig parse(String source, String text) {
        Raw raw;
        try {
            raw = text.isBlank() ? null : YAML.readValue(text, Raw.class);
        } catch (UnrecognizedPropertyException e) {
            // Jackson reports an unknown key of a record at the end of its enclosing mapping
            // (it buffers unknown keys), so the line is looked up by the key's path instead.
            throw new ConfigException(where(source, lineOf(text, path(e))) + "unknown key '" + path(e)
                    + "' (known keys here: " + e.getKnownPropertyIds().stream().map(Object::toString).sorted()
                    .collect(Collectors.joining(", ")) + ")", e);
        } catch (JsonMappingException e) {
            throw new ConfigException(where(source, e.getLocation()) + "key '" + path(e) + "': "
                    + e.getOriginalMessage(), e);
        } catch (JsonProcessingException e) {
            throw new ConfigException(where(source, e.getLocation()) + "not valid YAML: " + e.getOriginalMessage(), e);
        }
        ControllerConfig d = ControllerConfig.defaults(Path.of("/var/lib/fleetkeeper"));
        if (raw == null) {
            return d;
        }
        RawRetention retention = raw.retention() == null ? new RawRetention(null, null) : raw.retention();
        RawStore store = raw.store() == null ? new RawStore(null) : raw.store();
        RawMetrics metrics = raw.metrics() == null ? new RawMetrics(null) : raw.metrics();
        try {
            return new ControllerConfig(
                    or(raw.listen(), d.listen()),
                    raw.dataDir() == null ? d.dataDir() : Path.of(raw.dataDir()),
                    or(raw.offlineGrace(), d.offlineGrace()),
                    or(raw.scanInterval(), d.scanInterval()),
                    or(raw.detailInterval(), d.detailInterval()),
                    or(raw.heartbeatInterval(), d.heartbeatInterval()),
                    or(raw.checkpointInterval(), d.checkpointInterval()),
                    or(raw.memoryResolution(), d.memoryResolution()),
                    or(retention.memory(), d.memoryRetention()),
                    or(retention.events(), d.eventRetention()),
                    or(store.sync(), d.syncWrites()),
                    or(metrics.listen(), d.metricsListen()));
        } catch (IllegalArgumentException e) {
            // Validation messages start with the key they are about ("offlineGrace: 5s (...)").
            String message = e.getMessage();
            int colon = message.indexOf(':');
            int line = colon > 0 ? lineOf(text, message.substring(0, colon)) : 0;
            throw new ConfigException(where(source, line) + message, e);
        }
    }

    private static <T> T or(T value, T fallback) {
        return value == null ? fallback : value;
    }

    private static String where(String source, JsonLocation location) {
        return location == null ? source + ": " : source + ":" + location.getLineNr() + ": ";
    }

    private static String where(String source, int line) {
        return line > 0 ? source + ":" + line + ": " : source + ": ";
    }

    /** The 1-based line of the key at dotted {@code path} in {@code text}, or 0 when it is not set there. */
    static int lineOf(String text, String path) {
        String pointer = "/" + path.replace('.', '/');
        try (JsonParser p = YAML.getFactory().createParser(text)) {
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (t == JsonToken.FIELD_NAME && p.getParsingContext().pathAsPointer().toString().equals(pointer)) {
                    return p.currentTokenLocation().getLineNr();
                }
            }
        } catch (IOException e) {
            // Not parseable that far: no line to name.
        }
        return 0;
    }

    private static String path(JsonMappingException e) {
        return e.getPath().stream()
                .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
    }

    private record Raw(String listen, String dataDir,
                       @JsonDeserialize(using = DurationText.class) Duration offlineGrace,
                       @JsonDeserialize(using = DurationText.class) Duration scanInterval,
                       @JsonDeserialize(using = DurationText.class) Duration detailInterval,
                       @JsonDeserialize(using = DurationText.class) Duration heartbeatInterval,
                       @JsonDeserialize(using = DurationText.class) Duration checkpointInterval,
                       @JsonDeserialize(using = DurationText.class) Duration memoryResolution,
                       RawRetention retention, RawStore store, RawMetrics metrics) {
    }

    private record RawRetention(@JsonDeserialize(using = DurationText.class) Duration memory,
                                @JsonDeserialize(using = DurationText.class) Duration events) {
    }

    private record RawStore(Boolean sync) {
    }

    private record RawMetrics(String listen) {
    }

    /** Durations written as text (30s, 5m): errors carry the parser's location. */
    static final class DurationText extends JsonDeserializer<Duration> {
        @Override
        public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            String text = p.getValueAsString();
            if (text == null) {
                throw JsonMappingException.from(p, "expected a duration such as 30s, got " + p.currentToken());
            }
            try {
                return Durations.parse(text);
            } catch (IllegalArgumentException e) {
                throw JsonMappingException.from(p, e.getMessage());
            }
        }
    }
}
