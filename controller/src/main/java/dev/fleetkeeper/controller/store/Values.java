package dev.fleetkeeper.controller.store;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.fleetkeeper.controller.recycle.JobState;
import dev.fleetkeeper.controller.recycle.RecycleJob;
import dev.fleetkeeper.controller.recycle.RecycleStep;
import dev.fleetkeeper.controller.recycle.StepState;
import dev.fleetkeeper.controller.rollout.Rollout;
import dev.fleetkeeper.controller.rollout.RolloutMessages;
import dev.fleetkeeper.controller.store.proto.StoredActionResult;
import dev.fleetkeeper.controller.store.proto.StoredEvent;
import dev.fleetkeeper.controller.store.proto.StoredHost;
import dev.fleetkeeper.controller.store.proto.StoredMemoryPoint;
import dev.fleetkeeper.controller.store.proto.StoredRecycleJob;
import dev.fleetkeeper.controller.store.proto.StoredRecycleStep;
import dev.fleetkeeper.controller.store.proto.StoredServiceReport;
import dev.fleetkeeper.controller.store.proto.StoredState;
import dev.fleetkeeper.proto.v1.ActionResult;
import dev.fleetkeeper.proto.v1.Event;
import dev.fleetkeeper.proto.v1.ServiceReport;
import dev.fleetkeeper.proto.v1.Snapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts between the store's domain values and the value bytes of {@code store.proto}; the
 * only mapper between the two. Stateless.
 *
 * <p>Serialization is deterministic (map entries sorted by key) so that equal values give equal
 * bytes, which the golden-file test relies on.
 */
final class Values {
    private Values() {}

    static byte[] host(HostRecord host) {
        return serialize(StoredHost.newBuilder()
                .setHostname(host.hostname())
                .putAllLabels(host.labels())
                .setAgentVersion(host.agentVersion())
                .setKernel(host.kernel())
                .setBootId(host.bootId())
                .setRegisteredAtUnixMs(host.registeredAtMillis())
                .setLastSeenUnixMs(host.lastSeenMillis())
                .setConnectedAtUnixMs(host.connectedAtMillis())
                .setOnline(host.online())
                .build());
    }

    static HostRecord host(String hostId, byte[] value) {
        StoredHost h = parse("host " + hostId, value, StoredHost::parseFrom);
        return new HostRecord(hostId, h.getHostname(), h.getLabelsMap(), h.getAgentVersion(),
                h.getKernel(), h.getBootId(), h.getRegisteredAtUnixMs(), h.getLastSeenUnixMs(),
                h.getConnectedAtUnixMs(), h.getOnline());
    }

    static byte[] state(Snapshot snapshot, long storedAtMillis) {
        return serialize(StoredState.newBuilder()
                .setSnapshot(snapshot)
                .setStoredAtUnixMs(storedAtMillis)
                .build());
    }

    static Snapshot state(String hostId, byte[] value) {
        return parse("latest state of " + hostId, value, StoredState::parseFrom).getSnapshot();
    }

    static byte[] memoryPoint(MemoryPoint point) {
        return serialize(StoredMemoryPoint.newBuilder()
                .setRssBytes(point.rssBytes())
                .setPssBytes(point.pssBytes())
                .setPrivateBytes(point.privateBytes())
                .setAnonymousBytes(point.anonymousBytes())
                .build());
    }

    static MemoryPoint memoryPoint(long timeMillis, byte[] value) {
        StoredMemoryPoint p = parse("memory point", value, StoredMemoryPoint::parseFrom);
        return new MemoryPoint(timeMillis, p.getRssBytes(), p.getPssBytes(), p.getPrivateBytes(),
                p.getAnonymousBytes());
    }

    static byte[] event(Event event, long storedAtMillis) {
        return serialize(StoredEvent.newBuilder()
                .setEvent(event)
                .setStoredAtUnixMs(storedAtMillis)
                .build());
    }

    static Event event(byte[] value) {
        return parse("event", value, StoredEvent::parseFrom).getEvent();
    }

    static byte[] serviceReport(ServiceReport report, long storedAtMillis) {
        return serialize(StoredServiceReport.newBuilder()
                .setReport(report)
                .setStoredAtUnixMs(storedAtMillis)
                .build());
    }

    static ServiceReport serviceReport(String hostId, byte[] value) {
        return parse("service report of " + hostId, value, StoredServiceReport::parseFrom).getReport();
    }

    static byte[] actionResult(String hostId, ActionResult result, long storedAtMillis) {
        return serialize(StoredActionResult.newBuilder()
                .setHostId(hostId)
                .setResult(result)
                .setStoredAtUnixMs(storedAtMillis)
                .build());
    }

    static StoredAction actionResult(byte[] value) {
        StoredActionResult r = parse("action result", value, StoredActionResult::parseFrom);
        return new StoredAction(r.getHostId(), r.getResult(), r.getStoredAtUnixMs());
    }

    static byte[] recycleJob(RecycleJob job) {
        StoredRecycleJob.Builder b = StoredRecycleJob.newBuilder()
                .setService(job.service())
                .putAllSelector(job.selector())
                .setMaxParallel(job.maxParallel())
                .setMinAvailable(job.minAvailable())
                .setStepTimeoutMs(job.stepTimeoutMillis())
                .setReason(job.reason())
                .setState(job.state().ordinal() + 1)
                .setMessage(job.message())
                .setCreatedAtUnixMs(job.createdAtMillis())
                .setFinishedAtUnixMs(job.finishedAtMillis());
        for (RecycleStep s : job.steps()) {
            b.addSteps(StoredRecycleStep.newBuilder()
                    .setHostId(s.hostId())
                    .setHostname(s.hostname())
                    .setInstance(s.instance())
                    .setMinAvailable(s.minAvailable())
                    .setState(s.state().ordinal() + 1)
                    .setActionId(s.actionId())
                    .setOldPid(s.oldPid())
                    .setNewPid(s.newPid())
                    .setSentAtUnixMs(s.sentAtMillis())
                    .setFinishedAtUnixMs(s.finishedAtMillis())
                    .setMessage(s.message())
                    .setHeldSinceUnixMs(s.heldSinceMillis()));
        }
        return serialize(b.build());
    }

    static RecycleJob recycleJob(String jobId, byte[] value) {
        StoredRecycleJob j = parse("recycle job " + jobId, value, StoredRecycleJob::parseFrom);
        List<RecycleStep> steps = new ArrayList<>();
        for (StoredRecycleStep s : j.getStepsList()) {
            steps.add(new RecycleStep(s.getHostId(), s.getHostname(), s.getInstance(), s.getMinAvailable(),
                    enumValue(StepState.values(), s.getState(), "recycle step state of " + jobId), s.getActionId(),
                    s.getOldPid(), s.getNewPid(), s.getSentAtUnixMs(), s.getFinishedAtUnixMs(), s.getMessage(),
                    s.getHeldSinceUnixMs()));
        }
        return new RecycleJob(jobId, j.getService(), j.getSelectorMap(), j.getMaxParallel(), j.getMinAvailable(),
                j.getStepTimeoutMs(), j.getReason(), enumValue(JobState.values(), j.getState(), "recycle job state of "
                + jobId), j.getMessage(), j.getCreatedAtUnixMs(), j.getFinishedAtUnixMs(), steps);
    }

    static byte[] rollout(Rollout r) {
        return serialize(RolloutMessages.toProto(r));
    }

    static Rollout rollout(String rolloutId, byte[] value) {
        dev.fleetkeeper.proto.v1.Rollout r = parse("rollout " + rolloutId, value,
                dev.fleetkeeper.proto.v1.Rollout::parseFrom);
        try {
            return RolloutMessages.fromProto(rolloutId, r);
        } catch (IllegalArgumentException e) {
            throw new CorruptValueException("stored rollout " + rolloutId + " does not read: " + e.getMessage(), e);
        }
    }

    /** Stored enums are 1-based ordinals; 0 and unknown numbers are corrupt (names are never renumbered). */
    private static <E extends Enum<E>> E enumValue(E[] values, int stored, String what) {
        if (stored < 1 || stored > values.length) {
            throw new CorruptValueException("stored " + what + " is " + stored + " (expected: 1 to " + values.length + ")",
                    new IllegalArgumentException("state " + stored));
        }
        return values[stored - 1];
    }

    private interface Parser<T> {
        T parse(byte[] bytes) throws InvalidProtocolBufferException;
    }

    private static <T> T parse(String what, byte[] value, Parser<T> parser) {
        try {
            return parser.parse(value);
        } catch (InvalidProtocolBufferException e) {
            throw new CorruptValueException("stored " + what + " does not decode: " + e.getMessage(), e);
        }
    }

    private static byte[] serialize(MessageLite message) {
        byte[] out = new byte[message.getSerializedSize()];
        CodedOutputStream stream = CodedOutputStream.newInstance(out);
        stream.useDeterministicSerialization();
        try {
            message.writeTo(stream);
        } catch (IOException e) {
            // Only an undersized array can cause this, and the array is sized by the message.
            throw new UncheckedIOException(e);
        }
        stream.checkNoSpaceLeft();
        return out;
    }
}
