"""What a brain sees: an input layout, one module each behind this interface.

A layout turns a video's frames (rows of side x side pixel values in [0, 1], three planes
each in colour) into the rows the network's input layer sees, one per 1/30 s slot:

- `units(pixels)`: the row's width for frames of `pixels` values;
- `rows(frames, clip_starts)`: the rows of a whole training set, no row mixing two clips
  (an array, or `gathered.GatheredRows` where rows repeat each other's pieces);
- `stream()`: the same rows for a video arriving a batch at a time (render), in constant
  memory; `lookahead_slots` frames after a slot are needed before its row is known;
- `fitted(...)`: the layout after anything it learns from the training rows (eigen-frames);
- `convention(picture)` / `from_convention(record)`: what it records in the brain, and the
  layout read back (and checked) from a loaded brain;
- `positions()`: for a row that shows the same measures at many places of the picture,
  which columns each place has (`Positions`): the network then applies one detector at every
  place (learn/pooling.py); None (most layouts) for a row the first layer sees whole.

The layouts are frame.py (the original), history.py, movement.py and eigen.py; layouts.py
names them. The picture itself (gray or colour, its side) is the brain's picture convention,
which every layout records (media/video.py): colour is a picture, not a layout. A new layout
is a module with a subclass and one line in layouts.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from .gathered import GatheredRows

Rows = np.ndarray | GatheredRows  # a training set's input rows (`InputLayout.rows`)


@dataclass(frozen=True)
class Positions:
    """The places of a row: `index[p]` are the columns of place p (P places of F values, in
    the same order at each), `direct` the columns about the whole picture, in no place."""

    index: np.ndarray    # (P, F) int64
    direct: np.ndarray   # (G,) int64

    @property
    def per_place(self) -> int:
        return int(self.index.shape[1])


class RowStream(Protocol):
    """Input rows of a video arriving in batches: `push` a batch of frames (n, pixels),
    float32 in [0, 1], and get the rows that are known; `finish` gives the rest. Every frame
    gets one row, in order."""

    def push(self, frames: np.ndarray) -> np.ndarray: ...

    def finish(self) -> np.ndarray: ...


class InputLayout:
    """One way of showing a slot to the network (see the module notes)."""

    name: ClassVar[str]                # the "layout" a brain records; theanet.py --input NAME
    lookahead_slots: int = 0           # frames after a slot its row waits for (patches: per instance)
    gray_only: ClassVar[bool] = False  # True: refuses colour pictures
    chosen_by_name: ClassVar[bool] = True  # theanet.py --input NAME (False: by its own option)
    # the hidden layers of a run that does not give --layers; None: the shallow preset's
    hidden_layers: ClassVar[tuple[int, ...] | None] = None
    # training settings it needs (learn/settings.py names), over the target's, under the user's
    training: ClassVar[dict[str, Any]] = {}

    @property
    def steady_lookahead_slots(self) -> int:
        """Frames after a slot its row waits for while no picture is held: what a live
        session waits by default, so that rows come at a steady pace (`lookahead_slots` is
        the most, for a layout that waits longer on held pictures)."""
        return self.lookahead_slots

    def units(self, pixels: int) -> int:
        raise NotImplementedError

    def what(self, pixels: int) -> str:
        """What the input layer is fed, for messages: "each 4096-pixel frame"."""
        raise NotImplementedError

    def option(self) -> str:
        """The theanet.py option that chooses this layout, for messages."""
        return f"--input {self.name}"

    def rows(self, frames: np.ndarray, clip_starts: list[int]) -> Rows:
        """The input rows of a whole training set's `frames` (n, pixels), float32 in [0, 1];
        `clip_starts` are the rows where a clip begins (row 0 always does). An array, or rows
        whose repeated pieces are kept once (`GatheredRows`: patches.py)."""
        raise NotImplementedError

    def stream(self) -> RowStream:
        raise NotImplementedError

    def fitted(self, frames: np.ndarray, train_rows: np.ndarray, rng: np.random.Generator) -> "InputLayout":
        """The layout ready for training: what it learns from `frames[train_rows]` (only
        those, never held-out or validation rows) with `rng`; most layouts learn nothing."""
        del frames, train_rows, rng
        return self

    @classmethod
    def positions(cls) -> Positions | None:
        """The places of the row for a network that shares its first layer across them, or
        None: the first layer sees the whole row."""
        return None

    def convention(self, picture: dict[str, Any]) -> dict[str, Any]:
        """The brain's input record: the `picture` convention with this layout recorded."""
        return dict(picture, layout=self.name)

    @classmethod
    def from_convention(cls, record: dict[str, Any], pixels: int, source: str) -> "InputLayout":
        """The layout a loaded brain's input record describes, for frames of `pixels` values;
        UserError (naming `source`) when it is unusable."""
        del record, pixels, source
        return cls()
