package dev.fleetkeeper.agent.memory;

/**
 * One memory reading of a managed instance.
 *
 * @param timeMillis   when, epoch ms
 * @param rssBytes     resident set size
 * @param privateBytes private (or anonymous) memory from smaps_rollup, -1 where the kernel does not report it
 */
public record MemorySample(long timeMillis, long rssBytes, long privateBytes) {
}
