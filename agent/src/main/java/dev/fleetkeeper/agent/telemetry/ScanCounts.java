package dev.fleetkeeper.agent.telemetry;

/**
 * What went wrong during one scan: processes that vanished mid-read and malformed input, as
 * reported in {@link ScanStats}. Shared by a {@link ProcScanner} and its collaborators, which
 * count into it; the scanner resets it when a scan starts. Not thread-safe; owned by one
 * {@link ProcScanner}.
 */
final class ScanCounts {

    int vanished;
    int malformed;

    void reset() {
        vanished = 0;
        malformed = 0;
    }
}
