package dev.fleetkeeper.controller.rollout;

import java.util.Objects;

/**
 * What one instance ran before a rollout changed it, and so what its rollback restores: its
 * host's declared spec, or a release applied to it earlier, in full (command, arguments,
 * environment), as its agent reported it. Immutable.
 *
 * <p>A rollout stored before the distinction existed holds only a version label: it reads as a
 * release of that label over the declared spec ({@link #of}), which is what its rollback sent
 * then; an empty label can only have been the unlabelled declared spec.
 *
 * @param declared whether it ran its declared spec: a rollback moves it back to that spec
 *                 ({@code ApplyRelease.to_declared}), whatever the declaration says by then
 * @param release  the release it ran; when {@code declared}, a label-only release of the
 *                 declared version (for messages, and for an agent too old to know
 *                 {@code to_declared}, which applies it as before)
 */
public record PreviousRelease(boolean declared, Release release) {

    public PreviousRelease {
        Objects.requireNonNull(release, "release");
        if (declared && !release.equals(Release.ofVersion(release.version()))) {
            throw new IllegalArgumentException("release: " + release
                    + " (expected: only the declared version label for a declared spec)");
        }
    }

    /** The declared spec, labelled {@code version} ("" if unlabelled). */
    public static PreviousRelease declared(String version) {
        return new PreviousRelease(true, Release.ofVersion(version));
    }

    /** A release applied to the instance. */
    public static PreviousRelease of(Release release) {
        return new PreviousRelease(false, release.withSwitchCurrent(false));
    }

    /** The version label it ran ("" if unlabelled). */
    public String version() {
        return release.version();
    }

    /** "41", or "41 (declared spec)", for messages. */
    public String describe() {
        if (!declared) {
            return release.version();
        }
        return release.version().isEmpty() ? "the declared spec" : release.version() + " (declared spec)";
    }
}
