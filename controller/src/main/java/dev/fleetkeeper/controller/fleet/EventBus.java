package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.proto.v1.Event;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passes events to subscribers once they are durable (with their store sequence). Thread-safe;
 * subscribers are called on the store writer's thread and must not block.
 */
public final class EventBus {

    private static final Logger log = LoggerFactory.getLogger(EventBus.class);

    private final List<Consumer<List<Event>>> subscribers = new CopyOnWriteArrayList<>();

    /** Subscribes; the returned handle unsubscribes. */
    public AutoCloseable subscribe(Consumer<List<Event>> subscriber) {
        subscribers.add(subscriber);
        return () -> subscribers.remove(subscriber);
    }

    /** Hands {@code stored} to every subscriber; only for events already durable in the store. */
    public void publish(List<Event> stored) {
        if (stored.isEmpty()) {
            return;
        }
        for (Consumer<List<Event>> s : subscribers) {
            try {
                s.accept(stored);
            } catch (RuntimeException e) {
                log.warn("An event subscriber failed; it stays subscribed", e);
            }
        }
    }
}
