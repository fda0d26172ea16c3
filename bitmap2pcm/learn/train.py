"""Training a brain: greedy RBM pretraining of the hidden layers, then fine-tuning the stack.

The run is a sequence of epochs: `pretrain_epochs` for each hidden layer's RBM, then up to
`epochs` of fine-tuning, stopped early when the validation loss has not improved for
`patience` epochs; the brain kept is the one that did best on validation. With memory
(`memory_seconds`, memory.py) its output layer is then fitted again, the same way, on the
top hidden layer's activity over the past second of every row. Around this loop:
what a run is made of (`settings`), what the network learns from (`pairs`), checkpoints,
exact resume and the brain's record (`checkpoints`), and what it says as it goes (`reporting`).

After every epoch the trainer takes a snapshot of its state (copies of the arrays, tens of MB
for 4096-1000-735). It is written as `brain-EPOCH.pkl` every `save_every` epochs, and on Ctrl-C
the last snapshot is written, so an interrupted epoch is simply redone on resume.

A run keeps only its latest checkpoint (a long run would otherwise fill the disk): each new one
is written whole first and only then is the one before it removed, so a kill at any moment
leaves a complete checkpoint to resume from. Every `keep_every`-th epoch's checkpoint is kept
(and written, whatever `save_every` says). The checkpoint a run resumed from counts as the
run's own, to be replaced, only where the run would have written it itself: beside the brain,
under its own name; a checkpoint the user keeps elsewhere or renamed is never removed.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..core import cli
from ..core.errors import UserError
from ..data import gathered
from ..data.layout import InputLayout, Positions, Rows
from ..data.trainset import (
    TrainingPairs,
    check_layers,
    picture_interpolation,
    split_rows,
)
from . import brain as brain_format
from . import memory, pooling
from .pairs import clip_starts
from .brain import Brain
from .checkpoints import (
    Interrupted,
    Progress,
    RunFacts,
    brain_of,
    calibration,
    checkpoint_name,
    data_identity,
    snapshot,
)
from .reporting import loss_text, pretrain_flops_per_row, time_left
from .settings import (
    FINETUNE,
    INIT,
    MEMORY,
    PRETRAIN,
    SAMPLES,
    SHUFFLE,
    Settings,
    rng_for,
)

log = logging.getLogger("bitmap2pcm")

# The memory's fit is one linear layer on fixed features: at 512 rows a step it reached a lower
# validation loss than at the run's 64 (event benchmark: 0.01011 against 0.01019) in fewer steps.
MEMORY_BATCH = 512
EVALUATION_BATCH = 1024          # rows per validation call: bigger is faster, memory is small
MIN_IMPROVEMENT = 1e-3           # a validation loss counts as better when 0.1% below the best
PROGRESS_BAR_DELAY_S = 2.0       # epochs shorter than this show no bar, only the epoch line


def _batches(rows: int, batch: int) -> Iterator[int]:
    """Minibatch numbers of an epoch over `rows` rows; the last batch may be short."""
    return iter(range(-(-rows // batch)))


def _column_mean(array: np.ndarray, rows: np.ndarray, chunk: int = 4096,
                 places: Positions | None = None) -> np.ndarray:
    """Mean of array[rows] over rows (with `places`: over every place of those rows), in
    float64, without copying all the rows at once."""
    total = np.zeros(array.shape[1] if places is None else places.per_place, np.float64)
    count = 0
    for start in range(0, len(rows), chunk):
        part = array[rows[start:start + chunk]]
        if places is not None:
            part = pooling.places_of(part, places)
        total += part.sum(axis=0, dtype=np.float64)
        count += len(part)
    return total / max(1, count)


class Trainer:
    """One training run over `pairs` (the input rows `layout` made and the targets of the
    run's representation); `run()` returns the finished brain.

    `sound` is audio.pkl's rows, which a representation may measure or copy after training
    (a cue brain's example library). `resume` is a loaded checkpoint (a brain with a
    "resume" entry) to continue from, read from `resume_path`. Checkpoints go to
    `checkpoint_dir`. `backend` is "auto", "cpu" or "jax" (see backend.py): the same graphs
    run on either, and the brain written is the same format.
    """

    def __init__(self, pairs: TrainingPairs, settings: Settings, layout: InputLayout,
                 sound: np.ndarray, checkpoint_dir: str | Path = ".", resume: Brain | None = None,
                 quiet: bool = False, backend: str = "auto",
                 resume_path: str | Path | None = None, augmented: Rows | None = None,
                 pictures: np.ndarray | None = None) -> None:
        check_layers(settings.layer_sizes, pairs)
        self.pairs = pairs
        self.pictures = pictures  # 8-bit gray (looks.pictures_of): a cue brain keeps its onsets' looks
        self.settings = settings
        self.layout = layout
        self.representation = settings.representation()
        self.sound = sound
        self.checkpoint_dir = Path(checkpoint_dir)
        self.quiet = quiet
        self.train_rows, self.validation_rows, self.holdout = split_rows(pairs, settings.holdout_tail)
        # the rows minibatches are drawn from: the training rows and, with augmentation, their
        # changed copies (`augmented`, the input rows of copy j of every row after copy j - 1,
        # sharing the rows' targets); validation and held-out rows are only ever the originals
        copies = 0 if augmented is None else len(augmented) // len(pairs)
        self.fit_rows = np.concatenate([self.train_rows + copy * len(pairs) for copy in range(copies + 1)])
        self.interpolation = picture_interpolation(pairs)
        self.clip_starts = clip_starts(pairs)
        self.memory: dict[str, Any] | None = None  # the memory's record, once fitted
        self.memory_fit: dict[str, Any] | None = None  # how its fit went, for the training record
        self.started = time.monotonic()
        self.snapshot: dict[str, Any] | None = None
        self.resume = resume
        self.progress = (Progress.from_record(resume.resume["progress"]) if resume
                         else Progress())
        if resume and resume.resume["data"] != data_identity(pairs):
            raise UserError("checkpoint was made with other training data "
                            f"({resume.resume['data']['frames']} frames); resume needs the same "
                            "frames.pkl and audio.pkl")
        # the checkpoint the next save replaces (None: nothing of this run's to remove)
        self.replaceable = (self._own_checkpoint(Path(resume_path), self.progress)
                            if resume and resume_path is not None else None)

        # Imported here, not at the top: bad input is reported before PyTensor loads.
        from . import backend as backend_module

        backend_module.choose(backend)
        from .dbn import DBN

        self.backend = backend_module
        self.pt = backend_module.tensor()
        self.positions = layout.positions()  # the places a shared first layer sees, or None
        if resume:
            velocities, squares = resume.resume.get("velocities", {}), resume.resume.get("squares", {})
            self.dbn = DBN(resume.weights, resume.biases, velocities.get("weights"),
                           velocities.get("biases"), positions=self.positions,
                           weight_squares=squares.get("weights"), bias_squares=squares.get("biases"),
                           steps=int(resume.resume.get("steps", 0)))
        else:
            target_mean = self.representation.initial_bias(_column_mean(pairs.audio, self.train_rows))
            self.dbn = DBN.create(settings.layer_sizes, rng_for(settings.seed, INIT, 0), target_mean,
                                  self.positions)
        # The data stay in place (C backend: borrowed, not copied; JAX: copied to the device
        # once); each epoch only writes `order`.
        inputs = pairs.frames if augmented is None else gathered.concatenate([pairs.frames, augmented])
        targets = pairs.audio if augmented is None else np.concatenate([pairs.audio] * (copies + 1))
        self.row_count = len(inputs)  # the rows with their changed copies
        self.frames = self.backend.rows_dataset(inputs, "frames")
        self.audio = self.backend.shared(targets, "audio")
        self.order = self.backend.shared(self.fit_rows.astype(np.int64), "order")
        self.validation_order = self.backend.shared(self.validation_rows.astype(np.int64),
                                                    "validation_order")

    # --- the run ---------------------------------------------------------------------------

    def run(self) -> Brain:
        """Pretrain and fine-tune (from wherever `resume` left off); return the best brain."""
        settings = self.settings
        log.info("training %s on %d frames (%d train%s, %d validation), batch %d, seed %d, "
                 "backend %s%s", "-".join(map(str, settings.layer_sizes)), len(self.pairs),
                 len(self.train_rows),
                 f" and {len(self.fit_rows) - len(self.train_rows)} changed copies "
                 f"({', '.join(settings.augment)})" if settings.augment else "",
                 len(self.validation_rows), settings.batch, settings.seed,
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
            if settings.memory_seconds > 0:
                self._fit_memory()
        except KeyboardInterrupt:
            raise Interrupted(self._write_snapshot()) from None
        return self._brain()

    # --- pretraining -----------------------------------------------------------------------

    def _pretrain(self, layer: int) -> None:
        """Train the RBM of hidden layer `layer` on the layer below's activity; install it."""
        from .rbm import RBM

        settings, progress, pt = self.settings, self.progress, self.pt
        n_visible = pooling.layer_inputs(settings.layer_sizes, self.positions)[layer]
        n_hidden = settings.layer_sizes[layer + 1]
        data = self.frames if layer == 0 else self._hidden_activity(layer)
        # a shared first layer's RBM sees every place of a row as a row of its own
        places = self.positions if layer == 0 else None
        if self.resume is not None and progress.layer == layer:
            rbm = RBM.from_state(self.resume.resume["rbm"])
            self.resume = None
        else:
            visible_mean = _column_mean(data.get_value(borrow=True), self.fit_rows, places=places)
            rbm = RBM.create(n_visible, n_hidden, rng_for(settings.seed, INIT, layer + 1), visible_mean)
            progress.layer, progress.epoch = layer, 0
            progress.history["pretrain_train"].append([])
            progress.history["pretrain_validation"].append([])
        minibatch = pt.matrix("minibatch")
        visible = minibatch if places is None else pooling.symbolic_places(minibatch, places)
        generator = self.backend.shared(np.random.default_rng(0), "cd_generator")
        momentum = self.backend.shared(np.float32(settings.pretrain_momentum[0]), "cd_momentum")
        error, updates = rbm.contrastive_divergence(
            visible, generator, settings.cd_steps, np.float32(settings.pretrain_learning_rate),
            momentum, np.float32(settings.weight_decay))
        step = self.backend.compile_minibatch_step([minibatch], [data], self.order, settings.batch,
                                                   error, updates)
        check = self.backend.compile_minibatch_step([minibatch], [data], self.validation_order,
                                                    EVALUATION_BATCH, rbm.reconstruction_error(visible))
        flops = pretrain_flops_per_row(settings.layer_sizes, layer, settings.cd_steps, self.positions)
        self._take_snapshot(rbm)
        while progress.epoch < settings.pretrain_epochs:
            epoch = progress.epoch
            self.order.set_value(rng_for(settings.seed, PRETRAIN, layer, epoch, SHUFFLE)
                                 .permutation(self.fit_rows))
            generator.set_value(rng_for(settings.seed, PRETRAIN, layer, epoch, SAMPLES))
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
                     loss_text(validation_error), f"{rate:,.0f}", self._time_left(rate * flops))
            self._take_snapshot(rbm)
            self._maybe_save()
        self._install(layer, rbm)

    def _install(self, layer: int, rbm: Any) -> None:
        state = rbm.state()
        self.dbn.set_layer(layer, state["W"], state["hidden_bias"])

    def _hidden_activity(self, layer: int) -> Any:
        """A backend copy of every frame's activity at hidden layer `layer` (the next RBM's data)."""
        x = self.pt.matrix("x")
        everything = self.backend.shared(np.arange(self.row_count, dtype=np.int64), "all_rows")
        up = self.backend.compile_minibatch_step([x], [self.frames], everything, EVALUATION_BATCH,
                                                 self.dbn.hidden_activity(x, layer))
        width = pooling.layer_inputs(self.settings.layer_sizes, self.positions)[layer]
        activity = np.empty((self.row_count, width), np.float32)
        for index in _batches(self.row_count, EVALUATION_BATCH):
            activity[index * EVALUATION_BATCH:(index + 1) * EVALUATION_BATCH] = up(index)
        return self.backend.shared(activity, f"hidden{layer}")

    # --- fine-tuning -----------------------------------------------------------------------

    def _finetune(self) -> None:
        """The run's optimizer on the representation's loss with early stopping; the best
        parameters end in self.best."""
        from .dbn import finetune_flops_per_row

        settings, progress = self.settings, self.progress
        if self.resume is not None:
            best = self.resume.resume["best"]
            self.best = (list(best["weights"]), list(best["biases"]))
        else:
            self.best = self.dbn.parameters()
        step, check = self._loss_steps(self.dbn, self.frames, settings.batch)
        flops = finetune_flops_per_row(settings.layer_sizes, self.positions)
        self._take_snapshot()
        while progress.epoch < settings.epochs and progress.waited < settings.patience:
            epoch = progress.epoch
            self.order.set_value(rng_for(settings.seed, FINETUNE, 0, epoch, SHUFFLE)
                                 .permutation(self.fit_rows))
            train_loss, rate = self._epoch(step, f"finetune epoch {epoch + 1}")
            validation_loss = self._evaluate(check)
            monitored = self._monitored(train_loss, validation_loss)
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
                     loss_text(validation_loss), " (best)" if improved else "",
                     f"{rate:,.0f}", self._time_left(rate * flops))
            self._take_snapshot()
            self._maybe_save()
        if progress.waited >= settings.patience:
            log.info("early stop: no improvement for %d epochs; keeping epoch %d (validation %.6f)",
                     progress.waited, progress.best_epoch, progress.best_loss)

    def _loss_steps(self, network: Any, inputs: Any,
                    batch: int) -> tuple[Callable[[int], Any], Callable[[int], Any]]:
        """(a training step on `batch` rows, a validation loss) of `network` on the rows of
        `inputs` with the run's targets, loss and optimizer."""
        settings, pt = self.settings, self.pt
        x, targets = pt.matrix("x"), pt.matrix("targets")
        loss = self.representation.loss(network.output(x), targets, pt, self.pairs.audio,
                                        self.train_rows)
        updates = (network.adam_updates(loss, np.float32(settings.learning_rate))
                   if settings.optimizer == "adam" else
                   network.nesterov_updates(loss, np.float32(settings.learning_rate),
                                            np.float32(settings.momentum)))
        step = self.backend.compile_minibatch_step([x, targets], [inputs, self.audio],
                                                   self.order, batch, loss, updates)
        check = self.backend.compile_minibatch_step([x, targets], [inputs, self.audio],
                                                    self.validation_order, EVALUATION_BATCH, loss)
        return step, check

    # --- memory ----------------------------------------------------------------------------

    def _fit_memory(self) -> None:
        """Fit the output layer of the best fine-tuned network again, on the top hidden
        layer's activity over the past (memory.py), each row's computed once in time order
        (every changed copy a clip sequence of its own); early stopping as in fine-tuning,
        starting from the memoryless layer, so validation keeps it where memory does not help."""
        from .dbn import DBN

        settings = self.settings
        spans = memory.spans_for(settings.memory_seconds)
        weights, biases = self.best
        self.dbn.set_parameters(weights, biases)
        hidden = self._hidden_activity(len(weights) - 1).get_value(borrow=True)
        copies = self.row_count // len(self.pairs)
        starts = [start + copy * len(self.pairs) for copy in range(copies) for start in self.clip_starts]
        remembered = self.backend.shared(memory.features(hidden, spans, starts), "memory")
        del hidden
        head = DBN([memory.initial_output_layer(weights[-1], spans)], [biases[-1]])
        step, check = self._loss_steps(head, remembered, MEMORY_BATCH)
        without = self._evaluate(check)  # nan without validation rows: any epoch is better
        best_loss, best, waited = (math.inf if math.isnan(without) else without), head.parameters(), 0
        log.info("memory: the output layer reads the top hidden layer over the past %.2f s "
                 "(%d spans, %d slots back); validation %s without it", settings.memory_seconds,
                 len(spans), memory.reach_of(spans), loss_text(best_loss))
        epochs = 0
        while epochs < settings.epochs and waited < settings.patience:
            epoch, epochs = epochs, epochs + 1
            self.order.set_value(rng_for(settings.seed, MEMORY, 0, epoch, SHUFFLE).permutation(self.fit_rows))
            train_loss, _ = self._epoch(step, f"memory epoch {epoch + 1}", MEMORY_BATCH)
            monitored = self._monitored(train_loss, self._evaluate(check))
            if monitored < best_loss * (1.0 - MIN_IMPROVEMENT):
                best_loss, best, waited = monitored, head.parameters(), 0
            else:
                waited += 1
        log.info("memory: validation %s after %d epochs", loss_text(best_loss), epochs)
        self.best = (weights[:-1] + best[0], biases[:-1] + best[1])
        self.memory = memory.record(spans)
        self.memory_fit = {"seconds": settings.memory_seconds, "epochs": epochs,
                           "validation_loss_without": None if math.isnan(without) else float(without),
                           "validation_loss": None if math.isinf(best_loss) else float(best_loss)}

    @staticmethod
    def _monitored(train_loss: float, validation_loss: float) -> float:
        """The loss early stopping watches: validation's, or without validation rows (tiny
        data) the training loss."""
        return train_loss if math.isnan(validation_loss) else validation_loss

    # --- epochs ----------------------------------------------------------------------------

    def _epoch(self, step: Callable[[int], Any], label: str, batch: int | None = None) -> tuple[float, float]:
        """Run `step` over every minibatch (of `batch` rows, the run's by default) of the
        current order; (mean loss, rows per second)."""
        rows, batch = len(self.fit_rows), batch or self.settings.batch
        losses, started = [], time.perf_counter()
        with cli.progress_bar(rows, not self.quiet, label, "frame", PROGRESS_BAR_DELAY_S) as bar:
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
        return time_left(self.settings, self.progress, len(self.fit_rows), flops_per_second,
                         self.positions)

    # --- checkpoints and the brain ---------------------------------------------------------

    def _take_snapshot(self, rbm: Any = None) -> None:
        progress = Progress.from_record(self.progress.to_record())
        progress.seconds = self._seconds()
        best = self.best if rbm is None else None
        self.snapshot = snapshot(self.settings, progress, self.pairs, self.dbn, best, rbm)

    def _maybe_save(self) -> None:
        every = self.settings.save_every
        if (every > 0 and self.progress.epoch % every == 0) or self._kept(self.progress):
            self._write_snapshot()

    def _kept(self, progress: Progress) -> bool:
        """Whether the checkpoint at `progress` stays when a newer one is written."""
        every = self.settings.keep_every
        return every > 0 and progress.epoch > 0 and progress.epoch % every == 0

    def _own_checkpoint(self, path: Path, progress: Progress) -> Path | None:
        """`path` (a checkpoint at `progress`) when this run would have written it there
        itself and would not keep it, else None."""
        mine = self.checkpoint_dir / checkpoint_name(progress)
        if path.resolve() == mine.resolve() and not self._kept(progress):
            return mine
        return None

    def _replace(self, path: Path, progress: Progress) -> None:
        """`path` is written whole: remove the checkpoint it supersedes, unless that is kept."""
        previous = self.replaceable
        self.replaceable = None if self._kept(progress) else path
        if previous is not None and previous.resolve() != path.resolve():
            previous.unlink(missing_ok=True)
            log.debug("removed %s, superseded by %s", previous, path)

    def _write_snapshot(self) -> Path | None:
        if self.snapshot is None:
            return None
        state = self.snapshot["resume"]
        progress = Progress.from_record(state["progress"])
        checkpoint = brain_of(self._facts(), self.snapshot["weights"], self.snapshot["biases"],
                              self.dbn.activations, progress)
        checkpoint.resume = state
        path = self.checkpoint_dir / checkpoint_name(progress)
        brain_format.save(checkpoint, path)
        log.info("checkpoint %s", path)
        self._replace(path, progress)
        return path

    def _seconds(self) -> float:
        return self.progress.seconds + (time.monotonic() - self.started)

    def _facts(self) -> RunFacts:
        return RunFacts(self.pairs, self.settings, self.train_rows, self.validation_rows,
                        self.holdout, self.interpolation, self.backend.describe(), self.layout,
                        self.clip_starts, self.pictures)

    def _brain(self) -> Brain:
        """The finished brain: the best fine-tuned parameters, the training record, and what
        the representation measures on them (`Representation.calibrate`)."""
        progress = Progress.from_record(self.progress.to_record())
        progress.seconds = self._seconds()
        weights, biases = self.best
        facts = self._facts()
        brain = brain_of(facts, weights, biases, self.dbn.activations, progress, self.memory)
        if self.memory_fit is not None:
            brain.training["memory_fit"] = self.memory_fit
        brain.output.update(self.representation.calibrate(
            calibration(facts, brain, self.sound, EVALUATION_BATCH)))
        return brain
