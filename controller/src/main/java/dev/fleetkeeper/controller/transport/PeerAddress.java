package dev.fleetkeeper.controller.transport;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.SocketAddress;

/** Puts the caller's remote address into the gRPC context, for logs. Stateless. */
final class PeerAddress implements ServerInterceptor {

    static final Context.Key<String> KEY = Context.key("fleetkeeper-peer");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                      ServerCallHandler<Q, R> next) {
        SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        return Contexts.interceptCall(Context.current().withValue(KEY, remote == null ? "?" : remote.toString()),
                call, headers, next);
    }

    static String current() {
        String peer = KEY.get();
        return peer == null ? "?" : peer;
    }
}
