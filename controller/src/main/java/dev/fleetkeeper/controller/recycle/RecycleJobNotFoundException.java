package dev.fleetkeeper.controller.recycle;

/** No recycle job has the id asked for. */
public final class RecycleJobNotFoundException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RecycleJobNotFoundException(String jobId) {
        super("no recycle job '" + jobId + "' (see 'fleetkeeper recycle --list')");
    }
}
