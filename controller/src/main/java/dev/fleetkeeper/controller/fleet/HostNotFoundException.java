package dev.fleetkeeper.controller.fleet;

/** No host has the id or name an operator gave. */
public final class HostNotFoundException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public HostNotFoundException(String ref) {
        super("no host with id or name '" + ref + "' (list them with 'fleetkeeper hosts')");
    }
}
