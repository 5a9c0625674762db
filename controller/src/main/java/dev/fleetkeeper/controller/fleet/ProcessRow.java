package dev.fleetkeeper.controller.fleet;

import dev.fleetkeeper.proto.v1.Process;

/** A process with its host and, when known, its parent. Immutable. */
public record ProcessRow(String hostId, String hostname, Process process, Process parent) {
}
