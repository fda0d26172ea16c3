"""Input rows kept as the pieces they repeat, gathered by index when a batch needs them.

A patch row (patches.py) is the maps of the six frame steps around its slot, then a few
scalars: each step's map is in six rows, so a training set held row by row keeps every map
six times. `GatheredRows` keeps each map once:

    pieces   (m, w)   float32   every distinct leading piece (a frame step's map), once
    index    (n, k)   int32     row i's k pieces, in order
    direct   (n, g)   float32   row i's own last columns (the scalars)

    row i = [ pieces[index[i, 0]], ..., pieces[index[i, k - 1]], direct[i] ]

A patch row then takes about (w + g) floats and k indices instead of k w + g floats (two
hours of video: 0.23 GB instead of 1.3 GB). Training gathers the rows of each minibatch
inside its compiled step (`symbolic_rows`, used by learn/backend.py); numpy callers take
rows with `[...]`, which gives an ordinary array of the rows asked for, bit for bit the rows
the layout built. Pieces are found by comparing each row's pieces with the previous row's
(`GatheredBuilder`), so the result never depends on how the rows were produced: a piece that
is not an exact copy of one before it is kept as a piece of its own.
"""

from __future__ import annotations

import zlib
from typing import Any, Sequence

import numpy as np

CRC_ROWS = 4096  # rows materialised at a time for a digest


class GatheredRows:
    """Rows (n, k w + g) kept as pieces, an index and direct columns (see the module notes)."""

    def __init__(self, pieces: np.ndarray, index: np.ndarray, direct: np.ndarray) -> None:
        self.pieces = np.ascontiguousarray(pieces, np.float32)
        self.index = np.ascontiguousarray(index, np.int32)
        self.direct = np.ascontiguousarray(direct, np.float32)
        if self.index.ndim != 2 or len(self.index) != len(self.direct):
            raise ValueError(f"index {self.index.shape} and direct columns {self.direct.shape} "
                             "do not describe the same rows")

    @property
    def per_row(self) -> int:
        """k: the pieces each row begins with."""
        return int(self.index.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.index), self.per_row * self.pieces.shape[1] + self.direct.shape[1]

    @property
    def dtype(self) -> np.dtype:
        return self.pieces.dtype

    @property
    def nbytes(self) -> int:
        return self.pieces.nbytes + self.index.nbytes + self.direct.nbytes

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key: Any) -> np.ndarray:
        """The rows `key` selects (a slice, an index array, an int), as an ordinary array; a
        tuple selects rows by its first item and columns by the rest."""
        if isinstance(key, tuple):
            chosen, columns = self[key[0]], key[1:]
            return chosen[columns] if chosen.ndim == 1 else chosen[(slice(None), *columns)]
        index, direct = self.index[key], self.direct[key]
        if index.ndim == 1:  # one row
            return np.concatenate([self.pieces[index].ravel(), direct])
        return np.concatenate([self.pieces[index].reshape(len(index), -1), direct], axis=1)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        del copy
        rows = self[:]
        return rows if dtype is None else rows.astype(dtype)

    def crc32(self, crc: int = 0) -> int:
        """zlib.crc32 of the rows as one C-contiguous float32 array: the same number as for
        the rows materialised, without materialising them all."""
        for start in range(0, len(self), CRC_ROWS):
            crc = zlib.crc32(memoryview(self[start:start + CRC_ROWS]).cast("B"), crc)
        return crc


class GatheredBuilder:
    """Builds `GatheredRows` from rows appended a block at a time (n, k w + g), keeping a
    piece once where a row's piece j equals the previous row's piece j + 1 (a window moved
    on by one) or j (a row repeated), exactly."""

    def __init__(self, per_row: int, piece_width: int) -> None:
        self.per_row, self.piece_width = per_row, piece_width
        self._pieces: list[np.ndarray] = []
        self._indices: list[np.ndarray] = []
        self._directs: list[np.ndarray] = []
        self._count = 0                          # pieces kept so far
        self._last: np.ndarray | None = None     # the previous row's pieces ...
        self._last_index: np.ndarray | None = None  # ... and their numbers

    def start_clip(self) -> None:
        """Rows after this share no piece with rows before (cheaper to compare, and true)."""
        self._last = self._last_index = None

    def append(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, np.float32)
        if len(rows) == 0:
            return
        k, w = self.per_row, self.piece_width
        pieces = rows[:, :k * w].reshape(len(rows), k, w)
        # each row's pieces against the row before it (the last block's last row first)
        before = pieces[:-1] if self._last is None else np.concatenate([self._last[None], pieces[:-1]])
        first = 0 if self._last is None else 1  # pieces[i] is compared with before[i - 1 + first]
        moved_on = np.zeros((len(rows), k), bool)
        repeated = np.zeros((len(rows), k), bool)
        moved_on[1 - first:, :-1] = (pieces[1 - first:, :-1] == before[:, 1:]).all(axis=2)
        repeated[1 - first:] = (pieces[1 - first:] == before).all(axis=2)
        index = np.empty((len(rows), k), np.int32)
        previous = None if self._last_index is None else [int(n) for n in self._last_index]
        kept: list[np.ndarray] = []
        for i in range(len(rows)):
            current = []
            for j in range(k):
                if moved_on[i, j]:
                    current.append(previous[j + 1])
                elif repeated[i, j]:
                    current.append(previous[j])
                else:
                    kept.append(pieces[i, j])
                    current.append(self._count)
                    self._count += 1
            index[i] = current
            previous = current
        if kept:
            self._pieces.append(np.array(kept, np.float32))
        self._indices.append(index)
        self._directs.append(rows[:, k * w:].copy())
        self._last, self._last_index = pieces[-1].copy(), index[-1].copy()

    def rows(self) -> GatheredRows:
        k, w = self.per_row, self.piece_width
        return GatheredRows(np.concatenate(self._pieces) if self._pieces else np.zeros((0, w), np.float32),
                            np.concatenate(self._indices) if self._indices else np.zeros((0, k), np.int32),
                            np.concatenate(self._directs) if self._directs else np.zeros((0, 0), np.float32))


def concatenate(parts: Sequence[Any]) -> Any:
    """The rows of `parts` one after another: `GatheredRows` when they all are (their pieces
    side by side, the indices moved on), else an ordinary array."""
    if all(isinstance(part, GatheredRows) for part in parts):
        offsets = np.cumsum([0] + [len(part.pieces) for part in parts[:-1]])
        return GatheredRows(np.concatenate([part.pieces for part in parts]),
                            np.concatenate([part.index + np.int32(offset)
                                            for part, offset in zip(parts, offsets)]),
                            np.concatenate([part.direct for part in parts]))
    return np.concatenate([np.asarray(part) for part in parts])


def crc32(rows: Any, crc: int = 0) -> int:
    """zlib.crc32 of input rows, gathered or not."""
    if isinstance(rows, GatheredRows):
        return rows.crc32(crc)
    return zlib.crc32(memoryview(np.ascontiguousarray(rows)).cast("B"), crc)


def symbolic_rows(pieces: Any, index: Any, direct: Any, rows: Any, tensor: Any) -> Any:
    """The rows `rows` (a symbolic vector of row numbers) of gathered rows held in backend
    variables `pieces`, `index`, `direct` (`tensor`: pytensor.tensor)."""
    chosen = pieces[index[rows].flatten()]
    width = index.shape[1] * pieces.shape[1]
    return tensor.concatenate([chosen.reshape((rows.shape[0], width)), direct[rows]], axis=1)
