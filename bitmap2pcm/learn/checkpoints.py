"""Checkpoints and the brain a run writes: where a run stands (`Progress`), a copy of the
state after each whole epoch (`snapshot`), and the training record every brain carries.

A checkpoint `brain-EPOCH.pkl` is a brain with a "resume" entry: the settings, the progress,
the momentum buffers (or the RBM being pretrained), the best parameters so far and the data's
identity. Nothing random is carried from one epoch to the next (see settings.rng_for), so
that is all a resumed run needs to continue exactly as if it had never stopped; the file is
written atomically, so a run killed while writing one resumes from the one before.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..data import looks as looks_of
from ..data.layout import InputLayout
from ..data.trainset import TrainingPairs, clip_segments, picture_channels, provenance_of, sidecar_path
from ..sound.representation import Calibration
from . import brain as brain_format
from .brain import Brain
from .settings import OPTIMIZER_NAMES, Settings

log = logging.getLogger("bitmap2pcm")


class Interrupted(Exception):
    """Training stopped by Ctrl-C after writing `checkpoint` (None when there was nothing yet)."""

    def __init__(self, checkpoint: Path | None) -> None:
        super().__init__(str(checkpoint))
        self.checkpoint = checkpoint


@dataclass
class Progress:
    """Where the run stands after a whole epoch: the bookkeeping a checkpoint carries."""

    phase: str = "pretrain"              # "pretrain" or "finetune"
    layer: int = 0                       # hidden layer being pretrained
    epoch: int = 0                       # epochs completed in this phase (and layer)
    best_loss: float = math.inf          # fine-tuning: best validation loss so far
    best_epoch: int = 0
    waited: int = 0                      # epochs since the best, for patience
    seconds: float = 0.0                 # training time spent before this process started
    history: dict[str, Any] = field(default_factory=lambda: {
        "pretrain_train": [], "pretrain_validation": [],   # per layer, per epoch: recon. MSE
        "finetune_train": [], "finetune_validation": []})  # per epoch: MSE

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Progress":
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in record.items() if key in known})


def checkpoint_name(progress: Progress) -> str:
    if progress.phase == "pretrain":
        return f"brain-pretrain{progress.layer + 1}-{progress.epoch:04d}.pkl"
    return f"brain-{progress.epoch:04d}.pkl"


def data_identity(pairs: TrainingPairs) -> dict[str, int]:
    """What a checkpoint remembers of its data, so that resume refuses other data."""
    return {"frames": len(pairs), "digest": pairs.digest}


def snapshot(settings: Settings, progress: Progress, pairs: TrainingPairs, dbn: Any,
             best: tuple[list[np.ndarray], list[np.ndarray]], rbm: Any = None) -> dict[str, Any]:
    """Copies of the state after a whole epoch: what Ctrl-C or the next save will write.
    During pretraining the RBM's state stands in for the fine-tuning's momentum and best."""
    weights, biases = dbn.parameters()
    state: dict[str, Any] = {"settings": settings.to_record(),
                             "progress": Progress.from_record(progress.to_record()).to_record(),
                             "data": data_identity(pairs)}
    if rbm is not None:
        state["rbm"] = rbm.state()
    else:
        velocity_weights, velocity_biases = dbn.velocities()
        state["velocities"] = {"weights": velocity_weights, "biases": velocity_biases}
        if settings.optimizer == "adam":
            square_weights, square_biases = dbn.squares()
            state["squares"] = {"weights": square_weights, "biases": square_biases}
            state["steps"] = dbn.step_count()
        state["best"] = {"weights": [w.copy() for w in best[0]],
                         "biases": [b.copy() for b in best[1]]}
    return {"weights": weights, "biases": biases, "resume": state}


@dataclass(frozen=True)
class RunFacts:
    """What a run's brains record besides its progress: its data, split and conventions."""

    pairs: TrainingPairs
    settings: Settings
    train_rows: np.ndarray
    validation_rows: np.ndarray
    holdout: dict[str, Any]
    interpolation: str
    backend: dict[str, Any]
    layout: InputLayout
    clip_starts: list[int]   # rows where a clip begins: a brain with memory forgets there
    pictures: np.ndarray | None = None  # the training pictures, for the looks of a cue brain's onsets


def brain_of(run: RunFacts, weights: list[np.ndarray], biases: list[np.ndarray],
             activations: list[str], progress: Progress, memory: dict[str, Any] | None = None) -> Brain:
    """A brain of this run at `progress` (a checkpoint adds its "resume" entry): the input
    record is the picture's convention (gray or colour) with the run's layout, the output
    record its representation's."""
    picture = brain_format.picture_convention(run.interpolation, picture_channels(run.pairs))
    return brain_format.make_brain(weights, biases, activations, training_record(run, progress),
                                   input_record=run.layout.convention(picture),
                                   output_record=run.settings.representation().convention(),
                                   input_units=run.settings.layer_sizes[0], memory=memory)


def calibration(run: RunFacts, brain: Brain, sound: np.ndarray, batch_rows: int) -> Calibration:
    """What the representation may measure on the finished `brain`: its outputs on the
    run's rows (forward passes in batches, like validation), the rows fine-tuning never
    fitted (the validation rows, or the training rows when there are none), the rows
    training may use, and `sound`, audio.pkl's rows. The outputs of every row are computed
    once, clip by clip in time order, as a brain with memory needs them."""
    every = brain_format.clip_outputs(brain, run.pairs.frames, run.clip_starts, batch_rows)

    def outputs(rows: np.ndarray) -> np.ndarray:
        return every[rows]

    unfitted, name = ((run.validation_rows, "validation") if len(run.validation_rows)
                      else (run.train_rows, "training"))
    def looks(rows: np.ndarray) -> np.ndarray:
        return looks_of.looks_at(run.pictures, rows, run.clip_starts)

    return Calibration(outputs=outputs, looks=None if run.pictures is None else looks,
                       targets=run.pairs.audio, sound=sound,
                       unfitted_rows=unfitted, unfitted_name=name,
                       usable_rows=np.sort(np.concatenate([run.train_rows, run.validation_rows])),
                       segments=clip_segments(run.pairs),
                       library_seconds=run.settings.library_seconds)


def training_record(run: RunFacts, progress: Progress) -> dict[str, Any]:
    """The "training" entry of a brain or checkpoint (see brain.py for the whole format)."""
    settings, pairs = run.settings, run.pairs
    pretrained = [len(losses) for losses in progress.history["pretrain_train"]]
    return {
        "data": {"frames": str(Path(pairs.frames_path).resolve()),
                 "audio": str(Path(pairs.audio_path).resolve()),
                 "sidecar": sidecar_path(pairs)},
        "frames": {"total": len(pairs), "train": len(run.train_rows),
                   "validation": len(run.validation_rows),
                   "held_out": sum(c["to_slot"] - c["from_slot"] for c in run.holdout["clips"])},
        "holdout": run.holdout,
        "epochs": {"pretrain": pretrained,
                   "finetune": len(progress.history["finetune_train"])},
        "losses": progress.history,
        "target": settings.target,
        "history": settings.history,
        "silence_seconds": (provenance_of(pairs) or {}).get("silence_seconds", 0),
        "loss": settings.representation().loss_text,
        "best_epoch": progress.best_epoch,
        "best_validation_loss": (None if math.isinf(progress.best_loss)
                                 else float(progress.best_loss)),
        "seconds": round(progress.seconds, 3),
        "seed": settings.seed,
        "batch": settings.batch,
        "lr": {"finetune": settings.learning_rate, "pretrain": settings.pretrain_learning_rate},
        "settings": settings.to_record(),
        "optimizer": (("CD-k RBM pretraining, then " if settings.pretrain_epochs else "")
                      + OPTIMIZER_NAMES[settings.optimizer]),
        "backend": run.backend,
    }
