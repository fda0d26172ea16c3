"""The original's representation: each slot's 735 PCM samples, predicted as y = (pcm + 1) / 2
and joined end to end (the 2015 "raw" sound) or crossfaded at the edges ("smooth", join.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import grid
from ..core.errors import UserError
from . import join
from .representation import Representation, Synthesizer

MODES = tuple(join.JOINS)


class JoinedBlocks:
    """Network outputs (n, 735) to samples: 2y - 1 clamped to [-1, 1] (a linear output layer
    can overshoot), joined by the named join."""

    def __init__(self, mode: str) -> None:
        if mode not in join.JOINS:
            raise UserError(f"unknown mode '{mode}' (choose {', '.join(MODES)})")
        self._joiner = join.JOINS[mode]()

    def push(self, outputs: np.ndarray, looks: np.ndarray | None = None) -> np.ndarray:
        del looks  # the sound follows the outputs alone
        return self._joiner.push(blocks_of(outputs))

    def finish(self) -> np.ndarray:
        return self._joiner.finish()


def blocks_of(outputs: np.ndarray) -> np.ndarray:
    """Network outputs to PCM blocks: 2y - 1 clamped to [-1, 1], float32, in place."""
    outputs = np.asarray(outputs, np.float32)
    return np.clip(grid.unit_to_pcm(outputs), -1.0, 1.0, out=outputs)


class Pcm(Representation):
    name = "pcm"
    kind = "pcm"
    outputs = grid.SAMPLES_PER_SLOT
    outputs_follow_data = True
    what = f"{grid.SAMPLES_PER_SLOT} samples"
    loss_text = "mean squared error over rows and samples, [0, 1] units"
    synthesis = "the blocks joined"
    joins = True

    def targets(self, sound_rows: np.ndarray, segments: list[tuple[int, int]]) -> np.ndarray:
        del segments  # a slot's samples are its own target
        return sound_rows

    def convention(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "samples_per_slot": grid.SAMPLES_PER_SLOT,
            "rate_hz": grid.RATE_HZ,
            "slots_per_second": grid.SLOTS_PER_SECOND,
            "mapping": "pcm = 2*y - 1",
        }

    def synthesizer(self, output: dict[str, Any], mode: str) -> Synthesizer:
        del output
        return JoinedBlocks(mode)


REPRESENTATION = Pcm()
