package dev.fleetkeeper.cli.output;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;

/**
 * The CLI's machine output: API messages in the proto3 JSON mapping, with the field names of
 * the {@code .proto} files (snake_case) and every field present, zero values included, so that
 * scripts see a stable shape. Enums print as their names, 64-bit integers as strings (the
 * mapping's rule). The schema is {@code fleetkeeper/v1/admin.proto}, which only ever grows.
 * Thread-safe.
 */
public final class Json {
    private static final JsonFormat.Printer PRETTY =
            JsonFormat.printer().preservingProtoFieldNames().alwaysPrintFieldsWithNoPresence();
    private static final JsonFormat.Printer COMPACT = PRETTY.omittingInsignificantWhitespace();

    private Json() {}

    /** A message as an indented JSON document. */
    public static String document(MessageOrBuilder message) {
        return print(PRETTY, message);
    }

    /** A message as one line of JSON, for JSON Lines streams. */
    public static String line(MessageOrBuilder message) {
        return print(COMPACT, message);
    }

    private static String print(JsonFormat.Printer printer, MessageOrBuilder message) {
        try {
            return printer.print(message);
        } catch (InvalidProtocolBufferException e) {
            // Only messages holding an Any of an unknown type fail; the admin API has none.
            throw new IllegalStateException("cannot print " + message.getClass().getSimpleName() + " as JSON", e);
        }
    }
}
