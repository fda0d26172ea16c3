"""What decides a training run: the network's shape, what it predicts, and the settings a
checkpoint carries (`Settings`), with the rule for which of them a resumed run may change.

Reproducibility: every random choice of a run is drawn from `rng_for(seed, phase, layer,
epoch, purpose)`, a numpy Generator keyed by where in the run it is used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from ..core.errors import UserError
from ..data import history as history_inputs
from ..data import motion, movement
from ..sound import cues, library, overlap, spectral

PRESETS = {  # the original's network shapes (docs/original.md)
    "shallow": [4096, 1000, 735],
    "deeper": [4096, 1000, 1000, 1000, 735],
    "wide": [4096, 2048, 1000, 1000, 735],
    "kungfury": [4096, 2000, 1500, 1000, 735],
}
# What the output layer predicts (--target): the slot's PCM samples (the original), its
# STFT magnitude spectrum (the frequency representation, see spectral.py), which needs BINS
# outputs, a windowed PCM frame twice the slot's length for overlap-add (see overlap.py), or
# its sound cues (bands, loudness class, onset: cues.py), rendered as copies of real training
# sound (library.py).
TARGETS = ("pcm", "stft", "ola", "cues")
# What the input layer sees (--input): the frame (the original's; with --history K also its K
# previous differences), the frame with the motion into and out of its slot (data/motion.py),
# or the movement in a centred window of coarse frames (data/movement.py).
INPUTS = ("frame", "spacetime", "movement")
OUTPUTS = {"stft": spectral.BINS, "ola": overlap.FRAME, "cues": cues.CUES}  # output units when not 735

# The recommended mode, what theanet.py trains when no shape, target or input is given: the
# movement around each slot in, sound cues out. A cue brain trains on its own loss with its
# own settings (measured on the event benchmark's training scene, 1500 rows: at batch 512, or
# at batch 64 with the MSE targets' rate, it stayed on the "predict the prior" plateau;
# batch 64 at 0.3 left it within 50 epochs and was still improving at 300).
RECOMMENDED_MODE = {"target": "cues", "inputs": "movement"}
CUE_TRAINING = {"batch": 64, "learning_rate": 0.3, "patience": 50, "epochs": 300}
# --faithful: the 2015 network, the frame in and PCM samples out (the presets' own target).
FAITHFUL_MODE = {"target": "pcm", "inputs": "frame"}

# Keys of the random streams: np.random.default_rng([seed, phase, layer, epoch, purpose]).
INIT, PRETRAIN, FINETUNE, EIGEN = 0, 1, 2, 3
SHUFFLE, SAMPLES = 0, 1


@dataclass
class Settings:
    """Everything that decides the trajectory of a run (stored in checkpoints and brains)."""

    layer_sizes: list[int]
    epochs: int = 200                    # cap on fine-tuning epochs (early stopping ends sooner)
    pretrain_epochs: int = 10            # epochs of CD per hidden layer; 0 = plain MLP
    # Batch 512 by measurement (bench/train, 2 cores): fine-tuning 4096-1000-735 ran at 0.69 of
    # numpy's GEMM rate at 512, 0.59 at 256 and 0.3 at 64 (the original's 10..64), because every
    # step also streams the whole weight matrix through the single-threaded elementwise update.
    batch: int = 512                     # rows per minibatch, both phases
    # The loss averages over the 735 outputs, so its gradients are 735x smaller than a per-frame
    # sum of squares would give. Measured on the shapes fixture (6000 frames, 40 epochs) and on
    # the Planet Blupi cutscenes: at batch 512, 3.0 reached the lowest validation loss (2.0 was
    # unsteady); at batch 256, 2.0 learned and 5.0 diverged; 0.1..0.5 barely moved.
    learning_rate: float = 3.0           # fine-tuning (Nesterov SGD), per unit of mean sq. error
    momentum: float = 0.9                # fine-tuning momentum (the original's)
    pretrain_learning_rate: float = 0.01         # guide §5: a small rate, here for mean gradients
    pretrain_momentum: tuple[float, float] = (0.5, 0.9)  # guide §9: 0.5 while the weights settle,
    momentum_switch_epoch: int = 5                       # then 0.9 from this epoch on
    weight_decay: float = 1e-4           # guide §10: L2 cost on RBM weights
    cd_steps: int = 1                    # k of CD-k
    patience: int = 10                   # fine-tuning epochs without improvement before stopping
    seed: int = 0
    save_every: int = 10                 # checkpoint interval in epochs; 0 = only on Ctrl-C
    keep_every: int = 0                  # also keep every N-th epoch's checkpoint; 0 = the latest only
    holdout_tail: float = 0.0            # last fraction of every clip kept out for evaluation
    target: str = "pcm"                  # one of TARGETS: what the output layer predicts
    history: int = 0                     # frame differences after the frame (history.py)
    inputs: str = "frame"                # one of INPUTS: what the input layer sees
    eigen_frames: int = 0                # K PCA coefficients in place of the pixels; 0 = pixels
    library_seconds: float = library.DEFAULT_CAP_S  # cues: the most training sound a brain keeps

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
        return cls(**values)


def preset_layers(name: str, target: str = "pcm", history: int = 0, inputs: str = "frame",
                  pixels: int | None = None, eigen_frames: int = 0) -> list[int]:
    """A preset's layer sizes for `target`, `history` and `inputs` on frames of `pixels`
    values (the data's: 3 * 4096 in colour; the preset's 4096 when not given): the stft target
    swaps the 735 PCM outputs for spectral.BINS magnitudes, the ola target for overlap.FRAME
    samples; history K makes the input the frame and K differences, pixels * (K + 1);
    spacetime inputs add the motion maps and energies (motion.input_size); `eigen_frames` K
    puts K coefficients in the frame's place; the hidden layers stay."""
    sizes = list(PRESETS[name])
    sizes[0] = input_units(sizes[0] if pixels is None else pixels, history, inputs, eigen_frames)
    sizes[-1] = OUTPUTS.get(target, sizes[-1])
    return sizes


def input_units(pixels: int, history: int, inputs: str, eigen_frames: int = 0) -> int:
    """Units of the input layer for frames of `pixels` values: the frame (or its
    `eigen_frames` coefficients) and its `history` differences, or its spacetime row
    (`inputs` "spacetime")."""
    frame = eigen_frames or pixels
    if inputs == "spacetime":
        return motion.input_size(frame)
    if inputs == "movement":
        return movement.input_size(pixels)
    return history_inputs.input_size(frame, history)


def mode_defaults(options: dict[str, Any], layers: list[int] | None, preset: str | None,
                  faithful: bool) -> dict[str, Any]:
    """The options of a new run with its mode filled in where the user left it open: the 2015
    network with `faithful` (or a preset, the original's shapes), the target that `layers`'
    output size implies (735 PCM samples when none does), the recommended mode when nothing
    names a shape; movement inputs for a cue target (unless another input is asked for), the
    frame otherwise; and a cue target's own training settings (CUE_TRAINING)."""
    chosen = dict(options)
    if faithful:
        clash = [f"--{key.replace('_', '-')}" for key in ("target", "inputs", "history", "eigen_frames")
                 if key in chosen]
        if clash:
            raise UserError(f"--faithful is the 2015 network (the frame in, PCM out); leave out "
                            f"{', '.join(clash).replace('--inputs', '--input')}")
        chosen.update(FAITHFUL_MODE)
    if "target" not in chosen:
        by_size = {units: target for target, units in OUTPUTS.items()}
        chosen["target"] = ("pcm" if preset else by_size.get(layers[-1], "pcm") if layers
                            else RECOMMENDED_MODE["target"])
    if "inputs" not in chosen:
        other_inputs = chosen.get("history") or chosen.get("eigen_frames")
        chosen["inputs"] = (RECOMMENDED_MODE["inputs"] if chosen["target"] == "cues" and not other_inputs
                            else "frame")
    if chosen["target"] == "cues":
        chosen = {**CUE_TRAINING, **chosen}
    return chosen


def rng_for(seed: int, phase: int, layer: int, epoch: int = 0, purpose: int = 0) -> np.random.Generator:
    """The Generator for one (phase, layer, epoch, purpose) of a run with `seed`."""
    return np.random.default_rng([seed, phase, layer, epoch, purpose])


def settings_for(layers: list[int] | None, options: dict[str, Any],
                 checkpoint: dict[str, Any] | None, checkpoint_path: str | None) -> Settings:
    """Settings of a new run from `options`, or of a resumed run from its checkpoint.

    `options` holds only what the user gave explicitly. On resume, options that would change
    the trajectory must agree with the checkpoint (otherwise the run would not be the same
    run); those in Settings.RESUMABLE_CHANGES may change.
    """
    if options.get("target", "pcm") not in TARGETS:
        raise UserError(f"unknown target {options['target']!r} (choose {', '.join(TARGETS)})")
    if options.get("history", 0) < 0:
        raise UserError(f"--history must be 0 or more, not {options['history']}")
    if options.get("inputs", "frame") not in INPUTS:
        raise UserError(f"unknown input {options['inputs']!r} (choose {', '.join(INPUTS)})")
    if options.get("inputs", "frame") != "frame" and options.get("history", 0):
        raise UserError(f"--history and --input {options['inputs']} are two kinds of motion "
                        "input; choose one")
    if options.get("eigen_frames", 1) < 1:
        raise UserError(f"--eigen-frames must be 1 or more, not {options['eigen_frames']} "
                        "(leave it out to show the network the pixels)")
    if options.get("eigen_frames") and (options.get("history", 0)
                                        or options.get("inputs", "frame") not in ("frame", "spacetime")):
        raise UserError("--eigen-frames replaces the frame's pixels with --input frame or "
                        "spacetime, not with --history or other inputs")
    if checkpoint is None:
        return Settings(layer_sizes=list(layers or preset_layers(
            "shallow", options.get("target", "pcm"), options.get("history", 0),
            options.get("inputs", "frame"), eigen_frames=options.get("eigen_frames", 0))), **options)
    settings = Settings.from_record(checkpoint["resume"]["settings"])
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
    """The output layer must fit the target: BINS magnitudes for stft, FRAME samples for ola."""
    outputs = settings.layer_sizes[-1]
    if settings.target == "stft" and outputs != spectral.BINS:
        raise UserError(f"--target stft predicts {spectral.BINS} magnitude bins per slot, so the "
                        f"output layer must have {spectral.BINS} units, not {outputs}")
    if settings.target == "cues" and outputs != cues.CUES:
        raise UserError(f"--target cues predicts {cues.CUES} cues per slot ({cues.BANDS} bands, "
                        f"{cues.LOUDNESS_CLASSES} loudness classes, an onset), so the output "
                        f"layer must have {cues.CUES} units, not {outputs}")
    if settings.target == "ola" and outputs != overlap.FRAME:
        raise UserError(f"--target ola predicts a {overlap.FRAME}-sample frame per slot, so the "
                        f"output layer must have {overlap.FRAME} units, not {outputs}")


def check_inputs(settings: Settings, pixels: int, channels: int = 1) -> None:
    """With history K the input layer must take each `pixels`-pixel frame and K differences;
    with spacetime inputs, the frame and its motion (motion.input_size); with eigen-frames,
    at most `pixels` coefficients in the frame's place. Movement inputs need gray frames
    (`channels` 1)."""
    k_eigen = settings.eigen_frames
    if k_eigen > pixels:
        raise UserError(f"--eigen-frames {k_eigen}: frames of {pixels} values have at most "
                        f"{pixels} principal components")
    if channels > 1 and settings.inputs == "movement":
        raise UserError("--input movement (a cue brain's default) takes gray frames: pickle "
                        "the videos without --color, or give --input frame or spacetime "
                        "(or --faithful)")
    wanted = input_units(pixels, settings.history, settings.inputs, k_eigen)
    if k_eigen and settings.layer_sizes[0] != wanted:
        raise UserError(f"--eigen-frames {k_eigen} feeds the network {k_eigen} coefficients per "
                        f"frame{' and its motion' if settings.inputs == 'spacetime' else ''}, so "
                        f"the input layer must have {wanted} units, not {settings.layer_sizes[0]}")
    feeds = {"movement": "each slot's movement on a coarse grid",
             "spacetime": f"each {pixels}-pixel frame and its motion"}
    if settings.inputs in feeds:
        if settings.layer_sizes[0] != wanted:
            raise UserError(f"--input {settings.inputs} feeds the network {feeds[settings.inputs]}, "
                            f"so the input layer must have {wanted} units, not "
                            f"{settings.layer_sizes[0]}")
        return
    k = settings.history
    if k and settings.layer_sizes[0] != wanted:
        raise UserError(f"--history {k} feeds the network each {pixels}-pixel frame and "
                        f"{k} difference{'' if k == 1 else 's'}, so the "
                        f"input layer must have {wanted} units, not {settings.layer_sizes[0]}")
