"""One frame per slot, and back: the framing and overlap-add that every non-PCM target shares.

A brain that predicts something longer than its slot (a windowed PCM frame, `overlap`; a
spectrum of a windowed frame, `spectral`) sees frame t as `length` samples starting `lead`
samples before slot t, frames `hop` = 735 samples apart, the signal zero beyond its ends.
Synthesis is the weighted overlap-add of the predicted frames: each is multiplied by a
synthesis window and summed, and divided by the summed `weight` a true frame carries, so
that where frames are missing (the ends of the sound) the level is not halved.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

TINY = 1e-12  # window sums and magnitudes below this count as zero


def frames_of(samples: np.ndarray, length: int, lead: int, hop: int) -> np.ndarray:
    """One frame of `length` samples per slot of `hop` (a view, no window), the frame of slot t
    starting `lead` samples before it; zero beyond the ends of `samples`."""
    samples = np.asarray(samples, dtype=np.float64).reshape(-1)
    if samples.size % hop:
        raise ValueError(f"{samples.size} samples are not a whole number of {hop}-sample slots")
    if samples.size == 0:
        return np.zeros((0, length))
    padded = np.pad(samples, (lead, length - hop - lead))
    return sliding_window_view(padded, length)[::hop]


def clip_runs(n_rows: int, segments: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (first_row, stop_row) runs that are analysed each on its own: every segment (a
    clip, from pickler's sidecar), then the rows outside all segments (silence anchors, or
    data without a sidecar) in contiguous runs, in order."""
    covered = np.zeros(n_rows, bool)
    for first, stop in segments:
        covered[first:stop] = True
    edges = np.flatnonzero(np.diff(np.concatenate([[0], (~covered).astype(np.int8), [0]])))
    return [(first, stop) for first, stop in [*segments, *zip(edges[::2], edges[1::2])]
            if stop > first]


class OverlapAdd:
    """Streaming weighted overlap-add of one frame per slot: push (n, length) frames in any
    batches, get float64 samples back; every push and `finish` together are exactly `hop`
    samples per frame, frame t starting `lead` samples before sample t * hop.

    Each frame is multiplied by `window` and added to a numerator, `weight` to a denominator;
    the output is their ratio. The last `length - hop` samples of both are held back until the
    next frame has been added.
    """

    def __init__(self, window: np.ndarray, weight: np.ndarray, hop: int, lead: int) -> None:
        self.window, self.weight, self.hop, self.lead = window, weight, hop, lead
        self.length = len(window)
        self._numerator = np.zeros(self.length - hop)
        self._denominator = np.zeros(self.length - hop)
        self._to_skip = lead  # the first frame starts `lead` samples before the sound does

    def push(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, np.float64)
        n, hop, length = len(frames), self.hop, self.length
        if n == 0:
            return np.zeros(0)
        numerator = np.zeros(n * hop + length - hop)
        denominator = np.zeros_like(numerator)
        numerator[:length - hop] = self._numerator
        denominator[:length - hop] = self._denominator
        windowed = frames * self.window
        for t in range(n):
            numerator[t * hop:t * hop + length] += windowed[t]
            denominator[t * hop:t * hop + length] += self.weight
        self._numerator, self._denominator = numerator[n * hop:], denominator[n * hop:]
        final = numerator[:n * hop] / np.maximum(denominator[:n * hop], TINY)
        final, self._to_skip = final[self._to_skip:], 0
        return final

    def finish(self) -> np.ndarray:
        """The last slot's end: the held-back overlap up to the end of the sound."""
        if self._to_skip:  # nothing was pushed
            return np.zeros(0)
        tail = self._numerator[:self.lead] / np.maximum(self._denominator[:self.lead], TINY)
        self._numerator[:] = self._denominator[:] = 0.0
        return tail

    def whole(self, frames: np.ndarray) -> np.ndarray:
        """All of a run of frames at once: `push` then `finish`."""
        return np.concatenate([self.push(frames), self.finish()])


def clamp(samples: np.ndarray) -> np.ndarray:
    """Samples as float32 PCM, never beyond full scale."""
    return np.clip(samples, -1.0, 1.0).astype(np.float32)
