package dev.fleetkeeper.agent.transport;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The agent's gRPC channel to the controller: one Netty event-loop thread (the agent must stay
 * small), keep-alives so that a vanished controller is noticed, plaintext. Owns the channel
 * and its event loop and closes both.
 */
public final class ControllerChannel implements AutoCloseable {

    private final EventLoopGroup group;
    private final ManagedChannel channel;
    private final String target;

    private ControllerChannel(EventLoopGroup group, ManagedChannel channel, String target) {
        this.group = group;
        this.channel = channel;
        this.target = target;
    }

    /** Creates a channel to {@code target} ({@code host:port}). Connects lazily. */
    public static ControllerChannel open(String target) {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("fleetkeeper-agent-net", true),
                NioIoHandler.newFactory());
        ManagedChannel channel = NettyChannelBuilder.forTarget(target)
                .usePlaintext()
                .eventLoopGroup(group)
                .channelType(NioSocketChannel.class)
                .directExecutor()
                .keepAliveTime(20, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true)
                .maxInboundMessageSize(16 * 1024 * 1024)
                .build();
        return new ControllerChannel(group, channel, target);
    }

    public Channel channel() {
        return channel;
    }

    public String target() {
        return target;
    }

    /** Lets the next call try to connect at once instead of waiting out the channel's backoff. */
    public void resetConnectBackoff() {
        channel.resetConnectBackoff();
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
