package dev.fleetkeeper.controller.coordination;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who watches which job (a recycle, a rollout), by id. Not thread-safe: used on the
 * coordinator's {@link CoordinatorThread} only.
 *
 * @param <T> the job snapshot watchers receive
 */
public final class Watchers<T> {

    private static final Logger log = LoggerFactory.getLogger(Watchers.class);

    private final CoordinatorThread thread;
    private final String what;
    private final Map<String, List<Consumer<T>>> byId = new HashMap<>();

    /** @param what how logs name a watcher ("recycle watcher") */
    public Watchers(CoordinatorThread thread, String what) {
        this.thread = thread;
        this.what = what;
    }

    /**
     * Hands {@code now} to {@code watcher}, and, unless {@code ended}, keeps it for what comes;
     * closing the result (from any thread) stops the watch.
     */
    public AutoCloseable add(String id, T now, boolean ended, Consumer<T> watcher) {
        watcher.accept(now);
        if (!ended) {
            byId.computeIfAbsent(id, k -> new ArrayList<>()).add(watcher);
        }
        return () -> thread.execute("unwatch " + id, () -> {
            List<Consumer<T>> list = byId.get(id);
            if (list != null) {
                list.remove(watcher);
            }
        });
    }

    /** Hands {@code next} to the watchers of {@code id} (a failing one is dropped); forgets them once {@code ended}. */
    public void publish(String id, T next, boolean ended) {
        List<Consumer<T>> list = byId.get(id);
        if (list == null) {
            return;
        }
        for (Consumer<T> w : List.copyOf(list)) {
            try {
                w.accept(next);
            } catch (RuntimeException e) {
                log.warn("A {} failed; it is dropped", what, e);
                list.remove(w);
            }
        }
        if (ended) {
            byId.remove(id);
        }
    }
}
