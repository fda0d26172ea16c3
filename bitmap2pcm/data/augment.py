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
- `twos`: every other picture held (animation on twos) where the video holds none already.

Each draw (shift, drift periods and phases) comes from the run's seeded generator, so a run
is reproducible.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core import grid
from ..core.errors import UserError
from . import flow
from .history import clip_bounds

SHIFT_FRACTION = 0.25
LIGHT_GAIN = 0.3          # contrast x (1 +- this)
LIGHT_OFFSET = 0.15       # brightness +- this (pictures in [0, 1])
LIGHT_GAMMA = (0.7, 1.4)  # gamma drifts between these
LIGHT_PERIOD_S = (4.0, 12.0)

Blocks = Callable[[int, int], np.ndarray]  # (first, stop) -> the changed frames[first:stop]


def _pictures(frames: np.ndarray) -> np.ndarray:
    """(n, planes, side, side) view of (n, planes * side * side) frames."""
    n, values = frames.shape
    planes = 1 if int(round(np.sqrt(values))) ** 2 == values else 3
    side = int(round(np.sqrt(values // planes)))
    return frames.reshape(n, planes, side, side)


def mirror(frames: np.ndarray, clip_starts: list[int], rng: np.random.Generator) -> Blocks:
    del clip_starts, rng
    return lambda first, stop: _pictures(frames[first:stop])[..., ::-1].reshape(stop - first, -1)


def shift(frames: np.ndarray, clip_starts: list[int], rng: np.random.Generator) -> Blocks:
    del clip_starts
    side = _pictures(frames[:1]).shape[-1]
    reach = int(SHIFT_FRACTION * side)
    dy, dx = rng.integers(-reach, reach + 1, size=2)
    rows = np.clip(np.arange(side) - dy, 0, side - 1)
    cols = np.clip(np.arange(side) - dx, 0, side - 1)
    return lambda first, stop: (_pictures(frames[first:stop])[:, :, rows][:, :, :, cols]
                                .reshape(stop - first, -1))


def light(frames: np.ndarray, clip_starts: list[int], rng: np.random.Generator) -> Blocks:
    del clip_starts
    periods, phases = rng.uniform(*LIGHT_PERIOD_S, size=3), rng.uniform(0, 2 * np.pi, size=3)

    def block(first: int, stop: int) -> np.ndarray:
        t_s = np.arange(first, stop)[:, None] / grid.SLOTS_PER_SECOND
        waves = np.sin(2 * np.pi * t_s / periods + phases)  # (n, 3): contrast, brightness, gamma
        low, high = LIGHT_GAMMA
        gamma = np.exp(np.log(low) + (waves[:, 2:3] + 1) / 2 * np.log(high / low))
        lit = ((frames[first:stop] - 0.5) * (1 + LIGHT_GAIN * waves[:, 0:1]) + 0.5
               + LIGHT_OFFSET * waves[:, 1:2])
        return (np.clip(lit, 0.0, 1.0) ** gamma).astype(frames.dtype)

    return block


def twos(frames: np.ndarray, clip_starts: list[int], rng: np.random.Generator) -> Blocks:
    """Every other slot of each clip shows the picture before it, where both are pictures of
    their own (`flow.distinct`): video already animated on twos, threes or at 24 fps keeps
    its own holds, never made longer. A hold longer than flow.MAX_HOLD_SLOTS is a still scene
    to the inputs: holding every other slot of Planet Blupi's 12 fps animation (holds of 2
    and 3 slots) made a quarter of its holds 4 slots long, stills under sound."""
    del rng
    new = flow.distinct(flow.gray_pictures(frames), clip_starts)
    shown = np.arange(len(frames))  # the picture each slot shows
    for first, stop in clip_bounds(clip_starts, len(frames)):  # each clip from its own first picture
        odd = np.arange(first + 1, stop, 2)
        held = odd[new[odd] & new[odd - 1]]
        shown[held] = held - 1
    return lambda first, stop: frames[shown[first:stop]]


AUGMENTATIONS: dict[str, Callable[[np.ndarray, list[int], np.random.Generator], Blocks]] = {
    "mirror": mirror, "shift": shift, "light": light, "twos": twos}


def check(names: list[str]) -> None:
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise UserError(f"unknown augmentation {', '.join(map(repr, unknown))} "
                        f"(choose from {', '.join(AUGMENTATIONS)})")
    if len(set(names)) != len(names):
        raise UserError(f"--augment names an augmentation twice: {','.join(names)}")


class ChangedFrames:
    """A training set's frames as an augmentation shows them, made a block at a time when
    sliced (`frames[a:b]`, as layouts read them): a whole changed copy at once would take as
    much memory again as the frames (16 KB a slot, two hours: 3.5 GB). Its draws are made
    once, so every block is part of the same copy; anything but a slice, and numpy, get the
    whole copy."""

    def __init__(self, frames: np.ndarray, clip_starts: list[int], name: str,
                 rng: np.random.Generator) -> None:
        self._frames = np.asarray(frames, np.float32)
        self._block = AUGMENTATIONS[name](self._frames, clip_starts, rng)
        self.shape, self.dtype = self._frames.shape, self._frames.dtype

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice) and key.step in (None, 1):
            first, stop, _ = key.indices(len(self))
            return self._block(first, max(first, stop))
        return np.asarray(self)[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        del copy
        whole = self._block(0, len(self))
        return whole if dtype is None else whole.astype(dtype)
