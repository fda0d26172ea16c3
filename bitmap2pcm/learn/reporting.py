"""What a training run says while it runs: losses, and how long the rest will take.

The time left is the remaining matrix work of the whole run (every pretraining epoch still
to do, and fine-tuning to its cap) divided by the rate of the epoch just measured, so it is
an upper bound when early stopping ends the run sooner.
"""

from __future__ import annotations

import math
from typing import Sequence

from ..data.layout import Positions
from . import pooling
from .checkpoints import Progress
from .dbn import finetune_flops_per_row
from .rbm import cd_flops_per_row
from .settings import Settings


def duration_text(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def loss_text(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.6f}"


def pretrain_flops_per_row(layer_sizes: Sequence[int], layer: int, cd_steps: int,
                           positions: Positions | None) -> int:
    """CD-k's matrix work per training row for the RBM of hidden layer `layer`: a shared
    first layer's RBM sees every place of the row as a row of its own."""
    places = len(positions.index) if positions is not None and layer == 0 else 1
    n_visible = pooling.layer_inputs(layer_sizes, positions)[layer]
    return places * cd_flops_per_row(n_visible, int(layer_sizes[layer + 1]), cd_steps)


def time_left(settings: Settings, progress: Progress, train_rows: int, flops_per_second: float,
              positions: Positions | None = None) -> str:
    """The rest of the run's matrix work (fine-tuning to its cap) at `flops_per_second`
    (`positions`: the places a shared first layer sees, learn/pooling.py)."""
    sizes = settings.layer_sizes
    remaining = 0.0
    if progress.phase == "pretrain":
        for layer in range(progress.layer, len(sizes) - 2):
            epochs = settings.pretrain_epochs - (progress.epoch if layer == progress.layer else 0)
            remaining += epochs * train_rows * pretrain_flops_per_row(
                sizes, layer, settings.cd_steps, positions)
        finetune_done = 0
    else:
        finetune_done = progress.epoch
    remaining += (settings.epochs - finetune_done) * train_rows * finetune_flops_per_row(sizes, positions)
    return duration_text(remaining / max(flops_per_second, 1.0))
