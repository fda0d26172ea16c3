"""Training pictures changed in ways that change nothing about the sound, so that a brain
learns what happens rather than where, how bright, or at what picture rate.

Each named augmentation is one more copy of the training set's frames, changed as a whole
(every clip alike), whose input rows join the training rows with the same targets (never the
validation or held-out rows: learn/train.py). `theanet.py --augment mirror,shift,light,twos`.

- `mirror`: left and right swapped;
- `shift`: the picture moved by up to SHIFT_FRACTION of its side either way (the edge pixels
  repeated): every place in a new place;
- `light`: brightness, contrast and gamma drifting slowly and out of step (periods drawn in
  LIGHT_PERIOD_S): light that changes with no sound of its own;
- `twos`: every other picture held (animation on twos).

Each draw (shift, drift periods and phases) comes from the run's seeded generator, so a run
is reproducible.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..core import grid
from ..core.errors import UserError
from .history import clip_bounds

SHIFT_FRACTION = 0.25
LIGHT_GAIN = 0.3          # contrast x (1 +- this)
LIGHT_OFFSET = 0.15       # brightness +- this (pictures in [0, 1])
LIGHT_GAMMA = (0.7, 1.4)  # gamma drifts between these
LIGHT_PERIOD_S = (4.0, 12.0)


def _pictures(frames: np.ndarray) -> np.ndarray:
    """(n, planes, side, side) view of (n, planes * side * side) frames."""
    n, values = frames.shape
    planes = 1 if int(round(np.sqrt(values))) ** 2 == values else 3
    side = int(round(np.sqrt(values // planes)))
    return frames.reshape(n, planes, side, side)


def mirror(frames: np.ndarray, clip_starts: list[int], rng: np.random.Generator) -> np.ndarray:
    del clip_starts, rng
    return _pictures(frames)[..., ::-1].reshape(frames.shape)


def shift(frames: np.ndarray, clip_starts: list[int], rng: np.random.Generator) -> np.ndarray:
    del clip_starts
    pictures = _pictures(frames)
    side = pictures.shape[-1]
    reach = int(SHIFT_FRACTION * side)
    dy, dx = rng.integers(-reach, reach + 1, size=2)
    rows = np.clip(np.arange(side) - dy, 0, side - 1)
    cols = np.clip(np.arange(side) - dx, 0, side - 1)
    return pictures[:, :, rows][:, :, :, cols].reshape(frames.shape)


def light(frames: np.ndarray, clip_starts: list[int], rng: np.random.Generator) -> np.ndarray:
    del clip_starts
    t_s = np.arange(len(frames))[:, None] / grid.SLOTS_PER_SECOND
    periods, phases = rng.uniform(*LIGHT_PERIOD_S, size=3), rng.uniform(0, 2 * np.pi, size=3)
    waves = np.sin(2 * np.pi * t_s / periods + phases)  # (n, 3): contrast, brightness, gamma
    gamma = np.exp(np.log(LIGHT_GAMMA[0]) + (waves[:, 2:3] + 1) / 2 * np.log(LIGHT_GAMMA[1] / LIGHT_GAMMA[0]))
    lit = (frames - 0.5) * (1 + LIGHT_GAIN * waves[:, 0:1]) + 0.5 + LIGHT_OFFSET * waves[:, 1:2]
    return (np.clip(lit, 0.0, 1.0) ** gamma).astype(frames.dtype)


def twos(frames: np.ndarray, clip_starts: list[int], rng: np.random.Generator) -> np.ndarray:
    del rng
    held = frames.copy()
    for first, stop in clip_bounds(clip_starts, len(frames)):  # each clip from its own first picture
        held[first + 1:stop:2] = frames[first:stop - 1:2]
    return held


AUGMENTATIONS: dict[str, Callable[[np.ndarray, list[int], np.random.Generator], np.ndarray]] = {
    "mirror": mirror, "shift": shift, "light": light, "twos": twos}


def check(names: list[str]) -> None:
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise UserError(f"unknown augmentation {', '.join(map(repr, unknown))} "
                        f"(choose from {', '.join(AUGMENTATIONS)})")
    if len(set(names)) != len(names):
        raise UserError(f"--augment names an augmentation twice: {','.join(names)}")


def augmented(frames: np.ndarray, clip_starts: list[int], name: str, rng: np.random.Generator) -> np.ndarray:
    """The training set's `frames` (n, values) float32 in [0, 1] as augmentation `name` shows them."""
    return AUGMENTATIONS[name](np.asarray(frames, np.float32), clip_starts, rng)
