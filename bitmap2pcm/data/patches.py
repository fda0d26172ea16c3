"""Patch inputs: the motion around a slot in every small patch of the picture, for one
detector shared across the picture.

A fully-connected first layer on the movement grid (movement.py) learns each block by itself:
trained with impacts in the left of the picture it is silent on the right, and on scenes of
another kind it is at chance (docs/evaluation.md). The retired flow layout pooled the
picture's optical flow before anything was learned and could not tell which of many objects
hit (on dense scenes at chance). This layout
shows the network the same measures at every place, and the network (learn/pooling.py)
applies one learned detector at each place and pools *after* it: what it learns an impact
looks like in one corner it finds in any other, as the convolutional deep belief networks of
Lee, Grosse, Ranganath & Ng (2009) share their weights across positions.

The row of slot t is the coarse frame differences of the six frame steps around it, d_k =
c(f_k - f_(k-1)) for k = t-2 .. t+3 (c: 4 x 4-pixel block means on the 16 x 16 grid,
movement.coarse), each less its median over the picture (a brightness change moves every
block alike and is taken out), as u(d) = (clip(GAIN d, -1, 1) + 1) / 2 in [0, 1] (no change
= 0.5, as RBM visible units want them); then movement's SCALARS (energies of the six steps,
turn, change energy) of the same brightness-free maps, which are about the whole picture. A
place is PATCH_BLOCKS x PATCH_BLOCKS blocks (16 x 16 pixels of a 64 x 64 picture) every
STRIDE_BLOCKS blocks: 7 x 7 = 49 places of 6 x 16 = 96 values. The window is movement's
(three frames either side, clip ends repeat the end frame). Held pictures (animation on
twos or threes, 24 fps on the 30 fps grid) are spread first (flow.EvenPictures): each held
slot is a picture between the distinct pictures around it, their blend or (`inbetweens`
"motion", theanet.py --inbetweens motion) the pictures moved along the optical flow, so
every difference is the motion of one slot, whatever the picture rate; a held picture
waits for the next distinct one, so a slot's row is known at most LOOK +
flow.MAX_HOLD_SLOTS frames after it (LOOK for video without held pictures). With
`steady_camera` (theanet.py --steady-camera) each frame step is taken after the camera's own
motion (camera.py), so a shaking or panning camera is not motion in every patch.

`ahead` (theanet.py --frames-ahead N, 0 to LOOK) moves the same window earlier: the row of
slot t is the centred row of slot t - (LOOK - N), the six steps ending N frames after t, so
a live camera's sound waits N frames instead of LOOK (bench/live).

Measured (docs/evaluation.md, bench/cross_scenes): on kinds of scene it never trained on,
mean onset F1 0.63 against movement's 0.40; trained on the left quarter of the picture it
finds 0.68 of the right quarter's onsets, where movement is silent.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import numpy as np

from ..core.errors import UserError
from . import camera, flow, movement
from .gathered import GatheredBuilder, GatheredRows
from .history import clip_bounds
from .layout import InputLayout, Positions

log = logging.getLogger("bitmap2pcm")

NAME = "patches"
GAIN = 4.0               # a block mean changing by 1/4 of the range or more saturates
PATCH_BLOCKS = 4         # a place: 4 x 4 blocks of the 16 x 16 grid
STRIDE_BLOCKS = 2        # places overlap by half
SIDE = movement.COARSE_SIDE
MAP = movement.MAP
STEPS = movement.STEPS   # the six frame steps t-2 .. t+3
WIDTH = STEPS * MAP + movement.SCALARS
# maps whose every block changes less than the energy floor have no direction: the turn of
# rounding noise (a brightness change less its median) would be anything
STILL_NORM = movement.ENERGY_FLOOR * SIDE
FRAMES_AT_ONCE = 1024  # `Patches.rows` builds the rows of this many frames at a time


def _rows(window: np.ndarray, out: np.ndarray, steady: bool) -> None:
    """Patch rows of the n frames window[LOOK:-LOOK] into `out` (n, WIDTH) (as movement._rows),
    `steady`: with the camera's motion taken out of each frame step (camera.py)."""
    n = len(out)
    # every frame step of the window once (each is in six rows), less its median
    steps = movement.coarse(camera.steadied_differences(window) if steady else np.diff(window, axis=0))
    steps -= np.median(steps, axis=1, keepdims=True)
    units = (np.clip(GAIN * steps, -1.0, 1.0) + 1.0) * 0.5
    for k in range(STEPS):  # d_(t-2+k) of row i is step i + k of the window
        out[:, k * MAP:(k + 1) * MAP] = units[k:k + n]
    now = STEPS // 2 - 1  # d_t is step i + now of row i, d_(t+1) the next
    # the scalars of the same brightness-free maps: a brightness change moves none of them
    energies = np.abs(steps).mean(axis=1)
    movement.scalars(np.stack([energies[k:k + n] for k in range(STEPS)], axis=1),
                     steps[now:now + n], steps[now + 1:now + 1 + n], out[:, STEPS * MAP:], STILL_NORM)


# by whether the camera's motion is taken out of each frame step (`steady_camera`)
PATCH_ROWS = {steady: movement.CentredRows(functools.partial(_rows, steady=steady), WIDTH)
              for steady in (False, True)}


class PatchStream:
    """Patch rows of one clip's frames arriving in batches: `push` (n, pixels) float32 in
    [0, 1] gives the rows that are known, `finish` the rest. Held pictures are spread first
    (flow.EvenPictures), then each slot waits for the `ahead` frames after it: with fewer than
    LOOK, the row of slot t is the centred row of slot t - (LOOK - ahead), and the clip's first
    row stands in for the slots before it has one."""

    def __init__(self, ahead: int = movement.LOOK, inbetweens: str = flow.INBETWEENS[0],
                 steady_camera: bool = False) -> None:
        self._even = flow.EvenPictures(inbetweens)
        self._rows = PATCH_ROWS[steady_camera].stream()
        self._owed = movement.LOOK - ahead  # first rows to repeat at the clip's start
        self._pushed = 0
        self._given = 0

    def _shifted(self, rows: np.ndarray) -> np.ndarray:
        if self._owed and len(rows):
            rows = np.concatenate([np.repeat(rows[:1], self._owed, axis=0), rows])
            self._owed = 0
        self._given += len(rows)
        return rows

    def push(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, np.float32)
        self._pushed += len(frames)
        even = [picture for frame in frames for picture in self._even.push(frame)]
        even_frames = np.asarray(even, np.float32).reshape(len(even), frames.shape[1])
        return self._shifted(self._rows.push(even_frames))

    def finish(self) -> np.ndarray:
        rest = self._even.finish()
        rows = self._rows.push(np.asarray(rest, np.float32)) if rest else np.empty((0, WIDTH), np.float32)
        last = self._rows.finish()
        due = self._pushed - self._given  # the last LOOK - ahead centred rows belong to no slot
        return self._shifted(np.concatenate([rows, last]) if len(last) else rows)[:due]


@functools.cache  # render asks for them with every batch
def places() -> Positions:
    """The 49 places of a row: each the six steps of its 4 x 4 blocks (step by step, blocks
    row by row), then the scalars as the direct columns."""
    starts = range(0, SIDE - PATCH_BLOCKS + 1, STRIDE_BLOCKS)
    blocks = np.arange(PATCH_BLOCKS)
    index = []
    for top in starts:
        for left in starts:
            cells = ((top + blocks)[:, None] * SIDE + (left + blocks)[None, :]).ravel()
            index.append((np.arange(STEPS)[:, None] * MAP + cells[None, :]).ravel())
    return Positions(np.asarray(index, np.int64), np.arange(STEPS * MAP, WIDTH, dtype=np.int64))


class Patches(InputLayout):
    """The motion of every patch around each slot, for a shared detector (--input patches)."""

    name = NAME
    gray_only = True
    hidden_layers = (48, 128)   # the detector's units, then one layer over the pooled picture

    def __init__(self, ahead: int = movement.LOOK, inbetweens: str = flow.INBETWEENS[0],
                 steady_camera: bool = False) -> None:
        if not 0 <= ahead <= movement.LOOK:
            raise UserError(f"--frames-ahead {ahead}: patch inputs see 0 to {movement.LOOK} "
                            "frames after a slot")
        self.ahead = ahead
        self.inbetweens = inbetweens
        self.steady_camera = steady_camera
        self.lookahead_slots = ahead + flow.MAX_HOLD_SLOTS  # the second only for held pictures

    @property
    def steady_lookahead_slots(self) -> int:
        return self.ahead

    def units(self, pixels: int) -> int:
        del pixels
        return WIDTH

    def what(self, pixels: int) -> str:
        del pixels
        return "each slot's frame differences in 49 patches, for one detector shared across them"

    def rows(self, frames: np.ndarray, clip_starts: list[int]) -> GatheredRows:
        """The rows, each frame step's map kept once (data/gathered.py): a row holds six."""
        log.info("building patch inputs: the frame differences of %d steps around each slot, "
                 "%d patches (%d inputs per slot)", STEPS, len(places().index), WIDTH)
        built = GatheredBuilder(STEPS, MAP)
        for first, stop in clip_bounds(clip_starts, len(frames)):
            # a block of frames at a time, as render streams them: a whole clip at once would
            # hold several float copies of its frames (two hours: gigabytes)
            stream = self.stream()
            built.start_clip()
            for start in range(first, stop, FRAMES_AT_ONCE):
                built.append(stream.push(frames[start:min(start + FRAMES_AT_ONCE, stop)]))
            built.append(stream.finish())
        return built.rows()

    def stream(self) -> PatchStream:
        return PatchStream(self.ahead, self.inbetweens, self.steady_camera)

    def option(self) -> str:
        return (f"--input {NAME}" + (f" --frames-ahead {self.ahead}" if self.ahead != movement.LOOK else "")
                + (f" --inbetweens {self.inbetweens}" if self.inbetweens != flow.INBETWEENS[0] else "")
                + (" --steady-camera" if self.steady_camera else ""))

    @classmethod
    def positions(cls) -> Positions:
        return places()

    def convention(self, picture: dict[str, Any]) -> dict[str, Any]:
        return dict(picture, layout=NAME, ahead=self.ahead, inbetweens=self.inbetweens,
                    steady_camera=self.steady_camera, **self._constants())

    @staticmethod
    def _constants() -> dict[str, Any]:
        return {"look": movement.LOOK, "coarse_side": SIDE, "gain": GAIN,
                "max_hold_slots": flow.MAX_HOLD_SLOTS, "held_level": flow.HELD_LEVEL,
                "held_share": flow.HELD_SHARE,
                "patch_blocks": PATCH_BLOCKS, "stride_blocks": STRIDE_BLOCKS,
                "energy_floor": movement.ENERGY_FLOOR, "energy_decades": movement.ENERGY_DECADES}

    @classmethod
    def from_convention(cls, record: dict[str, Any], pixels: int, source: str) -> "Patches":
        del pixels
        differing = [key for key, value in cls._constants().items() if record.get(key) != value]
        if differing:
            raise UserError(f"{source}: brain's patch inputs were built with other settings "
                            f"({', '.join(differing)}): retrain it with theanet.py --input patches")
        ahead = record.get("ahead", movement.LOOK)  # brains before the choice saw LOOK frames ahead
        if not isinstance(ahead, int) or not 0 <= ahead <= movement.LOOK:
            raise UserError(f"{source}: brain's patch inputs look {ahead!r} frames ahead, which "
                            f"this version does not build: retrain it with theanet.py --input patches")
        inbetweens = record.get("inbetweens", "blend")  # brains before the choice blended
        if inbetweens not in flow.INBETWEENS:
            raise UserError(f"{source}: brain's patch inputs fill held pictures by {inbetweens!r}, "
                            f"which this version does not build: retrain it with theanet.py --input patches")
        steady_camera = record.get("steady_camera", False)  # brains before the choice did not steady
        if not isinstance(steady_camera, bool):
            raise UserError(f"{source}: brain's patch inputs record steady_camera {steady_camera!r}: "
                            f"retrain it with theanet.py --input patches")
        return cls(ahead, inbetweens, steady_camera)
