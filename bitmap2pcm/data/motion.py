"""Spacetime inputs: the network sees the frame and the motion around it, before and after.

A single still frame cannot show velocity, and an impact is where motion *stops* or turns:
the motion into a slot and the motion out of it differ. So the input row of slot t is

    [ f_t,  u(c(f_t - f_{t-1})),  u(c(f_{t+1} - f_t)),  g(e_back),  g(e_fwd),  g(e_back) - g(e_fwd) + 1/2 ]

- f_t: the frame (pixel values in [0, 1]; every plane of a colour frame, or the frame's
  eigen-frame coefficients, eigen.py); the motion terms are measured on the frame's gray
  (the channel mean of a colour frame, `video.gray_of`), so they mean the same for both;
- c(d): a difference map shrunk to COARSE_SIDE x COARSE_SIDE by block means, signed, so
  that a reversal reads as a change of sign and the map means the same on any video (a
  moving edge anywhere in a block, not a particular pixel); u(d) = (d + 1) / 2 maps it to
  [0, 1] as the RBM's visible units expect (no motion = 0.5);
- e_back, e_fwd: the motion energy into and out of the slot, mean |difference| over the
  picture; g(e) = clip(1 + log10(e + ENERGY_FLOOR) / ENERGY_DECADES, 0, 1) spreads the few
  decades motion energy spans over [0, 1] (a still picture reads 0);
- the last unit is the drop from the motion in to the motion out: high where a moving
  object stops (the impacts the event benchmark is made of).

Render is offline, so the frame after the slot may be used: `SpacetimeStream` holds back the
last frame of every batch until the next batch shows what follows it (one frame of look-ahead,
constant memory). At a clip's ends the missing neighbour is the frame itself (no motion).
`spacetime_rows` builds the same rows for a whole training set, clip by clip; both use
`_rows`, one definition of the input.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..media.video import gray_of
from . import eigen

LAYOUT = "spacetime"
COARSE_SIDE = 16           # motion maps of 16 x 16 blocks (4 x 4 pixels of a 64 x 64 frame)
ENERGY_FLOOR = 1e-4        # mean |difference| below this is no motion at all
ENERGY_DECADES = 4.0       # g maps 1e-4 .. 1 (four decades) onto 0 .. 1
SCALARS = 3                # e_back, e_fwd and the drop between them
MOTION_UNITS = 2 * COARSE_SIDE * COARSE_SIDE + SCALARS  # after the frame's own values
CHUNK_ROWS = 2048          # rows built at a time: bounds the temporaries


def input_size(frame_units: int) -> int:
    """Input units of a spacetime network whose frame part has `frame_units` values (its
    pixels, of every plane, or its eigen-frame coefficients)."""
    return frame_units + MOTION_UNITS


def convention(base: dict[str, Any]) -> dict[str, Any]:
    """`base` (brain.input_convention) with the spacetime layout recorded."""
    return dict(base, layout=LAYOUT, coarse_side=COARSE_SIDE, energy_floor=ENERGY_FLOOR,
                energy_decades=ENERGY_DECADES,
                rows="frame, (d+1)/2 of block-mean f_t - f_(t-1) and f_(t+1) - f_t, "
                     "g(e_back), g(e_fwd), g(e_back) - g(e_fwd) + 1/2; clip ends repeat the frame")


def coarse(differences: np.ndarray) -> np.ndarray:
    """Block means of (n, side*side) difference maps: (n, COARSE_SIDE**2)."""
    n, pixels = differences.shape
    side = int(round(np.sqrt(pixels)))
    block = side // COARSE_SIDE
    if block * COARSE_SIDE != side or side * side != pixels:
        raise ValueError(f"frames of {pixels} pixels do not shrink to {COARSE_SIDE} x {COARSE_SIDE} blocks")
    shaped = differences.reshape(n, COARSE_SIDE, block, COARSE_SIDE, block)
    return shaped.mean(axis=(2, 4)).reshape(n, COARSE_SIDE * COARSE_SIDE)


def energy_unit(energy: np.ndarray) -> np.ndarray:
    """g(e): motion energy (mean |difference|) on a log scale in [0, 1]."""
    return np.clip(1.0 + np.log10(energy + ENERGY_FLOOR) / ENERGY_DECADES, 0.0, 1.0)


def _rows(previous: np.ndarray, frames: np.ndarray, following: np.ndarray, out: np.ndarray,
          channels: int = 1, eigen_fit: eigen.EigenFit | None = None) -> None:
    """Spacetime rows of `frames` given each one's previous and following frame (all
    (n, channels * pixels) float32 in [0, 1]), written into `out` (n, input_size); the frame
    part is the frame itself or, with `eigen_fit`, its eigen-frame inputs."""
    units = out.shape[1] - MOTION_UNITS
    maps = COARSE_SIDE * COARSE_SIDE
    gray = gray_of(frames, channels)
    back = gray - gray_of(previous, channels)
    forward = gray_of(following, channels) - gray
    out[:, :units] = frames if eigen_fit is None else eigen.project(frames, eigen_fit)
    out[:, units:units + maps] = (coarse(back) + 1.0) * 0.5
    out[:, units + maps:units + 2 * maps] = (coarse(forward) + 1.0) * 0.5
    into = energy_unit(np.abs(back).mean(axis=1))
    out_of = energy_unit(np.abs(forward).mean(axis=1))
    scalars = out[:, units + 2 * maps:]
    scalars[:, 0] = into
    scalars[:, 1] = out_of
    scalars[:, 2] = (into - out_of + 1.0) * 0.5


def frame_units(frames: np.ndarray, eigen_fit: eigen.EigenFit | None) -> int:
    """Values of the frame part of a row: the frame's, or its K eigen-frame coefficients."""
    return frames.shape[1] if eigen_fit is None else len(eigen_fit.scale)


def spacetime_rows(frames: np.ndarray, clip_starts: Iterable[int] = (0,), channels: int = 1,
                   eigen_fit: eigen.EigenFit | None = None) -> np.ndarray:
    """The spacetime input rows of `frames` (n x channels*pixels, float32 in [0, 1], planar);
    `clip_starts` are the rows where a clip begins (row 0 always does): no difference crosses
    them. With `eigen_fit` the frame part is the frame's eigen-frame inputs."""
    frames = np.asarray(frames, dtype=np.float32)
    count = len(frames)
    starts = sorted({0, *[s for s in clip_starts if 0 <= s < count]})
    previous = np.arange(count, dtype=np.int64) - 1
    following = np.arange(count, dtype=np.int64) + 1
    previous[starts] = starts
    ends = [s - 1 for s in starts[1:]] + [count - 1]
    following[ends] = ends
    out = np.empty((count, input_size(frame_units(frames, eigen_fit))), np.float32)
    for start in range(0, count, CHUNK_ROWS):
        rows = np.arange(start, min(count, start + CHUNK_ROWS))
        _rows(frames[previous[rows]], frames[rows], frames[following[rows]],
              out[start:start + len(rows)], channels, eigen_fit)
    return out


class SpacetimeStream:
    """Spacetime inputs for a stream of frame batches from one video: `push` each batch
    (n x pixels, float32 in [0, 1]) and get the rows of the frames whose next frame is known
    (all but the batch's last, which waits for the next batch); `finish` gives the last
    frame's row. Together they are `spacetime_rows` of all the frames at once (with the same
    `channels` and `eigen_fit`)."""

    def __init__(self, channels: int = 1, eigen_fit: eigen.EigenFit | None = None) -> None:
        self.channels = channels
        self.fit = eigen_fit
        self.previous: np.ndarray | None = None  # the frame before the held-back one
        self.held: np.ndarray | None = None      # the last frame seen, waiting for its next

    def push(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, dtype=np.float32)
        if len(frames) == 0:
            return np.empty((0, input_size(self._units(frames))), np.float32)
        known = frames if self.held is None else np.concatenate([self.held, frames])
        if self.previous is None:  # the video's start: its first frame has no predecessor
            self.previous = known[:1]
        before = np.concatenate([self.previous, known[:-2]]) if len(known) > 1 else known[:0]
        out = np.empty((len(known) - 1, input_size(frame_units(frames, self.fit))), np.float32)
        if len(out):
            _rows(before, known[:-1], known[1:], out, self.channels, self.fit)
            self.previous = known[-2:-1].copy()
        self.held = known[-1:].copy()
        return out

    def finish(self) -> np.ndarray:
        """The last frame's row (its next frame is itself), or no rows for an empty video."""
        if self.held is None:
            return np.empty((0, 0), np.float32)
        out = np.empty((1, input_size(frame_units(self.held, self.fit))), np.float32)
        _rows(self.previous, self.held, self.held, out, self.channels, self.fit)
        self.held = None
        return out

    def _units(self, frames: np.ndarray) -> int:
        return frame_units(frames, self.fit) if frames.ndim == 2 else 0
