package dev.fleetkeeper.agent.service.supervisor;

import dev.fleetkeeper.agent.service.DriverException;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Calls supervisord's XML-RPC interface ({@code POST /RPC2}) over its unix socket or inet port,
 * one connection per call. Thread-safe; the event loop belongs to whoever passed it in.
 *
 * <p>One connection per call keeps the client free of connection state: supervisord's calls
 * are rare (an operation, a status poll), and a call that waits on supervisord (a stop waits up
 * to the stop timeout) then never delays another.
 */
final class SupervisorRpc {

    /** Responses larger than this are refused; a tail asks for far less. */
    private static final int MAX_RESPONSE_BYTES = 16 << 20;

    private final Endpoint endpoint;
    private final EventLoopGroup group;
    private final Duration connectTimeout;

    SupervisorRpc(Endpoint endpoint, EventLoopGroup group, Duration connectTimeout) {
        this.endpoint = endpoint;
        this.group = group;
        this.connectTimeout = connectTimeout;
    }

    Endpoint endpoint() {
        return endpoint;
    }

    /**
     * Where supervisord listens and how to log in: {@code unix:///path/to/supervisor.sock} or
     * {@code http://host:port} (path {@code /RPC2} unless the URL names one).
     */
    record Endpoint(String url, String username, String password) {

        boolean isUnix() {
            return url.startsWith("unix://");
        }

        Path socketPath() {
            return Path.of(url.substring("unix://".length()));
        }

        SocketAddress address() {
            if (isUnix()) {
                return UnixDomainSocketAddress.of(socketPath());
            }
            URI uri = URI.create(url);
            if (uri.getHost() == null || uri.getPort() < 0) {
                throw new DriverException("supervisor.url '" + url + "': expected http://host:port, e.g. http://127.0.0.1:9001");
            }
            return new InetSocketAddress(uri.getHost(), uri.getPort());
        }

        String requestPath() {
            if (isUnix()) {
                return "/RPC2";
            }
            String p = URI.create(url).getRawPath();
            return p == null || p.isEmpty() || p.equals("/") ? "/RPC2" : p;
        }

        String hostHeader() {
            return isUnix() ? "localhost" : URI.create(url).getRawAuthority();
        }

        /** What an operator should check when supervisord cannot be reached here. */
        String checkHint() {
            if (isUnix()) {
                return "Is supervisord running (supervisorctl status, systemctl status supervisor)? Does the file= of"
                        + " its [unix_http_server] section name " + socketPath() + ", and may this agent's user ("
                        + System.getProperty("user.name") + ") read and write the socket (chmod=/chown= there)?";
            }
            return "Is supervisord running (supervisorctl status, systemctl status supervisor), with an"
                    + " [inet_http_server] section whose port= is " + hostHeader() + "?";
        }
    }

    /**
     * Calls {@code method}, waiting up to {@code timeout} for the answer. Throws
     * {@link XmlRpc.Fault} for supervisord's refusal, {@link DriverException} (unreachable) when
     * supervisord cannot be reached, does not answer in time, or refuses the credentials.
     */
    Object call(Duration timeout, String method, Object... params) {
        byte[] body = XmlRpc.encodeCall(method, Arrays.asList(params));
        String what = method + describeParams(params);
        SocketAddress address;
        if (endpoint.isUnix() && !Files.exists(endpoint.socketPath())) {
            throw DriverException.unreachable("cannot reach supervisord at " + endpoint.url() + " for " + what
                    + ": the socket " + endpoint.socketPath() + " does not exist. " + endpoint.checkHint(), null);
        }
        address = endpoint.address();

        CompletableFuture<FullHttpResponseData> answer = new CompletableFuture<>();
        Bootstrap b = new Bootstrap()
                .group(group)
                .channel(endpoint.isUnix() ? NioDomainSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(MAX_RESPONSE_BYTES),
                                new ResponseHandler(answer));
                    }
                });
        ChannelFuture connect = b.connect(address);
        Channel channel = connect.channel();
        try {
            if (!connect.awaitUninterruptibly(connectTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS)) {
                throw DriverException.unreachable("cannot reach supervisord at " + endpoint.url() + " for " + what
                        + ": no connection within " + connectTimeout.toMillis() + " ms. " + endpoint.checkHint(), null);
            }
            if (!connect.isSuccess()) {
                Throwable cause = connect.cause();
                throw DriverException.unreachable("cannot reach supervisord at " + endpoint.url() + " for " + what
                        + ": " + describe(cause) + ". " + endpoint.checkHint(), cause);
            }
            channel.writeAndFlush(request(body));
            FullHttpResponseData response;
            try {
                response = answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw DriverException.unreachable("supervisord at " + endpoint.url() + " did not answer " + what
                        + " within " + timeout.toSeconds() + " s. It may be stuck or overloaded: check its log"
                        + " (logfile= in [supervisord]) and supervisorctl status.", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DriverException("interrupted while waiting for supervisord at " + endpoint.url()
                        + " to answer " + what, e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                throw DriverException.unreachable("supervisord at " + endpoint.url() + " dropped the connection during "
                        + what + ": " + describe(cause) + ". Check its log (logfile= in [supervisord]).", cause);
            }
            return decode(response, what);
        } finally {
            channel.close();
        }
    }

    private Object decode(FullHttpResponseData response, String what) {
        int status = response.status().code();
        if (status == HttpResponseStatus.UNAUTHORIZED.code()) {
            throw DriverException.unreachable("supervisord at " + endpoint.url() + " refused "
                    + (endpoint.username().isEmpty() ? "a request without credentials" : "the credentials of user '"
                    + endpoint.username() + "'") + " (HTTP 401) for " + what + ": set supervisor.username and"
                    + " supervisor.password in agent.yaml to the username= and password= of supervisord's "
                    + (endpoint.isUnix() ? "[unix_http_server]" : "[inet_http_server]") + " section.", null);
        }
        if (status != HttpResponseStatus.OK.code()) {
            throw DriverException.unreachable("supervisord at " + endpoint.url() + " answered HTTP " + response.status()
                    + " to " + what + " on " + endpoint.requestPath() + ": is this supervisord, and does its config"
                    + " have an [rpcinterface:supervisor] section?", null);
        }
        try {
            return XmlRpc.decodeResponse(response.body());
        } catch (XmlRpc.MalformedResponse e) {
            throw new DriverException("supervisord at " + endpoint.url() + " sent an answer to " + what
                    + " that is not XML-RPC (" + e.getMessage() + "): is this supervisord's XML-RPC interface?", e);
        }
    }

    private FullHttpRequest request(byte[] body) {
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, endpoint.requestPath(),
                Unpooled.wrappedBuffer(body));
        req.headers()
                .set(HttpHeaderNames.HOST, endpoint.hostHeader())
                .set(HttpHeaderNames.CONTENT_TYPE, "text/xml")
                .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        if (!endpoint.username().isEmpty()) {
            String token = endpoint.username() + ":" + endpoint.password();
            req.headers().set(HttpHeaderNames.AUTHORIZATION,
                    "Basic " + Base64.getEncoder().encodeToString(token.getBytes(StandardCharsets.UTF_8)));
        }
        return req;
    }

    private static String describeParams(Object[] params) {
        if (params.length == 0) {
            return "()";
        }
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < params.length; i++) {
            if (i > 0) {
                b.append(", ");
            }
            b.append(params[i] instanceof String s ? "'" + s + "'" : String.valueOf(params[i]));
        }
        return b.append(')').toString();
    }

    private static String describe(Throwable t) {
        if (t == null) {
            return "unknown error";
        }
        if (t instanceof ClosedChannelException) {
            return "connection closed before an answer";
        }
        String m = t.getMessage();
        return m == null || m.isEmpty() ? t.getClass().getSimpleName() : m;
    }

    /** The parts of a response the decoder needs, copied off Netty's buffers. */
    private record FullHttpResponseData(HttpResponseStatus status, byte[] body) {
    }

    /** Completes the call's future with the one aggregated response, or with what went wrong. */
    private static final class ResponseHandler extends SimpleChannelInboundHandler<FullHttpResponse> {
        private final CompletableFuture<FullHttpResponseData> answer;

        ResponseHandler(CompletableFuture<FullHttpResponseData> answer) {
            this.answer = answer;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse msg) {
            answer.complete(new FullHttpResponseData(msg.status(), ByteBufUtil.getBytes(msg.content())));
            ctx.close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            answer.completeExceptionally(cause);
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            answer.completeExceptionally(new ClosedChannelException());
        }
    }
}
