"""The brain file: a trained network as a plain dict of numpy arrays and builtins (README, File formats).

A brain loads without PyTensor and without running code (through `files.load_pickle`), so
render needs nothing but numpy. Layout, version 1:

    format        "bitmap2pcm-brain"
    version       1
    layer_sizes   [4096, 1000, 735]          visible, hidden..., output
    weights       [W0 (4096x1000), W1, ...]  float32 (float16 allowed on disk, upcast on load)
    biases        [b0 (1000,), b1, ...]
    activations   ["sigmoid", "linear"]      one per weight layer
    input         picture convention: side, color (gray, or "rgb ..." for three planes per
                  frame, see media/video.py), interpolation, value range, slots/s, layout
                  ("frame", or "frame+differences" with "history": K, see history.py), and
                  with eigen-frames their fit: "eigen_frames" {mean, components, scale}
                  numpy arrays (data/eigen.py)
    output        sound convention: kind "pcm", samples_per_slot, rate_hz, slots/s, mapping
                  (or "stft-magnitude", "pcm-overlap", or "sound-cues" with its
                  "onset_threshold" and its example "library" of int16 training sound,
                  see sound/cues.py and sound/library.py)
    training      record: data source, frames, epochs, losses, seconds, seed, software version
    resume        (checkpoints only) optimizer state for theanet.py --resume; ignored by render
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..core import grid
from ..core.errors import UserError
from ..core.files import load_pickle, save_pickle
from ..media.video import DEFAULT_INTERPOLATION, color_name

FORMAT_NAME = "bitmap2pcm-brain"
FORMAT_VERSION = 1
DEFAULT_BRAIN_FILE = "theanet.py.net.pkl"

ACTIVATIONS = {
    "sigmoid": lambda x: 0.5 * (1.0 + np.tanh(0.5 * x)),  # overflow-free logistic
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
}


def input_convention(interpolation: str = DEFAULT_INTERPOLATION, channels: int = 1) -> dict[str, Any]:
    """How frames were prepared (`channels` 3: in colour): render must prepare new videos the
    same way."""
    return {
        "side": grid.FRAME_SIDE,
        "color": color_name(channels),
        "interpolation": interpolation,
        "value_range": [0.0, 1.0],
        "slots_per_second": grid.SLOTS_PER_SECOND,
        "layout": "frame",  # one frame per row, row-major pixels
    }


def output_convention() -> dict[str, Any]:
    return {
        "kind": "pcm",
        "samples_per_slot": grid.SAMPLES_PER_SLOT,
        "rate_hz": grid.RATE_HZ,
        "slots_per_second": grid.SLOTS_PER_SECOND,
        "mapping": "pcm = 2*y - 1",
    }


def make_brain(weights: list[np.ndarray], biases: list[np.ndarray], activations: list[str],
               training: dict[str, Any], interpolation: str = DEFAULT_INTERPOLATION,
               input_spec: dict[str, Any] | None = None,
               output_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble a brain dict from trained parameters (copied to float32)."""
    layer_sizes = [int(weights[0].shape[0])] + [int(w.shape[1]) for w in weights]
    brain = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "layer_sizes": layer_sizes,
        "weights": [np.ascontiguousarray(w, dtype=np.float32) for w in weights],
        "biases": [np.ascontiguousarray(b, dtype=np.float32) for b in biases],
        "activations": list(activations),
        "input": input_spec or input_convention(interpolation),
        "output": output_spec or output_convention(),
        "training": {"software": f"bitmap2pcm {__version__}", **training},
    }
    validate(brain, "<new brain>")
    return brain


def validate(brain: Any, source: str) -> dict[str, Any]:
    """Check a loaded object against the brain format; raise UserError naming the problem."""
    if not isinstance(brain, dict) or brain.get("format") != FORMAT_NAME:
        raise UserError(f"{source}: not a bitmap2pcm brain")
    if brain.get("version") != FORMAT_VERSION:
        raise UserError(
            f"{source}: brain format version {brain.get('version')!r} is not supported "
            f"(this is bitmap2pcm {__version__}, which reads version {FORMAT_VERSION})"
        )
    try:
        sizes, weights, biases = brain["layer_sizes"], brain["weights"], brain["biases"]
        activations = brain["activations"]
        brain["input"], brain["output"]
    except KeyError as missing:
        raise UserError(f"{source}: brain lacks the field {missing}") from None
    if not (len(weights) == len(biases) == len(activations) == len(sizes) - 1 >= 1):
        raise UserError(f"{source}: brain layer lists disagree in length")
    for index, (w, b, activation) in enumerate(zip(weights, biases, activations)):
        expected = (sizes[index], sizes[index + 1])
        if not isinstance(w, np.ndarray) or w.shape != expected:
            raise UserError(f"{source}: layer {index} weights are not {expected}")
        if not isinstance(b, np.ndarray) or b.shape != (sizes[index + 1],):
            raise UserError(f"{source}: layer {index} biases are not ({sizes[index + 1]},)")
        if activation not in ACTIVATIONS:
            raise UserError(f"{source}: unknown activation '{activation}'")
    return brain


def load(path: str | Path) -> dict[str, Any]:
    """Load and check a brain or checkpoint; weights are upcast to float32."""
    brain = validate(load_pickle(path), str(path))
    brain["weights"] = [np.ascontiguousarray(w, dtype=np.float32) for w in brain["weights"]]
    brain["biases"] = [np.ascontiguousarray(b, dtype=np.float32) for b in brain["biases"]]
    return brain


def save(brain: dict[str, Any], path: str | Path) -> None:
    validate(brain, str(path))
    save_pickle(brain, path)


def compact(brain: dict[str, Any]) -> dict[str, Any]:
    """A copy of `brain` to ship: weights in float16, which halves the file (`load` upcasts
    them to float32, so render computes as before); biases stay float32 (a few kB, and they
    shift every unit at once); a checkpoint's resume state is dropped. A weight float16
    cannot hold (|w| > 65504) is a UserError rather than a silent infinity."""
    with np.errstate(over="ignore"):  # an overflow becomes inf, refused just below
        weights = [np.ascontiguousarray(w, dtype=np.float16) for w in brain["weights"]]
    if not all(np.isfinite(w).all() for w in weights):
        raise UserError("brain has weights too large for float16; it cannot be made compact")
    return {**{key: value for key, value in brain.items() if key != "resume"}, "weights": weights,
            "biases": [np.ascontiguousarray(b, dtype=np.float32) for b in brain["biases"]]}


def name_of(path: str | Path) -> str:
    """The short name render.sh puts in output file names: 'brains/shallow.pkl' -> 'shallow'."""
    name = Path(path).name
    for suffix in (".net.pkl", ".pkl"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def forward(brain: dict[str, Any], inputs: np.ndarray) -> np.ndarray:
    """Run the network on a batch of input rows with numpy; returns float32 outputs."""
    activity = np.asarray(inputs, dtype=np.float32)
    if activity.ndim != 2 or activity.shape[1] != brain["layer_sizes"][0]:
        raise UserError(
            f"brain expects {brain['layer_sizes'][0]} inputs per frame, got {activity.shape[-1]}"
        )
    for w, b, activation in zip(brain["weights"], brain["biases"], brain["activations"]):
        activity = ACTIVATIONS[activation](activity @ w + b)
    return activity.astype(np.float32, copy=False)
