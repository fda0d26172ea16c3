"""The brain: a trained network and what it was trained to see and say (README, File formats).

A brain file is a pickle of plain builtins and numpy arrays, read through the restricted
unpickler (`files.load_pickle`), so it loads without PyTensor and without running code, and
render needs nothing but numpy. In memory it is a `Brain`; on disk, version 1:

    format        "bitmap2pcm-brain"
    version       1
    layer_sizes   [1032, 1000, 105]          visible, hidden..., output
    weights       [W0 (1032x1000), W1, ...]  float32 (float16 allowed on disk, upcast on load)
    biases        [b0 (1000,), b1, ...]
    activations   ["sigmoid", "linear"]      one per weight layer
    input         the picture convention (side, color, interpolation, value range, slots/s)
                  and the input layout's record ("layout" and what it needs: data/layouts.py)
    output        the sound representation's record ("kind" and what synthesis needs, with
                  what training measured for it: sound/registry.py)
    training      record: data source, frames, epochs, losses, seconds, seed, software version
    memory        (optional) spans of past slots the output layer reads (learn/memory.py); its
                  weights are then (spans x the top hidden layer) x outputs
    resume        (checkpoints only) optimizer state for theanet.py --resume; ignored by render
    shipped, evaluation   (shipped brains only) where it came from and how it scored
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import __version__
from ..core import grid
from ..core.errors import UserError
from ..core.files import load_pickle, save_pickle
from ..data import layouts
from ..data.layout import InputLayout, Positions
from ..media import video
from ..sound import registry
from ..sound.representation import Representation, Synthesizer
from . import memory as memories
from . import pooling

FORMAT_NAME = "bitmap2pcm-brain"
FORMAT_VERSION = 1
DEFAULT_BRAIN_FILE = "theanet.py.net.pkl"
RETRAIN = "retrain it with theanet.py"

ACTIVATIONS = {
    "sigmoid": lambda x: 0.5 * (1.0 + np.tanh(0.5 * x)),  # overflow-free logistic
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
}
_OPTIONAL = ("memory", "resume", "shipped", "evaluation")


def picture_convention(interpolation: str = video.DEFAULT_INTERPOLATION,
                       channels: int = 1) -> dict[str, Any]:
    """How frames were prepared (`channels` 3: in colour): render must prepare new videos the
    same way. Every input layout records it."""
    return {
        "side": grid.FRAME_SIDE,
        "color": video.color_name(channels),
        "interpolation": interpolation,
        "value_range": [0.0, 1.0],
        "slots_per_second": grid.SLOTS_PER_SECOND,
    }


@dataclass
class Brain:
    """A trained network (or a checkpoint: `resume` set) and its conventions.

    `input` and `output` are the records its layout and representation wrote; read them
    through `layout` and `representation`, which load_brain has checked."""

    layer_sizes: list[int]
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activations: list[str]
    input: dict[str, Any]
    output: dict[str, Any]
    training: dict[str, Any]
    memory: dict[str, Any] | None = None
    resume: dict[str, Any] | None = None
    shipped: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    version: int = FORMAT_VERSION
    source: str = field(default="<new brain>", compare=False)

    @property
    def pixels(self) -> int:
        """Values of one frame the brain is shown: side x side, three planes in colour."""
        return int(self.input["side"]) ** 2 * video.channels_of(self.input)

    @cached_property
    def layout(self) -> InputLayout:
        return layouts.of_input(self.input, self.pixels, self.source)

    @cached_property
    def representation(self) -> Representation:
        return registry.of_output(self.output, self.source)

    @property
    def positions(self) -> Positions | None:
        """The places its first layer is shared across (learn/pooling.py), or None."""
        return layouts.positions_of(self.input)

    @property
    def memory_spans(self) -> list[tuple[int, int]]:
        """The spans of past slots its output layer reads (learn/memory.py); [] without memory."""
        return [] if self.memory is None else memories.spans_of(self.memory, self.source)

    @property
    def lookahead_slots(self) -> int:
        """Frames after a slot the brain waits for before it can sound that slot."""
        return self.layout.lookahead_slots

    @property
    def chooses_by_looks(self) -> bool:
        """Whether its synthesizer chooses its sound by the slots' looks (data/looks.py)."""
        return self.representation.uses_looks(self.output)

    def synthesizer(self, mode: str) -> Synthesizer:
        """What turns the network's outputs into samples (`mode` joins PCM blocks)."""
        return self.representation.synthesizer(self.output, mode)

    def to_record(self) -> dict[str, Any]:
        """The brain as the file holds it (see the module notes)."""
        record = {"format": FORMAT_NAME, "version": self.version, "layer_sizes": self.layer_sizes,
                  "weights": self.weights, "biases": self.biases, "activations": self.activations,
                  "input": self.input, "output": self.output, "training": self.training}
        record.update({key: getattr(self, key) for key in _OPTIONAL if getattr(self, key) is not None})
        return record

    @classmethod
    def from_record(cls, record: Any, source: str) -> "Brain":
        """A brain from a loaded file's contents, checked against the format (UserError
        naming the problem); weights upcast to float32."""
        if not isinstance(record, dict) or record.get("format") != FORMAT_NAME:
            raise UserError(f"{source}: not a bitmap2pcm brain")
        if record.get("version") != FORMAT_VERSION:
            raise UserError(
                f"{source}: brain format version {record.get('version')!r} is not supported "
                f"(this is bitmap2pcm {__version__}, which reads version {FORMAT_VERSION}); "
                f"{RETRAIN}")
        try:
            brain = cls(layer_sizes=[int(size) for size in record["layer_sizes"]],
                        weights=list(record["weights"]), biases=list(record["biases"]),
                        activations=list(record["activations"]), input=record["input"],
                        output=record["output"], training=record.get("training", {}),
                        **{key: record.get(key) for key in _OPTIONAL}, source=source)
        except KeyError as missing:
            raise UserError(f"{source}: brain lacks the field {missing}") from None
        except (TypeError, ValueError):
            raise UserError(f"{source}: brain's layer lists are malformed") from None
        _check_layers(brain)
        brain.weights = [np.ascontiguousarray(w, dtype=np.float32) for w in brain.weights]
        brain.biases = [np.ascontiguousarray(b, dtype=np.float32) for b in brain.biases]
        return brain


def _check_layers(brain: Brain) -> None:
    source, sizes = brain.source, brain.layer_sizes
    if not isinstance(brain.input, dict) or not isinstance(brain.output, dict):
        raise UserError(f"{source}: brain's input and output records are not records")
    if not (len(brain.weights) == len(brain.biases) == len(brain.activations) == len(sizes) - 1 >= 1):
        raise UserError(f"{source}: brain layer lists disagree in length")
    inputs = pooling.layer_inputs(sizes, brain.positions)
    if brain.memory is not None:
        if len(sizes) < 3:
            raise UserError(f"{source}: brain has memory but no hidden layer for it to remember")
        inputs[-1] *= len(brain.memory_spans)
    for index, (w, b, activation) in enumerate(zip(brain.weights, brain.biases, brain.activations)):
        expected = (inputs[index], sizes[index + 1])
        if not isinstance(w, np.ndarray) or w.shape != expected:
            raise UserError(f"{source}: layer {index} weights are not {expected}")
        if not isinstance(b, np.ndarray) or b.shape != (sizes[index + 1],):
            raise UserError(f"{source}: layer {index} biases are not ({sizes[index + 1]},)")
        if activation not in ACTIVATIONS:
            raise UserError(f"{source}: unknown activation '{activation}'")


def make_brain(weights: list[np.ndarray], biases: list[np.ndarray], activations: list[str],
               training: dict[str, Any], input_record: dict[str, Any] | None = None,
               output_record: dict[str, Any] | None = None, input_units: int | None = None,
               memory: dict[str, Any] | None = None) -> Brain:
    """A brain of trained parameters (copied to float32) with the given input and output
    records, by default the 2015 network's (the gray frame in, PCM samples out);
    `input_units`: the row's width where the first layer is shared across its places (its
    weights are one place's), else the first weights' height; `memory`: its memory's record
    (learn/memory.py), the last weights then reading it."""
    if input_record is None:
        input_record = layouts.LAYOUTS[layouts.FAITHFUL]().convention(picture_convention())
    if output_record is None:
        output_record = registry.named(registry.FAITHFUL).convention()
    layer_sizes = [int(weights[0].shape[0]) if input_units is None else input_units]
    layer_sizes += [int(w.shape[1]) for w in weights]
    brain = Brain(layer_sizes=layer_sizes, memory=memory,
                  weights=[np.ascontiguousarray(w, dtype=np.float32) for w in weights],
                  biases=[np.ascontiguousarray(b, dtype=np.float32) for b in biases],
                  activations=list(activations), input=input_record, output=output_record,
                  training={"software": f"bitmap2pcm {__version__}", **training})
    _check_layers(brain)
    return brain


def load(path: str | Path) -> Brain:
    """Load and check a brain or checkpoint (its format and layers; `check` does the rest)."""
    return Brain.from_record(load_pickle(path), str(path))


def check(brain: Brain) -> Brain:
    """Check that render can use `brain`: its picture convention, its input layout and sound
    representation (each says what is wrong in one line), and that its layers fit them."""
    source = brain.source
    side = brain.input.get("side")
    if not isinstance(side, int) or side < 1:
        raise UserError(f"{source}: brain's picture convention has side {side!r}, not a size in pixels")
    if brain.input.get("interpolation") not in video.INTERPOLATIONS:
        raise UserError(f"{source}: brain was trained with unknown interpolation "
                        f"{brain.input.get('interpolation')!r}")
    layout, representation = brain.layout, brain.representation
    if layout.gray_only and video.channels_of(brain.input) > 1:
        raise UserError(f"{source}: brain's {layout.name} input takes gray pictures, but it "
                        f"records colour ones; {RETRAIN}")
    if brain.layer_sizes[-1] != representation.outputs:
        raise UserError(f"{source}: brain has {brain.layer_sizes[-1]} outputs, not the "
                        f"{representation.outputs} its {representation.kind!r} output needs per slot")
    if layout.units(brain.pixels) != brain.layer_sizes[0]:
        raise UserError(f"{source}: brain takes {brain.layer_sizes[0]} inputs per frame, which does "
                        f"not fit its {side}x{side} picture convention: its {layout.name!r} "
                        f"layout feeds the network {layout.what(brain.pixels)}, "
                        f"{layout.units(brain.pixels)} inputs")
    return brain


def save(brain: Brain, path: str | Path) -> None:
    _check_layers(brain)
    save_pickle(brain.to_record(), path)


def compact(brain: Brain) -> Brain:
    """A copy of `brain` to ship: weights in float16, which halves the file (`load` upcasts
    them to float32, so render computes as before); biases stay float32 (a few kB, and they
    shift every unit at once); a checkpoint's resume state is dropped. A weight float16
    cannot hold (|w| > 65504) is a UserError rather than a silent infinity."""
    with np.errstate(over="ignore"):  # an overflow becomes inf, refused just below
        weights = [np.ascontiguousarray(w, dtype=np.float16) for w in brain.weights]
    if not all(np.isfinite(w).all() for w in weights):
        raise UserError("brain has weights too large for float16; it cannot be made compact")
    return Brain(layer_sizes=list(brain.layer_sizes), weights=weights, memory=brain.memory,
                 biases=[np.ascontiguousarray(b, dtype=np.float32) for b in brain.biases],
                 activations=list(brain.activations), input=brain.input, output=brain.output,
                 training=brain.training, shipped=brain.shipped, evaluation=brain.evaluation,
                 source=brain.source)


def name_of(path: str | Path) -> str:
    """The short name render.sh puts in output file names: 'brains/shallow.pkl' -> 'shallow'."""
    name = Path(path).name
    for suffix in (".net.pkl", ".pkl"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def forward(brain: Brain, inputs: np.ndarray) -> np.ndarray:
    """Run the network on input rows with numpy; returns float32 outputs. A brain with memory
    takes the rows as one clip in time order (its memory starts at the first); clips side by
    side go through `clip_outputs`, a stream of batches through `OutputStream`."""
    return OutputStream(brain).push(inputs)


def clip_outputs(brain: Brain, inputs: np.ndarray, clip_starts: Sequence[int],
                 chunk_rows: int = 4096) -> np.ndarray:
    """The outputs of rows that are clips in time order, beginning at `clip_starts` (a
    training set's), computed `chunk_rows` at a time: a brain with memory remembers nothing
    across a clip's start."""
    hidden = np.concatenate([hidden_activity(brain, inputs[start:start + chunk_rows])
                             for start in range(0, len(inputs), chunk_rows)] or
                            [np.zeros((0, pooling.layer_inputs(brain.layer_sizes, brain.positions)[-1]),
                                      np.float32)])
    if brain.memory is not None:
        hidden = memories.features(hidden, brain.memory_spans, clip_starts)
    w, b, activation = brain.weights[-1], brain.biases[-1], brain.activations[-1]
    return ACTIVATIONS[activation](hidden @ w + b).astype(np.float32, copy=False)


def hidden_activity(brain: Brain, inputs: np.ndarray) -> np.ndarray:
    """The top hidden layer's activity for input rows (what the output layer, or its memory,
    reads): float32 (n, its width: layer_sizes[-2], or the pooled width when that layer is the
    shared one; the rows themselves for a brain without hidden layers)."""
    activity = np.asarray(inputs, dtype=np.float32)
    if activity.ndim != 2 or activity.shape[1] != brain.layer_sizes[0]:
        raise UserError(
            f"brain expects {brain.layer_sizes[0]} inputs per frame, got {activity.shape[-1]}"
        )
    positions = brain.positions
    layers = list(zip(brain.weights, brain.biases, brain.activations))[:-1]
    for index, (w, b, activation) in enumerate(layers):
        if index == 0 and positions is not None:
            activity = pooling.pooled(activity, w, b, ACTIVATIONS[activation], positions)
        else:
            activity = ACTIVATIONS[activation](activity @ w + b)
    return activity.astype(np.float32, copy=False)


class OutputStream:
    """The network's outputs for a stream of batches of one video's rows, in order (render,
    live): a brain with memory carries the past slots it reads across the batches, so the
    outputs are the same however the rows are batched."""

    def __init__(self, brain: Brain) -> None:
        self.brain = brain
        self.memory = memories.MemoryStream(brain.memory_spans) if brain.memory is not None else None

    def push(self, inputs: np.ndarray) -> np.ndarray:
        brain = self.brain
        below = hidden_activity(brain, inputs)  # without hidden layers: the rows, checked
        if self.memory is not None:
            below = self.memory.push(below)
        w, b, activation = brain.weights[-1], brain.biases[-1], brain.activations[-1]
        return ACTIVATIONS[activation](below @ w + b).astype(np.float32, copy=False)
