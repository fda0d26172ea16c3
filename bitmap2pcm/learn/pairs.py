"""The rows a network learns from: each slot's target (PCM samples, STFT magnitudes or an
overlap-add frame, on the [0, 1] scale) and its input (the frame, the frame with its history
of differences, or its spacetime row), and the output convention a brain of each target
records."""

from __future__ import annotations

import logging
from typing import Any

from ..core.errors import UserError
from ..data import eigen
from ..data import history as history_inputs
from ..data import motion, movement
from ..data.trainset import TrainingPairs, clip_segments, clips_of, picture_channels, split_rows
from ..sound import cues, overlap, spectral
from . import brain as brain_format
from .settings import EIGEN, Settings, rng_for

log = logging.getLogger("bitmap2pcm")


def output_spec(target: str) -> dict[str, Any]:
    """The brain's output convention for `target` (render dispatches on its kind)."""
    if target == "stft":
        return spectral.output_convention()
    if target == "ola":
        return overlap.output_convention()
    if target == "cues":
        return cues.output_convention()
    return brain_format.output_convention()


def target_pairs(pairs: TrainingPairs, target: str) -> TrainingPairs:
    """The same pairs with each audio row replaced by its slot's target on the [0, 1] scale:
    for stft its magnitude spectrum (spectral.unit_targets), for ola its windowed 1470-sample
    frame (overlap.unit_targets), analysed clip by clip (per pickler's sidecar)."""
    if target == "pcm":
        return pairs
    segments = clip_segments(pairs)
    if target == "stft":
        log.info("computing STFT magnitude targets (%d bins per slot)", spectral.BINS)
        audio = spectral.unit_targets(pairs.audio, segments)
    elif target == "cues":
        log.info("computing sound cue targets (%d bands, %d loudness classes, onsets)",
                 cues.BANDS, cues.LOUDNESS_CLASSES)
        audio = cues.unit_targets(pairs.audio, segments)
    else:
        log.info("computing overlap-add PCM targets (%d samples per slot)", overlap.FRAME)
        audio = overlap.unit_targets(pairs.audio, segments)
    return TrainingPairs(pairs.frames, audio, pairs.frames_path, pairs.audio_path)


def clip_starts(pairs: TrainingPairs) -> list[int]:
    """Rows where a clip begins, for history inputs (`history.clip_starts_of`, from
    pickler's sidecar)."""
    return history_inputs.clip_starts_of(
        len(pairs), [(clip["first_row"], clip["slots"]) for clip in clips_of(pairs)])


def history_pairs(pairs: TrainingPairs, history: int) -> TrainingPairs:
    """The same pairs with each frame row replaced by its history-`history` input row
    (history.with_history: the frame and its differences, clip by clip); built once, float32."""
    if history == 0:
        return pairs
    log.info("building history inputs: each frame and %d difference%s (%d inputs per slot)",
             history, "" if history == 1 else "s",
             history_inputs.input_size(pairs.frames.shape[1], history))
    frames = history_inputs.with_history(pairs.frames, history, clip_starts(pairs))
    return TrainingPairs(frames, pairs.audio, pairs.frames_path, pairs.audio_path)


def eigen_fit(pairs: TrainingPairs, settings: Settings,
              checkpoint: dict[str, Any] | None) -> eigen.EigenFit | None:
    """The eigen-frame fit of a run with --eigen-frames (None without): a resumed run's from
    its checkpoint (a refit could differ in the last bit, and it would not be the same run),
    a new run's fitted on its training rows only (`split_rows`: never the held-out tails or
    the validation rows), on a subset drawn with the run's seed."""
    if not settings.eigen_frames:
        return None
    if checkpoint is not None:
        try:
            return eigen.fit_of(checkpoint["input"])
        except ValueError as error:
            raise UserError(f"the checkpoint's eigen-frame fit is unusable: {error}") from None
    train, _, _ = split_rows(pairs, settings.holdout_tail)
    log.info("fitting %d eigen-frames on %d of the %d training rows", settings.eigen_frames,
             min(len(train), max(eigen.SUBSET_ROWS, settings.eigen_frames)), len(train))
    return eigen.fit(pairs.frames, settings.eigen_frames, train, rng_for(settings.seed, EIGEN, 0))


def input_pairs(pairs: TrainingPairs, history: int, inputs: str,
                fit: eigen.EigenFit | None = None) -> TrainingPairs:
    """The same pairs with each frame row replaced by the row the network's input layer
    sees: the frame with its history (`history_pairs`) or its spacetime row (motion.py),
    whose frame part is, with an eigen-frame `fit`, the frame's eigen-frame inputs (eigen.py;
    the pairs keep the fit for the brain)."""
    if inputs == "movement":
        log.info("building movement inputs: the motion in a window of %d frames around each "
                 "slot (%d inputs per slot)", 2 * movement.LOOK + 1,
                 movement.input_size(pairs.frames.shape[1]))
        frames = movement.movement_rows(pairs.frames, clip_starts(pairs))
        return TrainingPairs(frames, pairs.audio, pairs.frames_path, pairs.audio_path)
    if inputs == "frame" and fit is not None:
        log.info("projecting each frame onto %d eigen-frames", len(fit.scale))
        return TrainingPairs(eigen.project(pairs.frames, fit), pairs.audio, pairs.frames_path,
                             pairs.audio_path, fit)
    if inputs != "spacetime":
        return history_pairs(pairs, history)
    log.info("building spacetime inputs: each frame and the motion into and out of it "
             "(%d inputs per slot)", motion.input_size(motion.frame_units(pairs.frames, fit)))
    frames = motion.spacetime_rows(pairs.frames, clip_starts(pairs), picture_channels(pairs), fit)
    return TrainingPairs(frames, pairs.audio, pairs.frames_path, pairs.audio_path, fit)
