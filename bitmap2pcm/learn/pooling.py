"""A first layer shared across the places of the picture, pooled over them.

For an input layout whose row shows the same measures at P places (data/patches.py,
`Positions`), the first hidden layer is one detector applied at every place, and what it
finds is pooled before the layers above see it:

    h_p = sigmoid(x[index_p] W_0 + b_0)             p = 1 .. P   (W_0: F x H, shared)
    a_1 = [ max_p h_p,  mean_p h_p,  x[direct] ]    2 H + G values

max says whether anything anywhere looks like what the unit detects (an impact wherever it
happens), mean how much of the picture does (many things hitting at once, louder). The
layers above are dbn.py's. The weights of layer 0 are F x H and those of layer 1 (2H + G) x
H_2, so `layer_inputs` gives each layer's input width from the brain's layer sizes [row
width, H, H_2, ..., outputs]. RBM pretraining of layer 0 sees each place of each row as a
visible row of its own (`places_of`), as in Lee et al.'s convolutional RBMs (2009), without
their probabilistic max-pooling.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..data.layout import Positions

POOLS = ("max", "mean")


def layer_inputs(layer_sizes: Sequence[int], positions: Positions | None) -> list[int]:
    """Each weight layer's input width: the layer below's size, except where the first layer
    is shared across places (it sees one place, the next the pooled places and the direct
    columns)."""
    inputs = [int(size) for size in layer_sizes[:-1]]
    if positions is not None:
        inputs[0] = positions.per_place
        if len(inputs) > 1:
            inputs[1] = pooled_units(layer_sizes[1], positions)
    return inputs


def pooled_units(hidden: int, positions: Positions) -> int:
    return len(POOLS) * int(hidden) + len(positions.direct)


def places_of(x: np.ndarray, positions: Positions) -> np.ndarray:
    """Every place of every row of `x` (n, row width): (n * P, F)."""
    return np.asarray(x)[:, positions.index].reshape(-1, positions.per_place)


def pooled(x: np.ndarray, W: np.ndarray, b: np.ndarray, activation: Callable[[np.ndarray], np.ndarray],
           positions: Positions) -> np.ndarray:
    """a_1 of rows `x` with numpy (see the module notes)."""
    places = np.asarray(x)[:, positions.index]                # (n, P, F)
    h = activation(places @ W + b)                            # (n, P, H)
    return np.concatenate([h.max(axis=1), h.mean(axis=1), np.asarray(x)[:, positions.direct]], axis=1)


def symbolic_places(x: Any, positions: Positions) -> Any:
    """`places_of` for a symbolic matrix."""
    return x[:, positions.index].reshape((-1, positions.per_place))


def symbolic_pooled(x: Any, W: Any, b: Any, activation: Callable[[Any], Any], positions: Positions,
                    hidden: int, tensor: Any) -> Any:
    """`pooled` for a symbolic matrix (`tensor`: pytensor.tensor; `hidden`: W's columns).

    The parts' widths are given to the graph: the gradient of the concatenation splits it at
    them, and JAX (theanet.py --backend jax) cannot split where the widths are only known
    when the step runs."""
    h = activation(tensor.dot(x[:, positions.index], W) + b)
    parts = [h.max(axis=1), h.mean(axis=1), x[:, positions.direct]]
    widths = [int(hidden), int(hidden), len(positions.direct)]
    return tensor.concatenate([tensor.specify_shape(part, (None, width))
                               for part, width in zip(parts, widths)], axis=1)


def first_layer_flops_per_row(n_hidden: int, positions: Positions) -> int:
    """Multiply-adds x2 of the shared layer's forward pass per row."""
    return 2 * len(positions.index) * positions.per_place * int(n_hidden)
