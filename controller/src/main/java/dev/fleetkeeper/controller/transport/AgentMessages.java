package dev.fleetkeeper.controller.transport;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.fleetkeeper.proto.v1.AgentMessage;
import dev.fleetkeeper.proto.v1.AgentServiceGrpc;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Lets {@code AgentService.Connect} answer bytes that are not an {@link AgentMessage} with a
 * status that says so. gRPC parses each request before any of our code runs, and a parse
 * failure there ends the call as {@code UNKNOWN: Application error processing RPC}, which tells
 * the sender nothing. So the service is bound with a request marshaller that never throws: it
 * turns unparseable bytes into a message carrying the parser's error in a reserved unknown
 * field, which {@link AgentServiceImpl} checks first. Stateless.
 */
final class AgentMessages {

    /** Highest protobuf field number; never a field of AgentMessage. */
    private static final int PARSE_ERROR_FIELD = 536_870_911;

    private AgentMessages() {
    }

    /** {@code service} with Connect's request marshaller replaced by the lenient one. */
    static ServerServiceDefinition bind(BindableService service) {
        ServerServiceDefinition bound = service.bindService();
        ServiceDescriptor original = bound.getServiceDescriptor();
        List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
                .setSchemaDescriptor(original.getSchemaDescriptor());
        for (ServerMethodDefinition<?, ?> method : bound.getMethods()) {
            ServerMethodDefinition<?, ?> m = method.getMethodDescriptor().getFullMethodName()
                    .equals(AgentServiceGrpc.getConnectMethod().getFullMethodName()) ? lenient(cast(method)) : method;
            methods.add(m);
            descriptor.addMethod(m.getMethodDescriptor());
        }
        // The builder checks that each method is the very descriptor the service descriptor lists.
        ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(descriptor.build());
        methods.forEach(out::addMethod);
        return out.build();
    }

    /** The parser's error when {@code message} stands for bytes that were not an AgentMessage. */
    static Optional<String> parseError(AgentMessage message) {
        UnknownFieldSet.Field f = message.getUnknownFields().getField(PARSE_ERROR_FIELD);
        if (f == null || f.getLengthDelimitedList().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(f.getLengthDelimitedList().get(0).toStringUtf8());
    }

    @SuppressWarnings("unchecked")
    private static <Q> ServerMethodDefinition<AgentMessage, Q> cast(ServerMethodDefinition<?, ?> m) {
        return (ServerMethodDefinition<AgentMessage, Q>) m;
    }

    private static <Q> ServerMethodDefinition<AgentMessage, Q> lenient(ServerMethodDefinition<AgentMessage, Q> m) {
        return ServerMethodDefinition.create(m.getMethodDescriptor().toBuilder()
                .setRequestMarshaller(new Lenient(m.getMethodDescriptor().getRequestMarshaller())).build(),
                m.getServerCallHandler());
    }

    /** Parses with the generated marshaller, but returns a marked message instead of throwing. */
    private static final class Lenient implements MethodDescriptor.Marshaller<AgentMessage> {
        private final MethodDescriptor.Marshaller<AgentMessage> strict;

        Lenient(MethodDescriptor.Marshaller<AgentMessage> strict) {
            this.strict = strict;
        }

        @Override
        public InputStream stream(AgentMessage value) {
            return strict.stream(value);
        }

        @Override
        public AgentMessage parse(InputStream stream) {
            try {
                return strict.parse(stream);
            } catch (StatusRuntimeException e) {
                // The generated marshaller's "Invalid protobuf byte sequence", caused by the parser's error.
                String why = e.getCause() != null ? e.getCause().getMessage() : e.getStatus().getDescription();
                return AgentMessage.newBuilder().setUnknownFields(UnknownFieldSet.newBuilder()
                        .addField(PARSE_ERROR_FIELD, UnknownFieldSet.Field.newBuilder()
                                .addLengthDelimited(ByteString.copyFromUtf8(String.valueOf(why))).build())
                        .build()).build();
            }
        }
    }
}
