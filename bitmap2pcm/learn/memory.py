"""Memory: the output layer sees what the network saw over the last second, not one slot.

The 2015 author's verdict was "there is no memory", and his suggestion "use history ... an
RNN might be a great idea". A brain's input window sees a few frames around its slot; once
an impact has left the window the network no longer knows the sound is still ringing, and
the loudness of the slots after it is guessed from the picture alone. With memory the output
layer reads the top hidden layer's activity h of the slot and of the slots before it,
averaged over spans that double with the distance back (a temporal convolution whose weights
are shared within a span):

    m_t = [ h_t,  h_(t-1),  mean h_(t-3 .. t-2),  mean h_(t-7 .. t-4),  ...,  mean h_(t-2^k+1 .. t-2^(k-1)) ]
    y_t = m_t W_out + b_out

with spans reaching back `memory_seconds` (1 s: six spans, 32 slots). It is causal: it
waits for no frame the input window does not already wait for, so live latency is unchanged.
At the start of a clip the missing past repeats the clip's first slot (as `history` does).

Training (learn/train.py) fine-tunes the network as before, then fits the memory's output
layer on the fixed hidden activity of every row in order, starting from the fine-tuned
output layer on h_t (the memoryless brain) and keeping the fit that did best on validation.
Measured (docs/training.md): a patch brain trained on the event benchmark's training scene,
on five event scenes it never saw, onset F1 0.70 and loudness r 0.49 with a second of memory
against 0.65 and 0.39 without (0.70, 0.50 against 0.64, 0.41 with another seed); on scenes of
another kind than its training scene, onset F1 and loudness r 0.02 lower on average.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from ..core import grid
from ..core.errors import UserError
from ..data.history import clip_bounds


def spans_for(seconds: float) -> list[tuple[int, int]]:
    """The spans (nearest, farthest slots back) of a memory reaching back `seconds`: the slot
    itself, the one before, then spans doubling until they reach; [] for no memory."""
    if seconds <= 0:
        return []
    reach = max(1, round(seconds * grid.SLOTS_PER_SECOND))
    spans, nearest = [(0, 0)], 1
    while nearest <= reach:
        spans.append((nearest, 2 * nearest - 1))
        nearest *= 2
    return spans


def reach_of(spans: Sequence[Sequence[int]]) -> int:
    """How many slots back the farthest span reaches."""
    return max(int(farthest) for _, farthest in spans)


def record(spans: Sequence[Sequence[int]]) -> dict[str, Any]:
    """What a brain file says about its memory (brain.py)."""
    return {"spans": [[int(a), int(b)] for a, b in spans],
            "what": "the top hidden layer's mean over each span of slots back, side by side, "
                    "into the output layer; the past before a clip repeats its first slot"}


def spans_of(memory: Any, source: str) -> list[tuple[int, int]]:
    """The spans of a brain's memory record, checked (UserError naming the problem)."""
    try:
        spans = [(int(a), int(b)) for a, b in memory["spans"]]
    except (TypeError, KeyError, ValueError):
        raise UserError(f"{source}: brain's memory record has no list of spans") from None
    if not spans or any(not 0 <= a <= b for a, b in spans):
        raise UserError(f"{source}: brain's memory spans {spans} are not (nearest, farthest) slots back")
    return spans


def features(hidden: np.ndarray, spans: Sequence[Sequence[int]],
             clip_starts: Iterable[int] = (0,)) -> np.ndarray:
    """m_t of every row of `hidden` (n, H), its rows in time order, clips beginning at
    `clip_starts` (row 0 always begins one): (n, len(spans) * H) float32."""
    hidden = np.asarray(hidden, np.float32)
    out = np.empty((len(hidden), len(spans) * hidden.shape[1]), np.float32)
    for first, stop in clip_bounds(clip_starts, len(hidden)):
        _clip_features(hidden[first:stop], hidden[first:first + 1], spans, out[first:stop])
    return out


def _clip_features(hidden: np.ndarray, past: np.ndarray, spans: Sequence[Sequence[int]],
                   out: np.ndarray) -> np.ndarray:
    """m_t of the rows `hidden` of one clip, preceded by the rows `past` (the last ones the
    memory holds; fewer than its reach repeat the first of them), written into `out` (n,
    len(spans) * H) float32 one span at a time: a whole training set's features in float64
    would take three times its float32 features at once."""
    reach = reach_of(spans)
    if len(past) < reach:
        past = np.concatenate([np.repeat(past[:1], reach - len(past), axis=0), past])
    sequence = np.concatenate([past[len(past) - reach:], hidden]).astype(np.float64)
    sums = np.concatenate([np.zeros((1, sequence.shape[1])), np.cumsum(sequence, axis=0)])
    now = np.arange(len(hidden)) + reach  # row t's place in `sequence`
    width = hidden.shape[1]
    for index, (a, b) in enumerate(spans):
        out[:, index * width:(index + 1) * width] = (sums[now - a + 1] - sums[now - b]) / (b - a + 1)
    return out


class MemoryStream:
    """`features` for a stream of batches of one video's rows (render, live): it keeps the
    last rows its reach needs, so memory stays one batch and the result is the same however
    the rows are batched."""

    def __init__(self, spans: Sequence[Sequence[int]]) -> None:
        self.spans = [tuple(span) for span in spans]
        self.past: np.ndarray | None = None

    def push(self, hidden: np.ndarray) -> np.ndarray:
        hidden = np.asarray(hidden, np.float32)
        if len(hidden) == 0:
            return np.zeros((0, len(self.spans) * hidden.shape[1]), np.float32)
        past = hidden[:1] if self.past is None else self.past
        out = _clip_features(hidden, past, self.spans,
                             np.empty((len(hidden), len(self.spans) * hidden.shape[1]), np.float32))
        held = np.concatenate([past, hidden])
        self.past = held[-reach_of(self.spans):]
        return out


def initial_output_layer(weights: np.ndarray, spans: Sequence[Sequence[int]]) -> np.ndarray:
    """The memory's output weights that give the memoryless layer `weights` (H, outputs):
    h_t's block is `weights`, the past's blocks zero, so the fit starts where fine-tuning ended."""
    hidden, outputs = weights.shape
    start = np.zeros((len(spans) * hidden, outputs), np.float32)
    start[:hidden] = weights  # spans_for puts the slot itself first
    return start
