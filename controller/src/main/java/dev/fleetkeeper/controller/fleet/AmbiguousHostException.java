package dev.fleetkeeper.controller.fleet;

import java.util.List;

/** Several hosts share the name an operator gave; the message lists their ids. */
public final class AmbiguousHostException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public AmbiguousHostException(String name, List<String> ids) {
        super("host name '" + name + "' matches " + ids.size() + " hosts (" + String.join(", ", ids)
                + "); name one by its id");
    }
}
