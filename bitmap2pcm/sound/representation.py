"""What a brain says: a sound representation, one module each behind this interface.

A representation decides, for every 1/30 s slot:

- the target the network learns, read from the slot's sound (`targets`, on the [0, 1] scale
  of audio.pkl's rows) and the output layer's start (`initial_bias`);
- the loss the network is fine-tuned on (`loss`);
- what is measured after training and stored beside the network (`calibrate`: a level, an
  onset threshold, an example library);
- the brain's output record (`convention`) and its check when a brain is loaded (`check`);
- the synthesizer render streams the network's outputs through (`synthesizer`).

The representations are pcm.py (the original), spectral.py (stft), overlap.py (ola) and
cues.py; registry.py names them. A new one is a module with a subclass and one line there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Protocol

import numpy as np

from ..core.errors import UserError

# The settings the mean-squared-error targets were measured with (bench/train and the Planet
# Blupi cutscenes, 2 cores): batch 512 ran fine-tuning at 0.69 of numpy's GEMM rate (0.3 at
# 64); at batch 512 a learning rate of 3.0 reached the lowest validation loss (2.0 was
# unsteady, 0.1 .. 0.5 barely moved); patience 10 of at most 200 epochs. No memory: they are
# the 2015 network's targets, and memory was measured on cue brains (learn/memory.py).
MEAN_SQUARED_ERROR_TRAINING = {"batch": 512, "optimizer": "nesterov", "learning_rate": 3.0, "patience": 10,
                               "epochs": 200, "memory_seconds": 0.0}


class Synthesizer(Protocol):
    """Samples from a stream of network outputs: `push` a batch of (n, outputs) rows and get
    the samples that are final, `finish` for the rest; 735 samples per slot in all, float32
    in [-1, 1]. `looks` are the same slots' looks (data/looks.py: what the thing that moves
    looks like), given to a synthesizer that chooses its sound by them
    (`Representation.uses_looks`)."""

    def push(self, outputs: np.ndarray, looks: np.ndarray | None = None) -> np.ndarray: ...

    def finish(self) -> np.ndarray: ...


@dataclass(frozen=True)
class Calibration:
    """What a representation may measure once the network is trained.

    `outputs(rows)` runs the trained network on training-set rows, `looks(rows)` gives their
    slots' looks (data/looks.py, from the training pictures); `targets` are every row's
    targets and `sound` audio.pkl's PCM rows ([0, 1] scale); `unfitted_rows` are the rows
    fine-tuning never fitted (the validation rows; the training rows when there are none),
    named by `unfitted_name`; `usable_rows` every row training may use (never a held-out
    one); `segments` the clips as (first row, stop row); `library_seconds` the cap on the
    sound a cue brain keeps."""

    outputs: Callable[[np.ndarray], np.ndarray]
    looks: Callable[[np.ndarray], np.ndarray] | None
    targets: np.ndarray
    sound: np.ndarray
    unfitted_rows: np.ndarray
    unfitted_name: str
    usable_rows: np.ndarray
    segments: list[tuple[int, int]]
    library_seconds: float


class Representation:
    """One way of saying a slot's sound (see the module notes). Subclasses set the class
    attributes and override what differs from the plain mean-squared-error target."""

    name: ClassVar[str]          # theanet.py --target NAME
    kind: ClassVar[str]          # the "kind" of the brain's output record
    outputs: ClassVar[int]       # output units per slot
    # True: training takes the data's sound rows as they are, so the output layer is as wide
    # as they are (735 samples for video; narrower in synthetic tests), checked with the data
    outputs_follow_data: ClassVar[bool] = False
    what: ClassVar[str]          # what the outputs are, for messages: "735 samples"
    loss_text: ClassVar[str]     # the loss, for the brain's training record
    synthesis: ClassVar[str]     # how render makes sound of it, for its log line
    joins: ClassVar[bool] = False  # whether render's --mode (raw or smooth join) applies
    keeps_looks: ClassVar[bool] = False  # whether `calibrate` reads the training slots' looks
    training: ClassVar[dict[str, Any]] = MEAN_SQUARED_ERROR_TRAINING  # its own settings

    def targets(self, sound_rows: np.ndarray, segments: list[tuple[int, int]]) -> np.ndarray:
        """Every row's target on the [0, 1] scale, each clip (segment) read on its own."""
        raise NotImplementedError

    def initial_bias(self, mean_target: np.ndarray) -> np.ndarray:
        """The output layer's starting bias: the mean target, so fine-tuning starts from
        "predict the mean" rather than from noise."""
        return mean_target

    def loss(self, outputs: Any, targets: Any, tensor: Any, every_target: np.ndarray,
             train_rows: np.ndarray) -> Any:
        """E, the symbolic loss of network `outputs` against `targets` (`tensor`: the
        backend's tensor module; `every_target[train_rows]` are the training rows' targets,
        for a loss weighted by them): the mean squared error over rows and outputs, the
        original's."""
        del every_target, train_rows
        return tensor.sqr(outputs - targets).mean()

    def calibrate(self, calibration: Calibration) -> dict[str, Any]:
        """Entries measured after training, added to the brain's output record."""
        del calibration
        return {}

    def convention(self) -> dict[str, Any]:
        """The brain's output record: everything render needs to make sound of the outputs."""
        raise NotImplementedError

    def check(self, output: dict[str, Any], source: str) -> None:
        """Refuse (UserError) a loaded brain's output record this version cannot render."""
        expected = self.convention()
        for key in self.checked_keys:
            if output.get(key) != expected[key]:
                raise UserError(f"{source}: brain's {self.name} output has {key} "
                                f"{output.get(key)!r}; this version reads {expected[key]!r}")

    checked_keys: ClassVar[tuple[str, ...]] = ("samples_per_slot", "rate_hz")

    def uses_looks(self, output: dict[str, Any]) -> bool:
        """Whether the synthesizer of a brain with output record `output` chooses its sound by
        the slots' looks, which render and live then make beside the input rows."""
        del output
        return False

    def synthesizer(self, output: dict[str, Any], mode: str) -> Synthesizer:
        """The synthesizer of a brain with output record `output`; `mode` names the join
        where `joins` (render.py --mode)."""
        raise NotImplementedError
