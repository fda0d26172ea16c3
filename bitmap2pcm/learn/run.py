"""What theanet.py does: check the inputs before anything slow, train, write the brain."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..core import grid
from ..core.errors import UserError
from ..core.files import check_writable_dir
from ..data import looks
from ..data.trainset import clip_segments, load_pairs, picture_channels
from ..sound import registry
from . import backend as backend_module
from . import brain as brain_format
from .checkpoints import Interrupted
from .pairs import augmented_rows, input_pairs, run_layout, target_pairs
from .reporting import duration_text
from .settings import check_inputs, check_outputs, mode_defaults, preset_layers, settings_for
from .train import Trainer

log = logging.getLogger("bitmap2pcm")

# On unseen event scenes a cue brain's onset F1 and loudness r rose with its training video up
# to the 8 minutes measured, and met the targets from 5 (docs/training.md#how-much-video).
ADVISED_MINUTES = 5


def short_video_advice(slot_count: int, target: str) -> str | None:
    """The line that tells a user training a cue brain on under ADVISED_MINUTES of video
    that more would help; None otherwise."""
    minutes = slot_count / grid.SLOTS_PER_SECOND / 60
    if target != registry.DEFAULT or minutes >= ADVISED_MINUTES:
        return None
    return (f"{minutes:.1f} minutes of video: cue brains learned events that held on scenes they "
            f"never saw better from {ADVISED_MINUTES} minutes up (pickler.py takes several "
            f"videos; docs/training.md#how-much-video)")


def run_training(frames: str, audio: str, output: str, layers: list[int] | None,
                 options: dict[str, Any], resume: str | None = None, quiet: bool = False,
                 backend: str = "auto", preset: str | None = None, faithful: bool = False) -> int:
    """The whole of `theanet.py`: check inputs, train, write the brain; return an exit status.
    The network is `layers`, else the `preset` (shallow by default) fitted to the data's frames;
    a new run's target, inputs and cue settings are filled in by `settings.mode_defaults`
    (`faithful`: the 2015 network).

    Ctrl-C writes a checkpoint, says how to continue, and returns 1 (the project's code for a
    run that did not finish; nothing is lost).
    """
    backend = backend_module.choose(backend)  # a missing JAX is said before any data is read
    output_path = Path(output)
    check_writable_dir(output_path.parent if str(output_path.parent) else ".")
    checkpoint = None
    if resume is not None:
        checkpoint = brain_format.load(resume)
        if not isinstance(checkpoint.resume, dict):
            raise UserError(f"{resume}: a finished brain, not a checkpoint (brain-EPOCH.pkl)")
    if checkpoint is None:  # a resumed run is the checkpoint's mode
        options = mode_defaults(options, layers, preset, faithful)
    settings = settings_for(layers, options, checkpoint, resume)  # options checked before the data is read
    check_outputs(settings)
    pairs = load_pairs(frames, audio)
    video_slots = sum(stop - start for start, stop in clip_segments(pairs))  # no silence anchors
    advice = short_video_advice(video_slots, settings.target) if checkpoint is None else None
    if advice:
        log.info(advice)
    pixels = pairs.frames.shape[1]
    if layers is None and (preset is not None or checkpoint is None):
        # a preset's input layer takes the data's frames (3 planes in colour), known only now
        layers = preset_layers(preset, settings.representation(), settings.layout(), pixels)
        settings = settings_for(layers, options, checkpoint, resume)
    check_inputs(settings, pixels, picture_channels(pairs))
    layout = run_layout(pairs, settings, checkpoint)
    pictures = looks.pictures_of(pairs.frames) if settings.representation().keeps_looks else None
    trainer = Trainer(input_pairs(target_pairs(pairs, settings.representation()), layout), settings,
                      layout, sound=pairs.audio, checkpoint_dir=output_path.parent,
                      resume=checkpoint, quiet=quiet, backend=backend, resume_path=resume,
                      augmented=augmented_rows(pairs, layout, settings),
                      pictures=pictures)
    del pairs  # the float32 frames, the largest of the data, are not needed past this point
    try:
        finished = trainer.run()
    except Interrupted as stop:
        if stop.checkpoint is None:
            log.warning("interrupted before the first epoch; nothing to save")
        else:
            log.warning("interrupted: continue with --resume %s", stop.checkpoint)
        return 1
    brain_format.save(finished, output_path)
    record = finished.training
    memory_fit = record.get("memory_fit")
    log.info("wrote %s (best epoch %d, validation %s%s, %s)", output_path, record["best_epoch"],
             record["best_validation_loss"],
             f"; with memory {memory_fit['validation_loss']}" if memory_fit else "",
             duration_text(record["seconds"]))
    return 0
