"""Movement inputs: what moves around a slot, in a centred window of frames, on a coarse grid.

Sound follows events, and an event is where motion starts, stops or turns: an object that
hits the floor moves down until the slot and up after it. A still frame cannot show that,
and 4096 pixels mostly show *which scene* it is, which a network learns first and which does
not carry over to other videos. So the movement row of slot t is built from the frames
f_(t-3) .. f_(t+3) (a centred window, LOOK frames either side), all on COARSE_SIDE x
COARSE_SIDE block means (`coarse`), so that it means the same on any video:

    [ c(f_t),  u(b_t),  u(a_t),  min(1, 2 |a_t - b_t|),  g(e_(t-2)) .. g(e_(t+3)),  r_t,  g(|a_t - b_t|) ]

- c(f_t): the picture, coarse (256 values in [0, 1]): the scene, enough for its timbre;
- b_t = c(f_t - f_(t-1)), a_t = c(f_(t+1) - f_t): the motion into and out of the slot,
  signed, u(d) = (d + 1) / 2 (no motion = 0.5);
- |a_t - b_t|: where the motion changed during the slot (an impact, a reversal, a start);
- e_k = mean |f_k - f_(k-1)|: motion energy of the six frame steps around the slot, on the
  log scale g(e) = clip(1 + log10(e + ENERGY_FLOOR) / ENERGY_DECADES, 0, 1) (`energy_unit`),
  which spreads the few decades motion energy spans over [0, 1] (a still picture reads 0),
  so the network sees motion build up and die down;
- r_t = (1 - cos(s(a_t), s(b_t))) / 2, the turn: s a 3 x 3 box blur of the maps (so that
  a thing moving less than a block per frame does not flicker between blocks), cos their
  cosine: about 0 .. 0.25 while motion goes on steadily (and 0 with no motion at all), 0.5
  where it starts or stops, 1 where it reverses (a bounce); and the change's own energy.

RBM visible units see these as probabilities (values in [0, 1], guide §13.1), like pixels.
At a clip's ends the frames beyond it are the end frame itself (no motion there). Render is
offline, so the frames after a slot may be used: a `CentredStream` holds LOOK frames back
until it has seen what follows them (constant memory). `movement_rows` builds the same rows
for a whole training set, clip by clip; both use `_rows`, one definition of the input.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import numpy as np

from .history import clip_bounds
from .layout import InputLayout

log = logging.getLogger("bitmap2pcm")

NAME = "movement"
LOOK = 3                   # frames either side of the slot
COARSE_SIDE = 16           # maps of 16 x 16 blocks (4 x 4 pixels of a 64 x 64 frame)
ENERGY_FLOOR = 1e-4        # mean |difference| below this is no motion at all
ENERGY_DECADES = 4.0       # g maps 1e-4 .. 1 (four decades) onto 0 .. 1
MAP = COARSE_SIDE * COARSE_SIDE
STEPS = 2 * LOOK           # frame-to-frame energies in the window: e_(t-2) .. e_(t+3)
SCALARS = STEPS + 2
CHUNK_ROWS = 2048          # rows built at a time: bounds the temporaries
TINY = 1e-12               # products of map norms below this: no motion


def input_size(pixels: int) -> int:
    """Input units of a movement network (the same for any frame size that shrinks to the
    coarse grid; `pixels` is checked by `coarse`)."""
    del pixels
    return 4 * MAP + SCALARS


def coarse(differences: np.ndarray) -> np.ndarray:
    """Block means of (n, side*side) maps: (n, COARSE_SIDE**2), so that a map means the same
    on any video (a moving edge anywhere in a block, not a particular pixel)."""
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


def _rows(window: np.ndarray, out: np.ndarray) -> None:
    """Movement rows of the n frames window[LOOK:-LOOK] (window: (n + 2 LOOK, pixels),
    float32 in [0, 1], each frame's LOOK neighbours on either side), into `out` (n, size)."""
    n = len(out)
    frames = window[LOOK:LOOK + n]
    into = coarse(frames - window[LOOK - 1:LOOK - 1 + n])
    out_of = coarse(window[LOOK + 1:LOOK + 1 + n] - frames)
    change = np.abs(out_of - into)
    out[:, :MAP] = coarse(frames)
    out[:, MAP:2 * MAP] = (into + 1.0) * 0.5
    out[:, 2 * MAP:3 * MAP] = (out_of + 1.0) * 0.5
    out[:, 3 * MAP:4 * MAP] = np.minimum(1.0, 2.0 * change)
    steps = np.abs(np.diff(window, axis=0)).mean(axis=1)  # e of every step in the window
    # e_(t-2+k) of row i joins frames i + k and i + k + 1 of the window
    scalars(np.stack([steps[k:k + n] for k in range(STEPS)], axis=1), into, out_of, out[:, 4 * MAP:])


def scalars(energies: np.ndarray, into: np.ndarray, out_of: np.ndarray, out: np.ndarray,
            still_norm: float = TINY) -> None:
    """The SCALARS of n slots into `out` (n, SCALARS): g(e) of the `energies` (n, STEPS) of
    the six frame steps around each slot, the turn ratio of the coarse motion maps in and out
    of each slot (`into`, `out_of`; 0 where both maps' norms are below `still_norm`) and g of
    the change's energy."""
    out[:, :STEPS] = energy_unit(energies)
    out[:, STEPS] = _turn(into, out_of, still_norm)
    out[:, STEPS + 1] = energy_unit(np.abs(out_of - into).mean(axis=1))


def _turn(into: np.ndarray, out_of: np.ndarray, still_norm: float = TINY) -> np.ndarray:
    """(1 - cos) / 2 of the blurred motion maps in and out (see the module notes); 0 where
    nothing moves on either side."""
    a, b = _blurred(into), _blurred(out_of)
    norm_a, norm_b = np.sqrt((a * a).sum(axis=1)), np.sqrt((b * b).sum(axis=1))
    still = (norm_a < still_norm) & (norm_b < still_norm)
    cosine = np.where(still, 1.0, (a * b).sum(axis=1) / np.maximum(norm_a * norm_b, TINY))
    return np.clip((1.0 - cosine) * 0.5, 0.0, 1.0)


def _blurred(maps: np.ndarray) -> np.ndarray:
    """A 3 x 3 box blur of (n, MAP) coarse maps (zero beyond the picture)."""
    grids = np.pad(maps.reshape(-1, COARSE_SIDE, COARSE_SIDE), ((0, 0), (1, 1), (1, 1)))
    total = sum(grids[:, i:i + COARSE_SIDE, j:j + COARSE_SIDE] for i in range(3) for j in range(3))
    return total.reshape(len(maps), MAP) / 9.0


def _padded(frames: np.ndarray, before: bool, after: bool) -> np.ndarray:
    """`frames` with its end frames repeated LOOK times at the ends asked for."""
    parts = [np.repeat(frames[:1], LOOK, axis=0)] if before else []
    parts.append(frames)
    if after:
        parts.append(np.repeat(frames[-1:], LOOK, axis=0))
    return np.concatenate(parts)


class CentredRows:
    """Rows that each slot's LOOK frames on either side decide, built by `fill(window, out)`
    (as `_rows` is) into `width` columns: for a whole training set clip by clip (`of_frames`:
    no window crosses a clip start, clip ends repeat the end frame) or for a stream of frame
    batches (`stream`), the same rows either way. movement.py and patches.py are two fills."""

    def __init__(self, fill: Callable[[np.ndarray, np.ndarray], None], width: int) -> None:
        self.fill, self.width = fill, width

    def of_window(self, window: np.ndarray) -> np.ndarray:
        """The rows of window[LOOK:-LOOK], CHUNK_ROWS at a time (bounded temporaries)."""
        out = np.empty((len(window) - 2 * LOOK, self.width), np.float32)
        for start in range(0, len(out), CHUNK_ROWS):
            stop = min(len(out), start + CHUNK_ROWS)
            self.fill(window[start:stop + 2 * LOOK], out[start:stop])
        return out

    def of_frames(self, frames: np.ndarray, clip_starts: Iterable[int] = (0,)) -> np.ndarray:
        """The rows of `frames` (n x pixels, float32 in [0, 1]); `clip_starts` are the rows
        where a clip begins (row 0 always does)."""
        frames = np.asarray(frames, dtype=np.float32)
        out = np.empty((len(frames), self.width), np.float32)
        for first, stop in clip_bounds(clip_starts, len(frames)):
            out[first:stop] = self.of_window(_padded(frames[first:stop], True, True))
        return out

    def stream(self) -> "CentredStream":
        return CentredStream(self)


class CentredStream:
    """`CentredRows` of a stream of frame batches from one video: `push` each batch (n x
    pixels, float32 in [0, 1]) and get the rows of the frames whose LOOK following frames
    are known; `finish` gives the rest. Together they are `of_frames` of all the frames."""

    def __init__(self, rows: CentredRows) -> None:
        self._rows = rows
        self._window: np.ndarray | None = None  # LOOK frames of context, then those waiting

    def push(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, dtype=np.float32)
        if len(frames) == 0:
            return np.empty((0, self._rows.width), np.float32)
        window = (_padded(frames, True, False) if self._window is None
                  else np.concatenate([self._window, frames]))
        ready = len(window) - 2 * LOOK
        self._window = window[max(0, ready):].copy()
        return self._rows.of_window(window) if ready > 0 else np.empty((0, self._rows.width), np.float32)

    def finish(self) -> np.ndarray:
        """The rows of the last frames (the video's end frame stands for what follows it),
        or no rows for an empty video."""
        if self._window is None:
            return np.empty((0, 0), np.float32)
        window, self._window = _padded(self._window, False, True), None
        return self._rows.of_window(window)


MOVEMENT_ROWS = CentredRows(_rows, 4 * MAP + SCALARS)


def movement_rows(frames: np.ndarray, clip_starts: Iterable[int] = (0,)) -> np.ndarray:
    """The movement rows of `frames` (n x pixels, float32 in [0, 1]); `clip_starts` are the
    rows where a clip begins (row 0 always does): no window crosses them."""
    return MOVEMENT_ROWS.of_frames(frames, clip_starts)


class Movement(InputLayout):
    """The movement in a centred window of coarse frames (theanet.py --input movement)."""

    name = NAME
    lookahead_slots = LOOK
    gray_only = True
    # a cue brain's measured Nesterov settings (learn/settings.py); Adam on it is unmeasured
    training = {"optimizer": "nesterov", "learning_rate": 0.3}

    def units(self, pixels: int) -> int:
        return input_size(pixels)

    def what(self, pixels: int) -> str:
        del pixels
        return "each slot's movement on a coarse grid"

    def rows(self, frames: np.ndarray, clip_starts: list[int]) -> np.ndarray:
        log.info("building movement inputs: the motion in a window of %d frames around each "
                 "slot (%d inputs per slot)", 2 * LOOK + 1, self.units(frames.shape[1]))
        return movement_rows(frames, clip_starts)

    def stream(self) -> CentredStream:
        return MOVEMENT_ROWS.stream()

    def convention(self, picture: dict[str, Any]) -> dict[str, Any]:
        return dict(picture, layout=NAME, look=LOOK, coarse_side=COARSE_SIDE,
                    energy_floor=ENERGY_FLOOR, energy_decades=ENERGY_DECADES,
                    rows="coarse frame, (d+1)/2 of motion in and out, min(1, 2|out - in|), "
                         "g(e) of the six steps t-2..t+3, turn ratio, g(|out - in|); "
                         "clip ends repeat the end frame")


LAYOUT = Movement()
