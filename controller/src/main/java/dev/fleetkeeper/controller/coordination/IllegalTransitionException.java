package dev.fleetkeeper.controller.coordination;

/** A state change the transition table does not allow: a bug in the caller, never an operator error. */
public final class IllegalTransitionException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public IllegalTransitionException(String what, String from, String to) {
        super("illegal " + what + " transition " + from + " -> " + to);
    }
}
