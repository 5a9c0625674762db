package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.cli.CliException;
import dev.fleetkeeper.cli.ExitCodes;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Follows a job the controller runs (a recycle, a rollout) through lost connections: a watch
 * that ends while the job goes on is started again, every 500 ms, for up to two minutes of
 * disconnection (a controller restarting), saying so once.
 */
final class WatchAgain {
    /** How long a watch may stay disconnected before giving up. */
    private static final Duration RECONNECT_FOR = Duration.ofMinutes(2);

    private WatchAgain() {
    }

    /**
     * Runs {@code watch} until {@code done}; a lost controller (exit 2) is retried, any other
     * failure thrown.
     *
     * @param what   the job, for messages ("the rollout")
     * @param status the command that shows it ("fleetkeeper rollout status ro-…")
     */
    static void until(BooleanSupplier done, Runnable watch, boolean json, PrintWriter out, String what,
                      String status) {
        long lostSince = 0;
        while (!done.getAsBoolean()) {
            try {
                watch.run();
                lostSince = 0;
            } catch (CliException e) {
                if (e.exitCode() != ExitCodes.USAGE_OR_UNREACHABLE) {
                    throw e;
                }
                long now = System.nanoTime();
                if (lostSince == 0) {
                    lostSince = now;
                    if (!json) {
                        out.println("  (" + e.getMessage() + "; watching again: " + what + " goes on on the controller)");
                        out.flush();
                    }
                } else if (now - lostSince > RECONNECT_FOR.toNanos()) {
                    throw new CliException(ExitCodes.FAILED, e.getMessage() + " for " + RECONNECT_FOR.toMinutes()
                            + " minutes; " + what + " may still be running: " + status);
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new CliException(ExitCodes.FAILED, "interrupted; " + what + " goes on on the controller");
                }
            }
        }
    }
}
