"""Training a brain: greedy RBM pretraining of the hidden layers, then fine-tuning the stack.

The run is a sequence of epochs: `pretrain_epochs` for each hidden layer's RBM, then up to
`epochs` of fine-tuning, stopped early when the validation loss has not improved for
`patience` epochs; the brain kept is the one that did best on validation.

Reproducibility and exact resume. Every random choice is drawn from a numpy Generator seeded
with (seed, phase, layer, epoch, purpose): initial weights, each epoch's shuffle and each
epoch's CD samples. Nothing random is carried from one epoch to the next, so a checkpoint only
needs the parameters, the momentum buffers and the bookkeeping (epoch, best so far, patience
counter, loss history) to continue exactly as if it had never stopped.

After every epoch the trainer takes a snapshot of that state (copies of the arrays, tens of MB
for 4096-1000-735). It is written as `brain-EPOCH.pkl` every `save_every` epochs, and on Ctrl-C
the last snapshot is written, so an interrupted epoch is simply redone on resume.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from tqdm import tqdm

from . import brain as brain_format
from . import history as history_inputs
from . import overlap, spectral
from .errors import UserError
from .trainset import (TrainingPairs, check_layers, clips_of, hold_out_tails, load_pairs,
                       picture_interpolation, provenance_of, sidecar_path, validation_split)

log = logging.getLogger("bitmap2pcm")

PRESETS = {  # the original's network shapes (SPEC §1)
    "shallow": [4096, 1000, 735],
    "deeper": [4096, 1000, 1000, 1000, 735],
    "wide": [4096, 2048, 1000, 1000, 735],
    "kungfury": [4096, 2000, 1500, 1000, 735],
}
# What the output layer predicts (--target): the slot's PCM samples (the original), its
# STFT magnitude spectrum (issue 6 option 3, see spectral.py), which needs BINS outputs, or
# a windowed PCM frame twice the slot's length for overlap-add (option 4, see overlap.py).
TARGETS = ("pcm", "stft", "ola")
OUTPUTS = {"stft": spectral.BINS, "ola": overlap.FRAME}  # output units when not 735

# Keys of the random streams: np.random.default_rng([seed, phase, layer, epoch, purpose]).
_INIT, _PRETRAIN, _FINETUNE = 0, 1, 2
_SHUFFLE, _SAMPLES = 0, 1

EVALUATION_BATCH = 1024          # rows per validation call: bigger is faster, memory is small
MIN_IMPROVEMENT = 1e-3           # a validation loss counts as better when 0.1% below the best
PROGRESS_BAR_DELAY_S = 2.0       # epochs shorter than this show no bar, only the epoch line


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
    holdout_tail: float = 0.0            # last fraction of every clip kept out for evaluation
    target: str = "pcm"                  # one of TARGETS: what the output layer predicts
    history: int = 0                     # frame differences after the frame (history.py)

    # These may change when a run is resumed: they do not alter the trajectory up to the stop.
    RESUMABLE_CHANGES = ("epochs", "save_every")

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


def preset_layers(name: str, target: str = "pcm", history: int = 0) -> list[int]:
    """A preset's layer sizes for `target` and `history`: the stft target swaps the 735 PCM
    outputs for spectral.BINS magnitudes, the ola target for overlap.FRAME samples; history K
    makes the input the frame and K differences, 4096 * (K + 1); the hidden layers stay."""
    sizes = list(PRESETS[name])
    sizes[0] = history_inputs.input_size(sizes[0], history)
    sizes[-1] = OUTPUTS.get(target, sizes[-1])
    return sizes


def output_spec(target: str) -> dict[str, Any]:
    """The brain's output convention for `target` (render dispatches on its kind)."""
    if target == "stft":
        return spectral.output_convention()
    if target == "ola":
        return overlap.output_convention()
    return brain_format.output_convention()


def target_pairs(pairs: TrainingPairs, target: str) -> TrainingPairs:
    """The same pairs with each audio row replaced by its slot's target on the [0, 1] scale:
    for stft its magnitude spectrum (spectral.unit_targets), for ola its windowed 1470-sample
    frame (overlap.unit_targets), analysed clip by clip (per pickler's sidecar)."""
    if target == "pcm":
        return pairs
    segments = [(clip["first_row"], clip["first_row"] + clip["slots"]) for clip in clips_of(pairs)]
    if target == "stft":
        log.info("computing STFT magnitude targets (%d bins per slot)", spectral.BINS)
        audio = spectral.unit_targets(pairs.audio, segments)
    else:
        log.info("computing overlap-add PCM targets (%d samples per slot)", overlap.FRAME)
        audio = overlap.unit_targets(pairs.audio, segments)
    return TrainingPairs(pairs.frames, audio, pairs.frames_path, pairs.audio_path)


def clip_starts(pairs: TrainingPairs) -> list[int]:
    """Rows where a clip begins, for history inputs: each clip's first row (per pickler's
    sidecar), and every row outside the clips (a silence anchor is a still picture of its own)."""
    clips = clips_of(pairs)
    inside = np.zeros(len(pairs), dtype=bool)
    starts = []
    for clip in clips:
        inside[clip["first_row"]:clip["first_row"] + clip["slots"]] = True
        starts.append(clip["first_row"])
    return sorted(set(starts) | set(np.nonzero(~inside)[0].tolist()))


def history_pairs(pairs: TrainingPairs, history: int) -> TrainingPairs:
    """The same pairs with each frame row replaced by its history-`history` input row
    (history.with_history: the frame and its differences, clip by clip); built once, float32."""
    if history == 0:
        return pairs
    log.info("building history inputs: each frame and %d difference%s (%d inputs per slot)",
             history, "" if history == 1 else "s",
             history_inputs.input_size(pairs.frames.shape[1], history))
    frames = history_inputs.with_history(pairs.frames, history, clip_starts(pairs))
    return TrainingPairs(frames, pairs.audio, pairs.frames_path, pairs.audio_path)


def rng_for(seed: int, phase: int, layer: int, epoch: int = 0, purpose: int = 0) -> np.random.Generator:
    """The Generator for one (phase, layer, epoch, purpose) of a run with `seed`."""
    return np.random.default_rng([seed, phase, layer, epoch, purpose])


def checkpoint_name(progress: Progress) -> str:
    if progress.phase == "pretrain":
        return f"brain-pretrain{progress.layer + 1}-{progress.epoch:04d}.pkl"
    return f"brain-{progress.epoch:04d}.pkl"


def _batches(rows: int, batch: int) -> Iterator[int]:
    """Minibatch numbers of an epoch over `rows` rows; the last batch may be short."""
    return iter(range(-(-rows // batch)))


def _column_mean(array: np.ndarray, rows: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Mean of array[rows] over rows, in float64, without copying all the rows at once."""
    total = np.zeros(array.shape[1], np.float64)
    for start in range(0, len(rows), chunk):
        total += array[rows[start:start + chunk]].sum(axis=0, dtype=np.float64)
    return total / max(1, len(rows))


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Trainer:
    """One training run over `pairs`; `run()` returns the finished brain dict.

    `resume` is a loaded checkpoint (a brain with a "resume" entry) to continue from.
    Checkpoints go to `checkpoint_dir`. `backend` is "auto", "cpu" or "jax" (see backend.py):
    the same graphs run on either, and the brain written is the same format.
    """

    def __init__(self, pairs: TrainingPairs, settings: Settings, checkpoint_dir: str | Path = ".",
                 resume: dict[str, Any] | None = None, quiet: bool = False,
                 backend: str = "auto") -> None:
        check_layers(settings.layer_sizes, pairs)
        self.pairs = pairs
        self.settings = settings
        self.checkpoint_dir = Path(checkpoint_dir)
        self.quiet = quiet
        usable, self.holdout = hold_out_tails(pairs, settings.holdout_tail)
        self.interpolation = picture_interpolation(pairs)
        train, validation = validation_split(len(usable))
        self.train_rows, self.validation_rows = usable[train], usable[validation]
        self.started = time.monotonic()
        self.snapshot: dict[str, Any] | None = None
        self.resume = resume
        self.progress = (Progress.from_record(resume["resume"]["progress"]) if resume
                         else Progress())
        if resume and resume["resume"]["data"] != self._data_identity():
            raise UserError("checkpoint was made with other training data "
                            f"({resume['resume']['data']['frames']} frames); resume needs the same "
                            "frames.pkl and audio.pkl")

        # Imported here, not at the top: bad input is reported before PyTensor loads.
        from . import backend as backend_module

        backend_module.choose(backend)
        from .dbn import DBN

        self.backend = backend_module
        self.pt = backend_module.tensor()
        if resume:
            self.dbn = DBN(resume["weights"], resume["biases"],
                           resume["resume"].get("velocities", {}).get("weights"),
                           resume["resume"].get("velocities", {}).get("biases"))
        else:
            target_mean = _column_mean(pairs.audio, self.train_rows)
            self.dbn = DBN.create(settings.layer_sizes, rng_for(settings.seed, _INIT, 0), target_mean)
        # The data stay in place (C backend: borrowed, not copied; JAX: copied to the device
        # once); each epoch only writes `order`.
        self.frames = self.backend.shared(pairs.frames, "frames")
        self.audio = self.backend.shared(pairs.audio, "audio")
        self.order = self.backend.shared(self.train_rows.astype(np.int64), "order")
        self.validation_order = self.backend.shared(self.validation_rows.astype(np.int64),
                                                    "validation_order")

    # --- the run ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Pretrain and fine-tune (from wherever `resume` left off); return the best brain."""
        settings = self.settings
        log.info("training %s on %d frames (%d train, %d validation), batch %d, seed %d, "
                 "backend %s%s", "-".join(map(str, settings.layer_sizes)), len(self.pairs),
                 len(self.train_rows), len(self.validation_rows), settings.batch, settings.seed,
                 self.backend.name(),
                 f", resuming {self.progress.phase} after epoch {self.progress.epoch}"
                 if self.resume else "")
        try:
            if self.progress.phase == "pretrain":
                if settings.pretrain_epochs > 0:
                    for layer in range(self.progress.layer, len(settings.layer_sizes) - 2):
                        self._pretrain(layer)
                else:
                    log.info("pretraining skipped (--pretrain-epochs 0): a plain MLP")
                self.progress = Progress(phase="finetune", seconds=self.progress.seconds,
                                         history=self.progress.history)
                self.resume = None
            self._finetune()
        except KeyboardInterrupt:
            raise Interrupted(self._write_snapshot()) from None
        return self._brain()

    # --- pretraining -----------------------------------------------------------------------

    def _pretrain(self, layer: int) -> None:
        """Train the RBM of hidden layer `layer` on the layer below's activity; install it."""
        from .rbm import RBM, cd_flops_per_row

        settings, progress, pt = self.settings, self.progress, self.pt
        n_visible, n_hidden = settings.layer_sizes[layer], settings.layer_sizes[layer + 1]
        data = self.frames if layer == 0 else self._hidden_activity(layer)
        if self.resume is not None and progress.layer == layer:
            rbm = RBM.from_state(self.resume["resume"]["rbm"])
            self.resume = None
        else:
            visible_mean = _column_mean(data.get_value(borrow=True), self.train_rows)
            rbm = RBM.create(n_visible, n_hidden, rng_for(settings.seed, _INIT, layer + 1), visible_mean)
            progress.layer, progress.epoch = layer, 0
            progress.history["pretrain_train"].append([])
            progress.history["pretrain_validation"].append([])
        visible = pt.matrix("visible")
        generator = self.backend.shared(np.random.default_rng(0), "cd_generator")
        momentum = self.backend.shared(np.float32(settings.pretrain_momentum[0]), "cd_momentum")
        error, updates = rbm.contrastive_divergence(
            visible, generator, settings.cd_steps, np.float32(settings.pretrain_learning_rate),
            momentum, np.float32(settings.weight_decay))
        step = self.backend.compile_minibatch_step([visible], [data], self.order, settings.batch,
                                                   error, updates)
        check = self.backend.compile_minibatch_step([visible], [data], self.validation_order,
                                                    EVALUATION_BATCH, rbm.reconstruction_error(visible))
        flops = cd_flops_per_row(n_visible, n_hidden, settings.cd_steps)
        self._take_snapshot(rbm)
        while progress.epoch < settings.pretrain_epochs:
            epoch = progress.epoch
            self.order.set_value(rng_for(settings.seed, _PRETRAIN, layer, epoch, _SHUFFLE)
                                 .permutation(self.train_rows))
            generator.set_value(rng_for(settings.seed, _PRETRAIN, layer, epoch, _SAMPLES))
            momentum.set_value(np.float32(settings.pretrain_momentum[
                0 if epoch < settings.momentum_switch_epoch else 1]))
            train_error, rate = self._epoch(step, f"pretrain {layer + 1} epoch {epoch + 1}")
            validation_error = self._evaluate(check)
            progress.epoch += 1
            progress.history["pretrain_train"][layer].append(train_error)
            progress.history["pretrain_validation"][layer].append(validation_error)
            log.info("pretrain layer %d/%d epoch %d/%d: reconstruction %.5f, validation %s, "
                     "%s frames/s, %s left", layer + 1, len(settings.layer_sizes) - 2,
                     progress.epoch, settings.pretrain_epochs, train_error,
                     _loss(validation_error), f"{rate:,.0f}", self._time_left(rate * flops))
            self._take_snapshot(rbm)
            self._maybe_save()
        self._install(layer, rbm)

    def _install(self, layer: int, rbm: Any) -> None:
        state = rbm.state()
        self.dbn.set_layer(layer, state["W"], state["hidden_bias"])

    def _hidden_activity(self, layer: int) -> Any:
        """A backend copy of every frame's activity at hidden layer `layer` (the next RBM's data)."""
        x = self.pt.matrix("x")
        everything = self.backend.shared(np.arange(len(self.pairs), dtype=np.int64), "all_rows")
        up = self.backend.compile_minibatch_step([x], [self.frames], everything, EVALUATION_BATCH,
                                                 self.dbn.hidden_activity(x, layer))
        activity = np.empty((len(self.pairs), self.settings.layer_sizes[layer]), np.float32)
        for index in _batches(len(self.pairs), EVALUATION_BATCH):
            activity[index * EVALUATION_BATCH:(index + 1) * EVALUATION_BATCH] = up(index)
        return self.backend.shared(activity, f"hidden{layer}")

    # --- fine-tuning -----------------------------------------------------------------------

    def _finetune(self) -> None:
        """Nesterov SGD on the MSE with early stopping; the best parameters end in self.best."""
        from .dbn import finetune_flops_per_row

        settings, progress, pt = self.settings, self.progress, self.pt
        if self.resume is not None:
            best = self.resume["resume"]["best"]
            self.best = (list(best["weights"]), list(best["biases"]))
        else:
            self.best = self.dbn.parameters()
        x, targets = pt.matrix("x"), pt.matrix("targets")
        loss = self.dbn.mean_squared_error(x, targets)
        updates = self.dbn.nesterov_updates(loss, np.float32(settings.learning_rate),
                                            np.float32(settings.momentum))
        step = self.backend.compile_minibatch_step([x, targets], [self.frames, self.audio],
                                                   self.order, settings.batch, loss, updates)
        check = self.backend.compile_minibatch_step([x, targets], [self.frames, self.audio],
                                                    self.validation_order, EVALUATION_BATCH, loss)
        flops = finetune_flops_per_row(settings.layer_sizes)
        self._take_snapshot()
        while progress.epoch < settings.epochs and progress.waited < settings.patience:
            epoch = progress.epoch
            self.order.set_value(rng_for(settings.seed, _FINETUNE, 0, epoch, _SHUFFLE)
                                 .permutation(self.train_rows))
            train_loss, rate = self._epoch(step, f"finetune epoch {epoch + 1}")
            validation_loss = self._evaluate(check)
            # Without validation rows (tiny data) the training loss is the only guide.
            monitored = train_loss if math.isnan(validation_loss) else validation_loss
            progress.epoch += 1
            progress.history["finetune_train"].append(train_loss)
            progress.history["finetune_validation"].append(validation_loss)
            improved = monitored < progress.best_loss * (1.0 - MIN_IMPROVEMENT)
            if improved:
                progress.best_loss, progress.best_epoch, progress.waited = monitored, progress.epoch, 0
                self.best = self.dbn.parameters()
            else:
                progress.waited += 1
            log.info("finetune epoch %d/%d: train %.6f, validation %s%s, %s frames/s, "
                     "at most %s left", progress.epoch, settings.epochs, train_loss,
                     _loss(validation_loss), " (best)" if improved else "",
                     f"{rate:,.0f}", self._time_left(rate * flops))
            self._take_snapshot()
            self._maybe_save()
        if progress.waited >= settings.patience:
            log.info("early stop: no improvement for %d epochs; keeping epoch %d (validation %.6f)",
                     progress.waited, progress.best_epoch, progress.best_loss)

    # --- epochs ----------------------------------------------------------------------------

    def _epoch(self, step: Callable[[int], Any], label: str) -> tuple[float, float]:
        """Run `step` over every minibatch of the current order; (mean loss, rows per second)."""
        rows, batch = len(self.train_rows), self.settings.batch
        losses, started = [], time.perf_counter()
        with tqdm(total=rows, desc=label, unit="frame", leave=False, delay=PROGRESS_BAR_DELAY_S,
                  disable=True if self.quiet else None) as bar:
            for index in _batches(rows, batch):
                size = min(batch, rows - index * batch)
                # kept as the backend's arrays: converting each to a float would make a GPU
                # wait for every step instead of queueing the next
                losses.append((step(index), size))
                bar.update(size)
        total = sum(float(loss) * size for loss, size in losses)
        seconds = time.perf_counter() - started
        return total / rows, rows / max(seconds, 1e-9)

    def _evaluate(self, check: Callable[[int], Any]) -> float:
        """Mean of a per-minibatch mean over the validation rows (NaN when there are none)."""
        rows = len(self.validation_rows)
        if rows == 0:
            return math.nan
        total = 0.0
        for index in _batches(rows, EVALUATION_BATCH):
            total += float(check(index)) * min(EVALUATION_BATCH, rows - index * EVALUATION_BATCH)
        return total / rows

    def _time_left(self, flops_per_second: float) -> str:
        """Remaining matrix work of the whole run (fine-tuning to its cap) at the current rate."""
        from .dbn import finetune_flops_per_row
        from .rbm import cd_flops_per_row

        settings, progress = self.settings, self.progress
        sizes, train = settings.layer_sizes, len(self.train_rows)
        remaining = 0.0
        if progress.phase == "pretrain":
            for layer in range(progress.layer, len(sizes) - 2):
                epochs = settings.pretrain_epochs - (progress.epoch if layer == progress.layer else 0)
                remaining += epochs * train * cd_flops_per_row(sizes[layer], sizes[layer + 1],
                                                               settings.cd_steps)
            finetune_done = 0
        else:
            finetune_done = progress.epoch
        remaining += (settings.epochs - finetune_done) * train * finetune_flops_per_row(sizes)
        return _duration(remaining / max(flops_per_second, 1.0))

    # --- checkpoints and the brain ---------------------------------------------------------

    def _data_identity(self) -> dict[str, int]:
        return {"frames": len(self.pairs), "digest": self.pairs.digest()}

    def _take_snapshot(self, rbm: Any = None) -> None:
        """Copy the state after a whole epoch: what Ctrl-C or the next save will write."""
        progress = Progress.from_record(self.progress.to_record())  # asdict copies the lists
        progress.seconds = self._seconds()
        weights, biases = self.dbn.parameters()
        state: dict[str, Any] = {"settings": self.settings.to_record(),
                                 "progress": progress.to_record(),
                                 "data": self._data_identity()}
        if rbm is not None:
            state["rbm"] = rbm.state()
        else:
            velocity_weights, velocity_biases = self.dbn.velocities()
            state["velocities"] = {"weights": velocity_weights, "biases": velocity_biases}
            state["best"] = {"weights": [w.copy() for w in self.best[0]],
                             "biases": [b.copy() for b in self.best[1]]}
        self.snapshot = {"weights": weights, "biases": biases, "resume": state}

    def _maybe_save(self) -> None:
        every = self.settings.save_every
        if every > 0 and self.progress.epoch % every == 0:
            self._write_snapshot()

    def _write_snapshot(self) -> Path | None:
        if self.snapshot is None:
            return None
        state = self.snapshot["resume"]
        progress = Progress.from_record(state["progress"])
        checkpoint = brain_format.make_brain(
            self.snapshot["weights"], self.snapshot["biases"], self.dbn.activations,
            self._training_record(progress), interpolation=self.interpolation,
            input_spec=self._input_spec(), output_spec=output_spec(self.settings.target))
        checkpoint["resume"] = state
        path = self.checkpoint_dir / checkpoint_name(progress)
        brain_format.save(checkpoint, path)
        log.info("checkpoint %s", path)
        return path

    def _seconds(self) -> float:
        return self.progress.seconds + (time.monotonic() - self.started)

    def _training_record(self, progress: Progress) -> dict[str, Any]:
        settings = self.settings
        pretrained = [len(losses) for losses in progress.history["pretrain_train"]]
        return {
            "data": {"frames": str(Path(self.pairs.frames_path).resolve()),
                     "audio": str(Path(self.pairs.audio_path).resolve()),
                     "sidecar": sidecar_path(self.pairs)},
            "frames": {"total": len(self.pairs), "train": len(self.train_rows),
                       "validation": len(self.validation_rows),
                       "held_out": sum(c["to_slot"] - c["from_slot"] for c in self.holdout["clips"])},
            "holdout": self.holdout,
            "epochs": {"pretrain": pretrained,
                       "finetune": len(progress.history["finetune_train"])},
            "losses": progress.history,
            "target": settings.target,
            "history": settings.history,
            "silence_seconds": (provenance_of(self.pairs) or {}).get("silence_seconds", 0),
            "loss": ("mean squared error over rows and "
                     + {"stft": "magnitude bins, [0, 1] scale of spectral.to_unit",
                        "ola": "windowed frame samples, [0, 1] units"}.get(settings.target,
                                                                           "samples, [0, 1] units")),
            "best_epoch": progress.best_epoch,
            "best_validation_loss": (None if math.isinf(progress.best_loss)
                                     else float(progress.best_loss)),
            "seconds": round(progress.seconds, 3),
            "seed": settings.seed,
            "batch": settings.batch,
            "lr": {"finetune": settings.learning_rate, "pretrain": settings.pretrain_learning_rate},
            "settings": settings.to_record(),
            "optimizer": "CD-k RBM pretraining, then Nesterov momentum SGD",
            "backend": self.backend.describe(),
        }

    def _brain(self) -> dict[str, Any]:
        """The finished brain: the best fine-tuned parameters and the training record."""
        progress = Progress.from_record(self.progress.to_record())
        progress.seconds = self._seconds()
        weights, biases = self.best
        brain = brain_format.make_brain(weights, biases, self.dbn.activations,
                                        self._training_record(progress),
                                        interpolation=self.interpolation,
                                        input_spec=self._input_spec(),
                                        output_spec=output_spec(self.settings.target))
        if self.settings.target == "stft":
            brain["output"]["level_gain_db"] = self._level_gain_db(brain)
        return brain

    def _level_gain_db(self, brain: dict[str, Any]) -> float:
        """The stft brain's level calibration (spectral.level_gain_db), measured on the
        validation rows, which fine-tuning never fitted (on the training rows when there are
        none); forward passes in batches, like validation (the rows' spectra are a few MB)."""
        which = "validation" if len(self.validation_rows) else "training"
        rows = self.validation_rows if len(self.validation_rows) else self.train_rows
        predicted, target = [], []
        for start in range(0, len(rows), EVALUATION_BATCH):
            batch = rows[start:start + EVALUATION_BATCH]
            predicted.append(spectral.from_unit(brain_format.forward(brain, self.pairs.frames[batch])))
            target.append(spectral.from_unit(self.pairs.audio[batch]))
        gain_db = spectral.level_gain_db(np.concatenate(predicted), np.concatenate(target))
        log.info("level calibration on %d %s rows: %+.1f dB", len(rows), which, gain_db)
        return round(gain_db, 3)

    def _input_spec(self) -> dict[str, Any]:
        """The brain's input convention: the picture's, with the history layout when K > 0."""
        return history_inputs.convention(brain_format.input_convention(self.interpolation),
                                         self.settings.history)


def _loss(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.6f}"


def settings_for(layers: list[int] | None, options: dict[str, Any],
                 checkpoint: dict[str, Any] | None, checkpoint_path: str | None) -> Settings:
    """Settings of a new run from `options`, or of a resumed run from its checkpoint.

    `options` holds only what the user gave explicitly. On resume, options that would change
    the trajectory must agree with the checkpoint (otherwise the run would not be the same
    run); `epochs` and `save_every` may change.
    """
    if options.get("target", "pcm") not in TARGETS:
        raise UserError(f"unknown target {options['target']!r} (choose {', '.join(TARGETS)})")
    if options.get("history", 0) < 0:
        raise UserError(f"--history must be 0 or more, not {options['history']}")
    if checkpoint is None:
        return Settings(layer_sizes=list(layers or preset_layers("shallow", options.get("target", "pcm"),
                                                                 options.get("history", 0))),
                        **options)
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


def run_training(frames: str, audio: str, output: str, layers: list[int] | None,
                 options: dict[str, Any], resume: str | None = None, quiet: bool = False,
                 backend: str = "auto") -> int:
    """The whole of `theanet.py`: check inputs, train, write the brain; return an exit status.

    Ctrl-C writes a checkpoint, says how to continue, and returns 1 (the project's code for a
    run that did not finish; nothing is lost).
    """
    from . import backend as backend_module
    from .files import check_writable_dir

    backend = backend_module.choose(backend)  # a missing JAX is said before any data is read
    output_path = Path(output)
    check_writable_dir(output_path.parent if str(output_path.parent) else ".")
    checkpoint = None
    if resume is not None:
        checkpoint = brain_format.load(resume)
        if not isinstance(checkpoint.get("resume"), dict):
            raise UserError(f"{resume}: a finished brain, not a checkpoint (brain-EPOCH.pkl)")
    settings = settings_for(layers, options, checkpoint, resume)
    if settings.target == "stft" and settings.layer_sizes[-1] != spectral.BINS:
        raise UserError(f"--target stft predicts {spectral.BINS} magnitude bins per slot, so the "
                        f"output layer must have {spectral.BINS} units, not {settings.layer_sizes[-1]}")
    if settings.target == "ola" and settings.layer_sizes[-1] != overlap.FRAME:
        raise UserError(f"--target ola predicts a {overlap.FRAME}-sample frame per slot, so the "
                        f"output layer must have {overlap.FRAME} units, not {settings.layer_sizes[-1]}")
    pairs = load_pairs(frames, audio)
    pixels = pairs.frames.shape[1]
    if settings.history and settings.layer_sizes[0] != history_inputs.input_size(pixels, settings.history):
        raise UserError(f"--history {settings.history} feeds the network each {pixels}-pixel frame and "
                        f"{settings.history} difference{'' if settings.history == 1 else 's'}, so the "
                        f"input layer must have {history_inputs.input_size(pixels, settings.history)} "
                        f"units, not {settings.layer_sizes[0]}")
    pairs = history_pairs(target_pairs(pairs, settings.target), settings.history)
    trainer = Trainer(pairs, settings, checkpoint_dir=output_path.parent, resume=checkpoint,
                      quiet=quiet, backend=backend)
    try:
        finished = trainer.run()
    except Interrupted as stop:
        if stop.checkpoint is None:
            log.warning("interrupted before the first epoch; nothing to save")
        else:
            log.warning("interrupted: continue with --resume %s", stop.checkpoint)
        return 1
    brain_format.save(finished, output_path)
    record = finished["training"]
    log.info("wrote %s (best epoch %d, validation %s, %s)", output_path, record["best_epoch"],
             record["best_validation_loss"], _duration(record["seconds"]))
    return 0
