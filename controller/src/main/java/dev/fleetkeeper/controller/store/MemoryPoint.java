package dev.fleetkeeper.controller.store;

/**
 * One memory sample of one process. Immutable.
 *
 * @param timeMillis when it was sampled, ms since the Unix epoch
 * @param rssBytes resident set size
 * @param pssBytes proportional set size (0 when unknown)
 * @param privateBytes unshared resident memory (0 when unknown)
 * @param anonymousBytes anonymous resident memory, where leaks live (0 when unknown)
 */
public record MemoryPoint(long timeMillis, long rssBytes, long pssBytes, long privateBytes, long anonymousBytes) {
    public MemoryPoint {
        Preconditions.checkNotNegative("timeMillis", timeMillis);
        Preconditions.checkNotNegative("rssBytes", rssBytes);
        Preconditions.checkNotNegative("pssBytes", pssBytes);
        Preconditions.checkNotNegative("privateBytes", privateBytes);
        Preconditions.checkNotNegative("anonymousBytes", anonymousBytes);
    }
}
