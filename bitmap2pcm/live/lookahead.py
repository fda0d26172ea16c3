"""Look-ahead: fewer frames after a slot than the brain's layout waits for, on request.

A brain's own look-ahead is its input layout's (`brain.lookahead_slots`): a movement brain
sees frames t-3 .. t+3, so its row for frame t comes once frame t+3 has arrived (three
frames, 100 ms); a frame or history brain waits for none. A patch brain waits three frames,
and up to two more while a picture is held (it spreads held pictures once the next distinct
one has come): live waits its steady three by default (`steady_lookahead_slots`), so that a
row comes every frame; rows that would wait longer are given on time from stand-ins (below).
Waiting for held pictures, rows came in bursts two frames late, and the sound device ran
dry in between (20 underruns in 15 s of bench/live's pictures, none at a steady pace).

With fewer frames of look-ahead (`--lookahead N`) the row for frame t is given once frame
t+N has arrived: the layout's stream is copied and finished, which stands the newest frame
in for the frames still to come -- exactly what render does at a video's end. The row the
stream later gives for that frame, with the true frames, is not used again: every frame
gets one row, in order, and the sound one slot per frame.
"""

from __future__ import annotations

import copy
import numpy as np

from ..core.errors import UserError
from ..learn.brain import Brain

class LookaheadRows:
    """Input rows for a live stream of frames, each row given `frames` frames after its
    own (at most the brain's look-ahead, `brain_frames`). `push` (n frames, float32 in
    [0, 1]) gives the rows that are due; `finish` the rest, as render gives them."""

    def __init__(self, network: Brain, frames: int | None = None) -> None:
        self.brain_frames = network.lookahead_slots
        self.frames = network.layout.steady_lookahead_slots if frames is None else frames
        if not 0 <= self.frames <= self.brain_frames:
            raise UserError(f"--lookahead {self.frames}: this brain looks at most {self.brain_frames} "
                            f"frames ahead (0 .. {self.brain_frames})")
        self._builder = network.layout.stream()
        self._pushed = 0   # frames pushed
        self._built = 0    # frames the builder has given rows for
        self._given = 0    # frames given rows (builder's or early ones)

    def _fresh(self, rows: np.ndarray) -> np.ndarray:
        """The builder's new rows that were not given early."""
        first = self._built
        self._built += len(rows)
        return rows[max(0, self._given - first):]

    def push(self, frames: np.ndarray) -> np.ndarray:
        self._pushed += len(frames)
        rows = self._fresh(self._builder.push(frames))
        self._given += len(rows)
        due = self._pushed - self.frames - self._given
        if due > 0:  # rows the builder still holds back: finish a copy of it
            early = copy.deepcopy(self._builder).finish()
            start = self._given - self._built
            rows = np.concatenate([rows, early[start:start + due]]) if len(rows) else early[start:start + due]
            self._given += due
        return rows

    def finish(self) -> np.ndarray:
        rows = self._fresh(self._builder.finish())
        self._given += len(rows)
        return rows
