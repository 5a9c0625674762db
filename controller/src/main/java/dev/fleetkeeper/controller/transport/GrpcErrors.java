package dev.fleetkeeper.controller.transport;

import dev.fleetkeeper.controller.fleet.ActionTimeoutException;
import dev.fleetkeeper.controller.fleet.AmbiguousHostException;
import dev.fleetkeeper.controller.fleet.HostOfflineException;
import dev.fleetkeeper.controller.fleet.HostNotFoundException;
import dev.fleetkeeper.controller.coordination.IllegalTransitionException;
import dev.fleetkeeper.controller.recycle.RecycleJobNotFoundException;
import dev.fleetkeeper.controller.recycle.RecycleRefusedException;
import dev.fleetkeeper.controller.rollout.RolloutNotFoundException;
import dev.fleetkeeper.controller.rollout.RolloutRefusedException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one place that maps domain exceptions to gRPC statuses. Stateless. */
final class GrpcErrors {

    private static final Logger log = LoggerFactory.getLogger(GrpcErrors.class);

    private GrpcErrors() {
    }

    static StatusRuntimeException toStatus(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof StatusRuntimeException) {
            return (StatusRuntimeException) t;
        }
        if (t instanceof HostNotFoundException) {
            return Status.NOT_FOUND.withDescription(t.getMessage()).asRuntimeException();
        }
        if (t instanceof RecycleJobNotFoundException) {
            return Status.NOT_FOUND.withDescription(t.getMessage()).asRuntimeException();
        }
        if (t instanceof RolloutNotFoundException) {
            return Status.NOT_FOUND.withDescription(t.getMessage()).asRuntimeException();
        }
        if (t instanceof RolloutRefusedException || t instanceof IllegalTransitionException) {
            return Status.FAILED_PRECONDITION.withDescription(t.getMessage()).asRuntimeException();
        }
        if (t instanceof RecycleRefusedException) {
            return Status.FAILED_PRECONDITION.withDescription(t.getMessage()).asRuntimeException();
        }
        if (t instanceof HostOfflineException) {
            return Status.FAILED_PRECONDITION.withDescription(t.getMessage()).asRuntimeException();
        }
        if (t instanceof ActionTimeoutException) {
            return Status.DEADLINE_EXCEEDED.withDescription(t.getMessage()).asRuntimeException();
        }
        if (t instanceof AmbiguousHostException || t instanceof IllegalArgumentException) {
            return Status.INVALID_ARGUMENT.withDescription(t.getMessage()).asRuntimeException();
        }
        if (t instanceof IllegalStateException) {
            return Status.UNAVAILABLE.withDescription(t.getMessage()).asRuntimeException();
        }
        log.error("Unexpected failure serving a request", t);
        return Status.INTERNAL.withDescription("controller error: " + t + " (see the controller log)")
                .withCause(t).asRuntimeException();
    }
}
