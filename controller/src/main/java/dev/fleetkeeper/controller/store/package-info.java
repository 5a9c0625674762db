/**
 * The controller's durable state: a RocksDB store of hosts, each host's latest state, memory
 * series per process and the event log. {@link dev.fleetkeeper.controller.store.FleetStore} is
 * the entry point and the only owner of RocksDB handles; only this package touches
 * {@code org.rocksdb}.
 *
 * <p>Domain values at the edge are records ({@link dev.fleetkeeper.controller.store.HostRecord},
 * {@link dev.fleetkeeper.controller.store.MemoryPoint}); the protobuf messages of
 * {@code fleetkeeper.store.v1} are only the value encoding, and key layouts live in
 * {@code Keys}. Two wire messages are deliberately domain values here: a host's latest state is
 * the agent's {@code fleetkeeper.v1.Snapshot} and an event is {@code fleetkeeper.v1.Event}. The
 * controller does not interpret process and socket telemetry, it stores and serves it; mapping
 * a thousand processes per host per second into parallel records and back would cost CPU and
 * garbage for no decision made on them. Components that do decide on telemetry map what they
 * need into their own records.
 *
 * <p>Durability: a commit returns after RocksDB wrote it to the WAL (fsynced by default), so an
 * acknowledged write survives a crash or SIGKILL of the controller. The store refuses, with
 * {@link dev.fleetkeeper.controller.store.StoreUnavailableException}, to open a directory it
 * cannot trust, and never repairs or deletes one.
 */
package dev.fleetkeeper.controller.store;
