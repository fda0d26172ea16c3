"""The rows a network learns from: each slot's input, as the run's layout shows it (the frame,
its history, the movement around it, its eigen-frames), and its target, as the run's sound
representation reads it from the slot's sound (PCM samples, magnitudes, a windowed frame,
cues), both on the [0, 1] scale."""

from __future__ import annotations

import logging

from ..data import augment, gathered
from ..data import history as history_inputs
from ..data.layout import InputLayout, Rows
from ..data.layouts import of_input
from ..data.trainset import TrainingPairs, clip_segments, clips_of, split_rows
from ..sound.representation import Representation
from .brain import Brain
from .settings import AUGMENT, EIGEN, Settings, rng_for

log = logging.getLogger("bitmap2pcm")


def target_pairs(pairs: TrainingPairs, representation: Representation) -> TrainingPairs:
    """The same pairs with each audio row replaced by its slot's target on the [0, 1] scale,
    read clip by clip (per pickler's sidecar)."""
    targets = representation.targets(pairs.audio, clip_segments(pairs))
    return TrainingPairs(pairs.frames, targets, pairs.frames_path, pairs.audio_path)


def clip_starts(pairs: TrainingPairs) -> list[int]:
    """Rows where a clip begins (`history.clip_starts_of`, from pickler's sidecar)."""
    return history_inputs.clip_starts_of(
        len(pairs), [(clip["first_row"], clip["slots"]) for clip in clips_of(pairs)])


def run_layout(pairs: TrainingPairs, settings: Settings, checkpoint: Brain | None) -> InputLayout:
    """The input layout of a run, ready to make rows: a resumed run's as its checkpoint
    records it (a refit could differ in the last bit, and it would not be the same run); a
    new run's fitted on its training rows only (`split_rows`: never the held-out tails or the
    validation rows), with the run's seed."""
    if checkpoint is not None:
        return of_input(checkpoint.input, pairs.frames.shape[1], checkpoint.source)
    train, _, _ = split_rows(pairs, settings.holdout_tail)
    return settings.layout().fitted(pairs.frames, train, rng_for(settings.seed, EIGEN, 0))


def input_pairs(pairs: TrainingPairs, layout: InputLayout) -> TrainingPairs:
    """The same pairs with each frame row replaced by the row the network's input layer sees
    (built once, float32, clip by clip)."""
    frames = layout.rows(pairs.frames, clip_starts(pairs))
    return TrainingPairs(frames, pairs.audio, pairs.frames_path, pairs.audio_path)


def augmented_rows(pairs: TrainingPairs, layout: InputLayout, settings: Settings) -> Rows | None:
    """The input rows of the run's augmented copies of the frames (data/augment.py), one copy
    per augmentation after another, each in the rows' order; None without augmentation."""
    if not settings.augment:
        return None
    starts = clip_starts(pairs)
    copies = []
    for index, name in enumerate(settings.augment):
        log.info("augmenting the training pictures: %s (copy %d of %d)", name, index + 1,
                 len(settings.augment))
        frames = augment.ChangedFrames(pairs.frames, starts, name, rng_for(settings.seed, AUGMENT, index))
        copies.append(layout.rows(frames, starts))
    return gathered.concatenate(copies)
