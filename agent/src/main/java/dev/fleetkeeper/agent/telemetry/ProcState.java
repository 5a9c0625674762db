package dev.fleetkeeper.agent.telemetry;

/** Scheduler state of a process, from the state letter in {@code /proc/PID/stat}. */
public enum ProcState {
    RUNNING('R'),
    SLEEPING('S'),
    DISK_SLEEP('D'),
    ZOMBIE('Z'),
    STOPPED('T'),
    TRACING_STOP('t'),
    DEAD('X'),
    IDLE('I'),
    PARKED('P'),
    WAKING('W'),
    UNKNOWN('?');

    private final char letter;

    ProcState(char letter) {
        this.letter = letter;
    }

    /** The letter {@code ps} shows for this state. */
    public char letter() {
        return letter;
    }

    /** Maps a state letter; unknown letters map to {@link #UNKNOWN}, never an exception. */
    public static ProcState fromLetter(char c) {
        switch (c) {
            case 'R': return RUNNING;
            case 'S': return SLEEPING;
            case 'D': return DISK_SLEEP;
            case 'Z': return ZOMBIE;
            case 'T': return STOPPED;
            case 't': return TRACING_STOP;
            case 'X':
            case 'x': return DEAD;
            case 'I': return IDLE;
            case 'P': return PARKED;
            case 'W': return WAKING;
            default: return UNKNOWN;
        }
    }
}
