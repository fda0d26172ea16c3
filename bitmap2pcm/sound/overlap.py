"""Overlap-add PCM targets: each slot predicts a windowed frame twice its length, and back.

The author's "window the output" suggestion (docs/original.md): a PCM brain predicts each
slot's 735 samples on its own, so neighbouring blocks meet with a jump (a click 30 times a
second). Here a brain instead predicts a longer frame that overlaps its neighbours and fades out at both
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

import logging

import numpy as np

from ..core import grid
from . import framing
from .representation import Representation, Synthesizer as SynthesizerProtocol

log = logging.getLogger("bitmap2pcm")

KIND = "pcm-overlap"
HOP = grid.SAMPLES_PER_SLOT    # 735: one frame per slot
FRAME = 2 * HOP                # 1470 outputs per slot
LEAD = (FRAME - HOP) // 2      # 367: samples of a frame before its slot starts
HANN = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / FRAME)  # periodic; h[n] + h[n+HOP] = 1
WINDOW = np.sqrt(HANN)         # analysis and synthesis window alike


def _convention() -> dict[str, Any]:
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


# --- analysis and synthesis of overlap-add PCM -------------------------------------------------

def analyse(samples: np.ndarray) -> np.ndarray:
    """PCM samples in [-1, 1] (a whole number of slots) to one windowed frame per slot:
    (slots, FRAME) float64 in [-1, 1]."""
    return framing.frames_of(samples, FRAME, LEAD, HOP) * WINDOW


def unit_targets(audio_rows: np.ndarray, segments: list[tuple[int, int]]) -> np.ndarray:
    """Training targets from audio.pkl rows ((n, 735), [0, 1] convention): (n, FRAME) float32
    in [0, 1], each clip (segment) framed on its own so no frame mixes two clips."""
    rows = np.asarray(audio_rows)
    targets = np.empty((len(rows), FRAME), np.float32)
    for first, stop in framing.clip_runs(len(rows), segments):
        pcm = grid.unit_to_pcm(rows[first:stop].astype(np.float64)).reshape(-1)
        targets[first:stop] = grid.pcm_to_unit(analyse(pcm))
    return targets


def from_unit(values: np.ndarray) -> np.ndarray:
    """Network outputs on the [0, 1] scale to windowed PCM frames: 2y - 1 clipped to [-1, 1]."""
    return np.clip(grid.unit_to_pcm(np.asarray(values, np.float64)), -1.0, 1.0)


class Synthesizer:
    """Streaming synthesis of windowed PCM frames (n, FRAME), HOP samples per slot in all,
    float32 in [-1, 1]."""

    def __init__(self) -> None:
        self._overlap_add = framing.OverlapAdd(WINDOW, HANN, HOP, LEAD)

    def push(self, frames: np.ndarray) -> np.ndarray:
        return framing.clamp(self._overlap_add.push(frames))

    def finish(self) -> np.ndarray:
        return framing.clamp(self._overlap_add.finish())


def synthesize(frames: np.ndarray) -> np.ndarray:
    """Windowed PCM frames (n, FRAME) to n*HOP samples in [-1, 1] (float32), all at once."""
    return framing.clamp(framing.OverlapAdd(WINDOW, HANN, HOP, LEAD).whole(frames))


class WindowedFrames:
    """Network outputs (n, FRAME) to samples: 2y - 1 clipped, then `Synthesizer`."""

    def __init__(self) -> None:
        self._synthesizer = Synthesizer()

    def push(self, outputs: np.ndarray, looks: np.ndarray | None = None) -> np.ndarray:
        del looks  # the sound follows the outputs alone
        return self._synthesizer.push(from_unit(outputs))

    def finish(self) -> np.ndarray:
        return self._synthesizer.finish()


class Ola(Representation):
    name = "ola"
    kind = KIND
    outputs = FRAME
    what = f"a {FRAME}-sample frame"
    loss_text = "mean squared error over rows and windowed frame samples, [0, 1] units"
    synthesis = "overlap-add"
    checked_keys = ("frame", "hop", "window", "frame_start", "samples_per_slot", "rate_hz", "mapping")

    def targets(self, sound_rows: np.ndarray, segments: list[tuple[int, int]]) -> np.ndarray:
        log.info("computing overlap-add PCM targets (%d samples per slot)", FRAME)
        return unit_targets(sound_rows, segments)

    def convention(self) -> dict[str, Any]:
        return _convention()

    def synthesizer(self, output: dict[str, Any], mode: str) -> SynthesizerProtocol:
        del output, mode  # frames are overlap-added: no join
        return WindowedFrames()


REPRESENTATION = Ola()
