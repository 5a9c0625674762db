package dev.fleetkeeper.agent.probe;

import java.io.IOException;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Runs one probe against an instance's ports on loopback, blocking for at most the timeout per
 * connection: IPv4 first, then IPv6 when 127.0.0.1 refuses (a service bound to ::1 only).
 * HTTP goes through the JDK's {@link HttpURLConnection}, never a proxy, without following
 * redirects. Stateless; thread-safe.
 */
public final class Prober {

    /** 127.0.0.1, then ::1 for a service bound to IPv6 loopback only. */
    private static final List<InetAddress> LOOPBACKS = List.of(address(new byte[] {127, 0, 0, 1}),
            address(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));

    private final int timeoutMillis;

    /** A prober whose connections and reads give up after {@code timeout}. */
    public Prober(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
        }
        this.timeoutMillis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    }

    /** What one run found. */
    public record Outcome(boolean ok, String detail) {
        public Outcome {
            Objects.requireNonNull(detail, "detail");
        }
    }

    /** Probes an instance that is declared to listen on {@code ports}. */
    public Outcome run(ProbeSpec probe, List<Integer> ports) {
        if (ports.isEmpty()) {
            return new Outcome(false, "no port declared to probe");
        }
        return probe.kind() == ProbeSpec.Kind.TCP ? tcp(ports) : http(probe.path(), ports.get(0));
    }

    private Outcome tcp(List<Integer> ports) {
        List<String> ok = new ArrayList<>();
        for (int port : ports) {
            String failure = null;
            for (InetAddress a : LOOPBACKS) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(a, port), timeoutMillis);
                    failure = null;
                    break;
                } catch (IOException e) {
                    failure = failure == null ? describe(e, port) : failure;
                    if (!(e instanceof ConnectException)) {
                        break; // a timeout on IPv4 is not worth another one on IPv6
                    }
                }
            }
            if (failure != null) {
                return new Outcome(false, failure);
            }
            ok.add(":" + port);
        }
        return new Outcome(true, "accepts connections on " + String.join(", ", ok));
    }

    private Outcome http(String path, int port) {
        String where = ":" + port + path;
        String failure = null;
        for (InetAddress a : LOOPBACKS) {
            String host = a.getAddress().length == 4 ? a.getHostAddress() : "[" + a.getHostAddress() + "]";
            HttpURLConnection c = null;
            try {
                c = (HttpURLConnection) URI.create("http://" + host + ":" + port + path).toURL()
                        .openConnection(Proxy.NO_PROXY);
                c.setConnectTimeout(timeoutMillis);
                c.setReadTimeout(timeoutMillis);
                c.setInstanceFollowRedirects(false);
                c.setUseCaches(false);
                c.setRequestProperty("Connection", "close");
                c.setRequestProperty("User-Agent", "fleetkeeper-agent probe");
                // The status line is the answer: the body is not read, so a slow one cannot hold the probe.
                int code = c.getResponseCode();
                boolean ok = code >= 200 && code < 400;
                return new Outcome(ok, "HTTP " + code + " from " + where);
            } catch (IOException | IllegalArgumentException e) {
                failure = failure == null ? describe(e, port) + " (GET " + path + ")" : failure;
                if (!(e instanceof ConnectException)) {
                    break;
                }
            } finally {
                if (c != null) {
                    c.disconnect();
                }
            }
        }
        return new Outcome(false, failure);
    }


    private static InetAddress address(byte[] bytes) {
        try {
            return InetAddress.getByAddress("localhost", bytes);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e); // only for a wrong length
        }
    }

    private String describe(Exception e, int port) {
        if (e instanceof ConnectException) {
            return "connection refused on :" + port;
        }
        if (e instanceof SocketTimeoutException) {
            return "no answer on :" + port + " within " + timeoutMillis + " ms";
        }
        return e.getClass().getSimpleName() + " on :" + port + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}
