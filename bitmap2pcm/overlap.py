"""Overlap-add PCM targets: each slot predicts a windowed frame twice its length, and back.

Issue 6, option 4 (the author's suggestion, SPEC §1): a PCM brain predicts each slot's 735
samples on its own, so neighbouring blocks meet with a jump (a click 30 times a second). Here
a brain instead predicts a longer frame that overlaps its neighbours and fades out at both
ends; the sound is their overlap-add. A perfect prediction gives back the sound exactly, and
an imperfect one cannot click, since every frame fades in and out under the synthesis window.

Geometry. Frame t is `FRAME` = 2 * 735 = 1470 samples (67 ms), centred on slot t: it starts
`LEAD` = 367 samples before the slot starts and ends 368 after it ends (slot t covers frame
positions [367, 1102)), so every sample lies in exactly two frames, `HOP` = 735 apart. The
signal is zero beyond its ends (and, in training, beyond the ends of its clip).

Windows. The target is the frame under the analysis window, and synthesis multiplies each
predicted frame by the synthesis window before adding it up. Both are the square root of the
periodic Hann window of length 1470 ("sqrt-hann"), whose product, the Hann window h, sums to
one at hop 735: h[n] + h[n + 735] = 1. So the overlap-add of true targets is the sound:
sum_t w(n - tH) * w(n - tH) * x[n] = x[n]. Windowing again at synthesis (rather than adding the
predicted frames as they come) is what makes the fade certain: whatever the network predicts
at a frame's ends is multiplied by ~0; and as sum_t w^2 = 1, an error of the same size in
every frame is as loud everywhere in the slot (no 30 Hz ripple of the error's level). The
overlap-add is divided by the sum of h over the frames present (weighted overlap-add); that
is 1 everywhere but in the first and last 367 samples of the sound, where one frame is
missing and it falls to about 0.5.

Scaling: a windowed frame s (PCM in [-1, 1], so |s| <= 1) is stored as y = (s + 1) / 2, the
PCM convention of audio.pkl; a prediction is read back as 2y - 1 clipped to [-1, 1].
The output has exactly HOP samples per slot, float32, clamped to [-1, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import grid
from .errors import UserError

KIND = "pcm-overlap"
HOP = grid.SAMPLES_PER_SLOT    # 735: one frame per slot
FRAME = 2 * HOP                # 1470 outputs per slot
LEAD = (FRAME - HOP) // 2      # 367: samples of a frame before its slot starts
HANN = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / FRAME)  # periodic; h[n] + h[n+HOP] = 1
WINDOW = np.sqrt(HANN)         # analysis and synthesis window alike
_TINY = 1e-12                  # window sums below this count as zero


def output_convention() -> dict[str, Any]:
    """The brain's `output` record for an overlap-add brain: everything synthesis needs."""
    return {
        "kind": KIND,
        "frame": FRAME,
        "hop": HOP,
        "window": "sqrt of periodic hann, analysis and synthesis",
        "frame_start": f"slot start - {LEAD} samples",
        "samples_per_slot": grid.SAMPLES_PER_SLOT,
        "rate_hz": grid.RATE_HZ,
        "slots_per_second": grid.SLOTS_PER_SECOND,
        "mapping": "y = (window * frame + 1) / 2, PCM in [-1, 1]",
        "synthesis": "weighted overlap-add: sum(window * (2y - 1)) / sum(window ** 2)",
    }


def check_convention(output: dict[str, Any], source: str) -> None:
    """Refuse an overlap-add brain whose frames this version cannot put back together."""
    expected = output_convention()
    for key in ("frame", "hop", "window", "frame_start", "samples_per_slot", "rate_hz", "mapping"):
        if output.get(key) != expected[key]:
            raise UserError(f"{source}: brain's frames have {key} {output.get(key)!r}; this "
                            f"version overlap-adds {expected[key]!r}")


# --- framing, shared by any one-frame-per-slot analysis ----------------------------------------

def frames_of(samples: np.ndarray, length: int = FRAME, lead: int = LEAD,
              hop: int = HOP) -> np.ndarray:
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
    batches, get samples back; every push and `finish` together are exactly `hop` samples per
    frame, frame t starting `lead` samples before sample t * hop.

    Each frame is multiplied by `window` and added to a numerator, `weight` (the window sum
    that a true frame carries) to a denominator; the output is their ratio. The last
    `length - hop` samples of both are held back until the next frame has been added.
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
            return np.zeros(0, np.float32)
        numerator = np.zeros(n * hop + length - hop)
        denominator = np.zeros_like(numerator)
        numerator[:length - hop] = self._numerator
        denominator[:length - hop] = self._denominator
        windowed = frames * self.window
        for t in range(n):
            numerator[t * hop:t * hop + length] += windowed[t]
            denominator[t * hop:t * hop + length] += self.weight
        self._numerator, self._denominator = numerator[n * hop:], denominator[n * hop:]
        final = numerator[:n * hop] / np.maximum(denominator[:n * hop], _TINY)
        final, self._to_skip = final[self._to_skip:], 0
        return _clamp(final)

    def finish(self) -> np.ndarray:
        """The last slot's end: the held-back overlap up to the end of the sound."""
        if self._to_skip:  # nothing was pushed
            return np.zeros(0, np.float32)
        tail = self._numerator[:self.lead] / np.maximum(self._denominator[:self.lead], _TINY)
        self._numerator[:] = self._denominator[:] = 0.0
        return _clamp(tail)


# --- analysis and synthesis of overlap-add PCM -------------------------------------------------

def analyse(samples: np.ndarray) -> np.ndarray:
    """PCM samples in [-1, 1] (a whole number of slots) to one windowed frame per slot:
    (slots, FRAME) float64 in [-1, 1]."""
    return frames_of(samples) * WINDOW


def unit_targets(audio_rows: np.ndarray, segments: list[tuple[int, int]]) -> np.ndarray:
    """Training targets from audio.pkl rows ((n, 735), [0, 1] convention): (n, FRAME) float32
    in [0, 1], each clip (segment) framed on its own so no frame mixes two clips."""
    rows = np.asarray(audio_rows)
    targets = np.empty((len(rows), FRAME), np.float32)
    for first, stop in clip_runs(len(rows), segments):
        pcm = grid.unit_to_pcm(rows[first:stop].astype(np.float64)).reshape(-1)
        targets[first:stop] = grid.pcm_to_unit(analyse(pcm))
    return targets


def from_unit(values: np.ndarray) -> np.ndarray:
    """Network outputs on the [0, 1] scale to windowed PCM frames: 2y - 1 clipped to [-1, 1]."""
    return np.clip(grid.unit_to_pcm(np.asarray(values, np.float64)), -1.0, 1.0)


class Synthesizer(OverlapAdd):
    """Streaming synthesis of windowed PCM frames (n, FRAME), HOP samples per slot in all."""

    def __init__(self) -> None:
        super().__init__(WINDOW, HANN, HOP, LEAD)


def synthesize(frames: np.ndarray) -> np.ndarray:
    """Windowed PCM frames (n, FRAME) to n*HOP samples in [-1, 1] (float32), all at once."""
    synthesizer = Synthesizer()
    return np.concatenate([synthesizer.push(frames), synthesizer.finish()])


def _clamp(samples: np.ndarray) -> np.ndarray:
    return np.clip(samples, -1.0, 1.0).astype(np.float32)
