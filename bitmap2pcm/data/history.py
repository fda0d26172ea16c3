"""History inputs (the author's suggestion): the network sees the frame and its recent motion.

With history K the input row of slot t is the current frame followed by K frame differences,

    [ f_t,  u(f_t - f_{t-1}),  u(f_{t-1} - f_{t-2}),  ...,  u(f_{t-K+1} - f_{t-K}) ]

where u(d) = (d + 1) / 2 maps a difference in [-1, 1] to [0, 1], so the RBM's visible units
still see [0, 1] (no motion = 0.5). At the start of a clip the missing previous frames repeat
the clip's first frame (difference 0, so 0.5). Frames are float32 in [0, 1]; the row is
pixels * (K + 1) wide. K = 0 is the plain frame (the original's input).

`with_history` builds the rows of a whole training set at once (one float32 matrix, built
once); `HistoryStream` builds the same rows for a stream of batches (render), carrying the last
K frames across batch boundaries, so memory stays at one batch. Both use `_rows`: one
definition of the input.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

import numpy as np

from ..core.errors import UserError
from .layout import InputLayout

log = logging.getLogger("bitmap2pcm")

NAME = "frame+differences"
CHUNK_ROWS = 2048  # rows built at a time: bounds the temporaries of the fancy indexing


def input_size(pixels: int, k: int) -> int:
    """Input units of a network with history `k` on frames of `pixels` pixels."""
    return pixels * (k + 1)


def clip_starts_of(count: int, clips: Iterable[tuple[int, int]]) -> list[int]:
    """Rows where a clip begins among `count` rows, given each clip as (first row, slots):
    each clip's first row, and every row outside the clips (a silence anchor is a still
    picture of its own)."""
    inside = np.zeros(count, dtype=bool)
    starts = []
    for first_row, slots in clips:
        inside[first_row:first_row + slots] = True
        starts.append(first_row)
    return sorted(set(starts) | set(np.nonzero(~inside)[0].tolist()))


def clip_bounds(clip_starts: Iterable[int], count: int) -> list[tuple[int, int]]:
    """(first, stop) of each clip among `count` rows whose clips begin at `clip_starts` (row
    0 always begins one; starts outside the rows are ignored), in order, none empty."""
    edges = sorted({0, *(int(s) for s in clip_starts if 0 < s < count)}) + [count]
    return [(first, stop) for first, stop in zip(edges[:-1], edges[1:]) if stop > first]


def previous_rows(count: int, clip_starts: Iterable[int]) -> np.ndarray:
    """For each row the row before it in its clip, or itself at a clip's start (row 0 always
    starts one)."""
    previous = np.arange(count, dtype=np.int64) - 1
    previous[0:1] = 0
    starts = np.asarray([s for s in clip_starts if 0 <= s < count], dtype=np.int64)
    previous[starts] = starts
    return previous


def _rows(frames: np.ndarray, k: int, previous: np.ndarray, rows: np.ndarray,
          out: np.ndarray) -> None:
    """Write the history inputs of `rows` (indices into `frames`) into `out` (len(rows) x
    pixels*(k+1)); `previous` gives each row's predecessor (itself at a clip start)."""
    pixels = frames.shape[1]
    out[:, :pixels] = frames[rows]
    later = rows
    for j in range(1, k + 1):
        earlier = previous[later]
        block = out[:, j * pixels:(j + 1) * pixels]
        np.subtract(frames[later], frames[earlier], out=block)
        block += np.float32(1.0)
        block *= np.float32(0.5)
        later = earlier


def with_history(frames: np.ndarray, k: int, clip_starts: Iterable[int] = (0,)) -> np.ndarray:
    """The history-K input rows of `frames` (n x pixels, float32 in [0, 1]): n x pixels*(k+1)
    float32 (see the module notes). `clip_starts` are the rows where a clip begins (row 0
    always does). For k = 0 the frames themselves are returned, not copied."""
    if k < 0:
        raise ValueError(f"history must be 0 or more, not {k}")
    frames = np.asarray(frames, dtype=np.float32)
    if k == 0:
        return frames
    count, pixels = frames.shape
    previous = previous_rows(count, clip_starts)
    out = np.empty((count, input_size(pixels, k)), np.float32)
    for start in range(0, count, CHUNK_ROWS):
        rows = np.arange(start, min(count, start + CHUNK_ROWS))
        _rows(frames, k, previous, rows, out[start:start + len(rows)])
    return out


class HistoryStream:
    """History-K inputs for a stream of frame batches from one clip (a video): `push` each
    batch (n x pixels, float32 in [0, 1]) and get its input rows, the same rows as
    `with_history` of all the frames at once. Keeps only the last k frames between pushes."""

    def __init__(self, k: int):
        if k < 0:
            raise ValueError(f"history must be 0 or more, not {k}")
        self.k = k
        self.context: np.ndarray | None = None  # the last k frames seen (k x pixels)

    def push(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, dtype=np.float32)
        if self.k == 0 or len(frames) == 0:
            return frames
        if self.context is None:  # the video's start: its first frame stands for the ones before
            self.context = np.repeat(frames[:1], self.k, axis=0)
        extended = np.concatenate([self.context, frames])
        # within `extended` every row's predecessor is the row before it: the context rows
        # are real (or repeated first) frames, so no clip start falls inside
        previous = np.maximum(np.arange(len(extended), dtype=np.int64) - 1, 0)
        out = np.empty((len(frames), input_size(frames.shape[1], self.k)), np.float32)
        _rows(extended, self.k, previous, np.arange(self.k, len(extended)), out)
        self.context = extended[-self.k:].copy()
        return out

    def finish(self) -> np.ndarray:
        """No rows are held back (every frame's input is known when it arrives)."""
        return np.empty((0, 0), np.float32)


class History(InputLayout):
    """The frame and its `k` previous differences (theanet.py --history K)."""

    name = NAME
    chosen_by_name = False

    def __init__(self, k: int) -> None:
        if k < 1:
            raise ValueError(f"a history layout has 1 or more differences, not {k}")
        self.k = k

    def units(self, pixels: int) -> int:
        return input_size(pixels, self.k)

    def what(self, pixels: int) -> str:
        return f"each {pixels}-pixel frame and {self.k} difference{'' if self.k == 1 else 's'}"

    def option(self) -> str:
        return f"--history {self.k}"

    def rows(self, frames: np.ndarray, clip_starts: list[int]) -> np.ndarray:
        log.info("building history inputs: each frame and %d difference%s (%d inputs per slot)",
                 self.k, "" if self.k == 1 else "s", self.units(frames.shape[1]))
        return with_history(frames, self.k, clip_starts)

    def stream(self) -> HistoryStream:
        return HistoryStream(self.k)

    def convention(self, picture: dict[str, Any]) -> dict[str, Any]:
        return dict(picture, layout=NAME, history=int(self.k),
                    difference_mapping="(d + 1) / 2, d = f_t - f_(t-1); clip start repeats its first frame")

    @classmethod
    def from_convention(cls, record: dict[str, Any], pixels: int, source: str) -> "History":
        k = record.get("history")
        if not isinstance(k, int) or k < 1:
            raise UserError(f"{source}: brain records history {k!r}, not a whole number of frames")
        return cls(k)
