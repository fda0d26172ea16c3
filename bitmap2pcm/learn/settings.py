"""What decides a training run: the network's shape, what it predicts, and the settings a
checkpoint carries (`Settings`), with the rule for which of them a resumed run may change.

Reproducibility: every random choice of a run is drawn from `rng_for(seed, phase, layer,
epoch, purpose)`, a numpy Generator keyed by where in the run it is used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from ..core.errors import UserError
from ..data import augment, layouts
from ..data.layout import InputLayout
from ..sound import library, registry
from ..sound.representation import Representation
from .brain import Brain

OPTIMIZERS = ("adam", "nesterov")   # dbn.py: adam_updates, nesterov_updates
# the rate an optimizer gets when --optimizer chooses it and --lr does not: Adam's usual, and
# the movement cue brain's measured Nesterov rate
OPTIMIZER_RATES = {"adam": 1e-3, "nesterov": 0.3}
OPTIMIZER_NAMES = {"adam": "Adam", "nesterov": "Nesterov momentum SGD"}  # as a brain's record says

PRESETS = {  # the original's network shapes (docs/original.md)
    "shallow": [4096, 1000, 735],
    "deeper": [4096, 1000, 1000, 1000, 735],
    "wide": [4096, 2048, 1000, 1000, 735],
    "kungfury": [4096, 2000, 1500, 1000, 735],
}
FRAME_PIXELS = PRESETS["shallow"][0]  # a 64 x 64 gray frame, what the presets were made for

# --faithful: the 2015 network, the frame in and PCM samples out (the presets' own target).
FAITHFUL_MODE = {"target": registry.FAITHFUL, "inputs": layouts.FAITHFUL}

# Keys of the random streams: np.random.default_rng([seed, phase, layer, epoch, purpose]).
INIT, PRETRAIN, FINETUNE, EIGEN, AUGMENT, MEMORY = 0, 1, 2, 3, 4, 5
SHUFFLE, SAMPLES = 0, 1


def _recommended_layers() -> list[int]:
    return preset_layers(None, registry.named(registry.DEFAULT), layouts.LAYOUTS[layouts.DEFAULT](),
                         FRAME_PIXELS)


@dataclass
class Settings:
    """Everything that decides the trajectory of a run (stored in checkpoints and brains).

    `Settings()` is the recommended mode: the patches around each slot in, one detector shared
    across them, sound cues out (1544-48-128-105), fine-tuned with Adam at its usual rate
    (with Nesterov at the movement brain's rate it stayed on the "predict the prior" plateau),
    its output layer then fitted to a second of memory (memory.py).
    Other targets and layouts bring their own (`Representation.training`,
    `InputLayout.training`; `mode_defaults`): the movement cue brain's Nesterov settings
    were measured on the event benchmark's training scene (1500 rows): at batch 512, or at
    batch 64 with the mean-squared-error targets' rate, it stayed on the plateau; batch 64 at
    0.3 left it within 50 epochs and was still improving at 300."""

    layer_sizes: list[int] = field(default_factory=_recommended_layers)
    epochs: int = 300                    # cap on fine-tuning epochs (early stopping ends sooner)
    pretrain_epochs: int = 10            # epochs of CD per hidden layer; 0 = plain MLP
    batch: int = 64                      # rows per minibatch, both phases
    # The loss averages over the outputs, so its gradients are that many times smaller than a
    # per-row sum would give.
    learning_rate: float = 1e-3          # fine-tuning's, per unit of mean loss (Adam's usual)
    momentum: float = 0.9                # Nesterov's momentum (the original's)
    pretrain_learning_rate: float = 0.01         # guide §5: a small rate, here for mean gradients
    pretrain_momentum: tuple[float, float] = (0.5, 0.9)  # guide §9: 0.5 while the weights settle,
    momentum_switch_epoch: int = 5                       # then 0.9 from this epoch on
    weight_decay: float = 1e-4           # guide §10: L2 cost on RBM weights
    cd_steps: int = 1                    # k of CD-k
    patience: int = 50                   # fine-tuning epochs without improvement before stopping
    seed: int = 0
    save_every: int = 10                 # checkpoint interval in epochs; 0 = only on Ctrl-C
    keep_every: int = 0                  # also keep every N-th epoch's checkpoint; 0 = the latest only
    holdout_tail: float = 0.0            # last fraction of every clip kept out for evaluation
    target: str = registry.DEFAULT       # what the output layer predicts (sound/registry.py)
    history: int = 0                     # frame differences after the frame (history.py)
    inputs: str = layouts.DEFAULT        # what the input layer sees (data/layouts.py)
    eigen_frames: int = 0                # K PCA coefficients in place of the pixels; 0 = pixels
    frames_ahead: int | None = None      # patches: frames after a slot its row sees (None: 3)
    inbetweens: str | None = None        # patches: how held pictures are filled (None: blend)
    steady_camera: bool = False          # patches: the camera's motion out of each frame step
    library_seconds: float = library.DEFAULT_CAP_S  # cues: the most training sound a brain keeps
    augment: list[str] = field(default_factory=list)  # changed copies of the training pictures (augment.py)
    optimizer: str = "adam"              # fine-tuning's: adam or nesterov (dbn.py)
    memory_seconds: float = 1.0          # the past the output layer reads (memory.py); 0 = none

    def representation(self) -> Representation:
        return registry.named(self.target)

    def layout(self) -> InputLayout:
        """The run's input layout, not yet fitted to its data (`InputLayout.fitted`)."""
        return layouts.chosen(self.inputs, self.history, self.eigen_frames, self.frames_ahead,
                              self.inbetweens, self.steady_camera)

    # These may change when a run is resumed: they do not alter the trajectory up to the stop.
    RESUMABLE_CHANGES = ("epochs", "save_every", "keep_every")

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["pretrain_momentum"] = list(self.pretrain_momentum)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Settings":
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in record.items() if key in known}
        values["pretrain_momentum"] = tuple(values.get("pretrain_momentum", (0.5, 0.9)))
        values["layer_sizes"] = [int(size) for size in values["layer_sizes"]]
        values["augment"] = [str(name) for name in values.get("augment", [])]
        values.setdefault("optimizer", "nesterov")  # every run before the choice existed
        values.setdefault("memory_seconds", 0.0)    # and before memory
        return cls(**values)


def preset_layers(name: str | None, representation: Representation, layout: InputLayout,
                  pixels: int) -> list[int]:
    """A preset's layer sizes for a run predicting `representation` and seeing `layout` on
    frames of `pixels` values: the input layer is the layout's row, the output layer the
    representation's; the hidden layers stay. No preset named: the layout's own hidden
    layers where it has them (a shared detector is small), else the shallow preset's."""
    if name is None and layout.hidden_layers is not None:
        return [layout.units(pixels), *layout.hidden_layers, representation.outputs]
    sizes = list(PRESETS[name or "shallow"])
    sizes[0] = layout.units(pixels)
    sizes[-1] = representation.outputs
    return sizes


def mode_defaults(options: dict[str, Any], layers: list[int] | None, preset: str | None,
                  faithful: bool) -> dict[str, Any]:
    """The options of a new run with its mode filled in where the user left it open: the 2015
    network with `faithful` (or a preset, the original's shapes), the target that `layers`'
    output size implies (735 PCM samples when none does), the recommended mode when nothing
    names a shape; the recommended mode's inputs for its target (unless another input is asked
    for), the frame otherwise; and the layout's, then the target's, own training settings (an
    optimizer chosen without --lr brings its own rate, OPTIMIZER_RATES)."""
    chosen = dict(options)
    if faithful:
        clash = [f"--{key.replace('_', '-')}" for key in ("target", "inputs", "history", "eigen_frames")
                 if key in chosen]
        if clash:
            raise UserError(f"--faithful is the 2015 network (the frame in, PCM out); leave out "
                            f"{', '.join(clash).replace('--inputs', '--input')}")
        chosen.update(FAITHFUL_MODE)
    if "target" not in chosen:
        chosen["target"] = (FAITHFUL_MODE["target"] if preset
                            else registry.by_outputs(layers[-1]) or FAITHFUL_MODE["target"] if layers
                            else Settings.target)
    if "inputs" not in chosen:
        recommended = chosen["target"] == Settings.target
        other_inputs = chosen.get("history") or chosen.get("eigen_frames")
        chosen["inputs"] = Settings.inputs if recommended and not other_inputs else FAITHFUL_MODE["inputs"]
    layout = layouts.LAYOUTS.get(chosen["inputs"])
    own = {**(layout.training if layout is not None else {}), **registry.named(chosen["target"]).training}
    merged = {**own, **chosen}
    optimizer = merged.get("optimizer", Settings.optimizer)
    if "learning_rate" not in chosen and optimizer != own.get("optimizer", Settings.optimizer):
        merged["learning_rate"] = OPTIMIZER_RATES[optimizer]  # a rate comes with its optimizer
    return merged


def rng_for(seed: int, phase: int, layer: int, epoch: int = 0, purpose: int = 0) -> np.random.Generator:
    """The Generator for one (phase, layer, epoch, purpose) of a run with `seed`."""
    return np.random.default_rng([seed, phase, layer, epoch, purpose])


def settings_for(layers: list[int] | None, options: dict[str, Any],
                 checkpoint: Brain | None, checkpoint_path: str | None) -> Settings:
    """Settings of a new run from `options`, or of a resumed run from its checkpoint.

    `options` holds only what the user gave explicitly. On resume, options that would change
    the trajectory must agree with the checkpoint (otherwise the run would not be the same
    run); those in Settings.RESUMABLE_CHANGES may change.
    """
    if options.get("eigen_frames", 1) < 1:
        raise UserError(f"--eigen-frames must be 1 or more, not {options['eigen_frames']} "
                        "(leave it out to show the network the pixels)")
    augment.check(options.get("augment", []))
    if options.get("optimizer", OPTIMIZERS[0]) not in OPTIMIZERS:
        raise UserError(f"unknown optimizer {options['optimizer']!r} (choose {', '.join(OPTIMIZERS)})")
    if checkpoint is None:
        settings = Settings(**options)
        settings.representation(), settings.layout()  # unknown or clashing choices say so here
        if layers:
            settings.layer_sizes = list(layers)
        else:
            settings.layer_sizes = preset_layers(None, settings.representation(),
                                                 settings.layout(), FRAME_PIXELS)
        return settings
    settings = Settings.from_record(checkpoint.resume["settings"])
    given = dict(options, **({"layer_sizes": list(layers)} if layers else {}))
    for key, value in given.items():
        current = getattr(settings, key)
        if key in Settings.RESUMABLE_CHANGES:
            setattr(settings, key, value)
        elif value != current:
            flag = "--layers" if key == "layer_sizes" else "--" + key.replace("_", "-")
            raise UserError(f"{checkpoint_path}: {flag} {value} differs from the checkpoint's "
                            f"{current}; leave it out to resume, or start a new run")
    return settings


def check_outputs(settings: Settings) -> None:
    """The output layer must fit the target: one unit per value it predicts for a slot (a
    target that takes the data's rows as they are is checked against the data instead); with
    memory there is a hidden layer below it to remember."""
    representation, outputs = settings.representation(), settings.layer_sizes[-1]
    if outputs != representation.outputs and not representation.outputs_follow_data:
        raise UserError(f"--target {representation.name} predicts {representation.what} per slot, "
                        f"so the output layer must have {representation.outputs} units, not {outputs}")
    if settings.memory_seconds > 0 and len(settings.layer_sizes) < 3:
        raise UserError(f"memory ({settings.memory_seconds:g} s) is the past of a hidden layer, and "
                        f"{'-'.join(map(str, settings.layer_sizes))} has none: give one in --layers, "
                        "or --memory-seconds 0")


def check_inputs(settings: Settings, pixels: int, channels: int = 1) -> None:
    """The input layer must fit the layout's rows of the data's frames (`pixels` values each,
    `channels` planes); a layout that takes gray pictures refuses colour ones."""
    layout = settings.layout()
    if settings.eigen_frames > pixels:
        raise UserError(f"--eigen-frames {settings.eigen_frames}: frames of {pixels} values have "
                        f"at most {pixels} principal components")
    if channels > 1 and layout.gray_only:
        raise UserError(f"{layout.option()} takes gray frames: pickle the videos without "
                        "--color, or give --input frame (or --faithful)")
    wanted = layout.units(pixels)
    if layout.positions() is not None and len(settings.layer_sizes) < 3:
        raise UserError(f"{layout.option()} feeds one detector shared across the picture, "
                        "which is a hidden layer: give at least one (e.g. --layers "
                        f"{wanted}-48-128-{settings.layer_sizes[-1]})")
    # a layout that shows the frame as it is leaves the check to check_layers, which names frames.pkl
    if settings.layer_sizes[0] != wanted != pixels:
        raise UserError(f"{layout.option()} feeds the network {layout.what(pixels)}, so "
                        f"the input layer must have {wanted} units, not {settings.layer_sizes[0]}")
