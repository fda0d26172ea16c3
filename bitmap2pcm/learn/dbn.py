"""The deep belief network as a feed-forward regressor: sigmoid hidden layers, linear output.

    a_0 = x                                         (B x n_0, pixels in [0, 1])
    a_l = sigmoid(a_{l-1} W_l + b_l)                hidden layers l = 1 .. L-1
    y   = a_{L-1} W_L + b_L                         output: 735 samples in the [0, 1] convention
    E   = mean over rows and outputs of (y - t)^2   mean squared error, in (unit sample)^2

The hidden layers start from greedily pretrained RBMs (their W and hidden biases; the visible
biases only served the reconstruction and are dropped), as in Hinton, Osindero & Teh (2006);
the output layer is linear, as the original's theanets regressor was (a cue brain reads some
of its outputs as logits: its loss is its representation's, sound/cues.py), and starts with
small weights and the mean training target as bias (for a cue brain, the prior), so
fine-tuning starts from the "predict the mean" solution rather than from noise.

For an input layout whose row shows the same measures at many places (data/patches.py), the
first hidden layer is one detector shared across the places and pooled over them
(pooling.py): `positions` says where the places are, and layer 0's weights are one place's.

Fine-tuning uses Nesterov's accelerated gradient in the form of Bengio, Boulanger-Lewandowski
& Pascanu (2013, eq. 7), which evaluates the gradient at the stored parameters:

    v      <- m v - lr grad E(theta)
    theta  <- theta + m v - lr grad E(theta)

where theta is the "look-ahead" point of Sutskever et al.'s formulation. It takes one gradient
per step, like plain momentum, but corrects the momentum step with the gradient at the point
the momentum is about to reach. The brain stores theta.

Or Adam (Kingma & Ba 2015, Algorithm 1), whose step is scaled per parameter by the root of
its recent squared gradients, so a layer whose gradients are small (a detector shared across
49 places whose pooled output moves the loss little) moves as far as the others:

    m <- b1 m + (1 - b1) g        v <- b2 v + (1 - b2) g^2        t <- t + 1
    theta <- theta - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

m is kept where Nesterov keeps its velocity, v beside it (`squares`), t in `steps`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..data.layout import Positions
from . import backend, pooling

pt = backend.tensor()

ADAM_BETAS = (0.9, 0.999)          # Kingma & Ba's defaults
ADAM_EPSILON = 1e-8
HIDDEN_ACTIVATION = "sigmoid"
OUTPUT_ACTIVATION = "linear"
OUTPUT_WEIGHT_STD = 0.01


def _layer_flops(layer_sizes: Sequence[int], positions: Positions | None) -> list[int]:
    """Multiply-adds x2 of each weight layer's forward product per row (a shared layer's at
    every place)."""
    flops = [2 * n_in * n_out for n_in, n_out in
             zip(pooling.layer_inputs(layer_sizes, positions), layer_sizes[1:])]
    if positions is not None:
        flops[0] = pooling.first_layer_flops_per_row(layer_sizes[1], positions)
    return flops


def finetune_flops_per_row(layer_sizes: Sequence[int], positions: Positions | None = None) -> int:
    """Multiply-adds x2 of one fine-tuning step per row, matrix products only.

    Each layer costs one product forward and one for its weight gradient; every layer but the
    first also passes the error back to the layer below (the input needs no gradient).
    """
    return sum((2 if index == 0 else 3) * flops
               for index, flops in enumerate(_layer_flops(layer_sizes, positions)))


def forward_flops_per_row(layer_sizes: Sequence[int], positions: Positions | None = None) -> int:
    """Multiply-adds x2 of one forward pass per row."""
    return sum(_layer_flops(layer_sizes, positions))


def initial_hidden_layer(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Weights for a sigmoid layer trained without pretraining: uniform in +-4 sqrt(6/(in+out))
    (Glorot & Bengio 2010, scaled by 4 for the logistic's slope of 1/4 at zero), zero biases."""
    limit = 4.0 * np.sqrt(6.0 / (n_in + n_out))
    W = rng.uniform(-limit, limit, size=(n_in, n_out)).astype(np.float32)
    return W, np.zeros(n_out, np.float32)


def initial_output_layer(n_in: int, n_out: int, rng: np.random.Generator,
                         target_mean: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Small Gaussian weights; biases at the mean target (zero when not given)."""
    W = rng.normal(0.0, OUTPUT_WEIGHT_STD, size=(n_in, n_out)).astype(np.float32)
    b = (np.zeros(n_out, np.float32) if target_mean is None
         else np.asarray(target_mean, dtype=np.float32).copy())
    return W, b


class DBN:
    """Parameters and Nesterov velocities of the stack, held in backend variables."""

    def __init__(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                 weight_velocities: Sequence[np.ndarray] | None = None,
                 bias_velocities: Sequence[np.ndarray] | None = None,
                 dtype: str = "float32", positions: Positions | None = None,
                 weight_squares: Sequence[np.ndarray] | None = None,
                 bias_squares: Sequence[np.ndarray] | None = None, steps: int = 0) -> None:
        # float32 for training; float64 only for checking gradients against finite differences
        self.dtype = dtype
        self.positions = positions
        weight_velocities = weight_velocities or [np.zeros(w.shape, dtype) for w in weights]
        bias_velocities = bias_velocities or [np.zeros(b.shape, dtype) for b in biases]
        weight_squares = weight_squares or [np.zeros(w.shape, dtype) for w in weights]
        bias_squares = bias_squares or [np.zeros(b.shape, dtype) for b in biases]

        def variables(arrays: Sequence[np.ndarray], name: str) -> list[Any]:
            return [backend.shared(np.array(a, dtype=dtype), f"{name}{i}", borrow=False)
                    for i, a in enumerate(arrays)]

        self.weights = variables(weights, "W")
        self.biases = variables(biases, "b")
        self.weight_velocities = variables(weight_velocities, "vW")
        self.bias_velocities = variables(bias_velocities, "vb")
        self.weight_squares = variables(weight_squares, "sW")
        self.bias_squares = variables(bias_squares, "sb")
        self.steps = backend.shared(np.array(steps, dtype), "steps", borrow=False)

    @classmethod
    def create(cls, layer_sizes: Sequence[int], rng: np.random.Generator,
               target_mean: np.ndarray | None = None, positions: Positions | None = None) -> "DBN":
        """A stack before pretraining: Glorot-initialised hidden layers, small output layer
        (`positions`: the first layer shared across them, pooling.py)."""
        pairs = list(zip(pooling.layer_inputs(layer_sizes, positions), layer_sizes[1:]))
        layers = [initial_hidden_layer(n_in, n_out, rng) for n_in, n_out in pairs[:-1]]
        layers.append(initial_output_layer(*pairs[-1], rng, target_mean))
        return cls([W for W, _ in layers], [b for _, b in layers], positions=positions)

    @property
    def activations(self) -> list[str]:
        return [HIDDEN_ACTIVATION] * (len(self.weights) - 1) + [OUTPUT_ACTIVATION]

    def set_layer(self, index: int, W: np.ndarray, b: np.ndarray) -> None:
        """Replace layer `index` (e.g. with a pretrained RBM's W and hidden biases)."""
        if W.shape != self.weights[index].get_value(borrow=True).shape:
            raise ValueError(f"layer {index}: shape {W.shape} does not fit")
        self.weights[index].set_value(np.array(W, dtype=self.dtype))
        self.biases[index].set_value(np.array(b, dtype=self.dtype))

    def parameters(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Copies of (weights, biases) as numpy arrays."""
        return ([w.get_value(borrow=False) for w in self.weights],
                [b.get_value(borrow=False) for b in self.biases])

    def set_parameters(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> None:
        for index, (W, b) in enumerate(zip(weights, biases)):
            self.set_layer(index, W, b)

    def velocities(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return ([v.get_value(borrow=False) for v in self.weight_velocities],
                [v.get_value(borrow=False) for v in self.bias_velocities])

    def squares(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Adam's running mean squared gradients (zeros for Nesterov)."""
        return ([v.get_value(borrow=False) for v in self.weight_squares],
                [v.get_value(borrow=False) for v in self.bias_squares])

    def step_count(self) -> int:
        return int(self.steps.get_value())

    # --- the model -------------------------------------------------------------------------

    def hidden_activity(self, x: Any, layers: int) -> Any:
        """Activity of hidden layer `layers` (0 = the input itself), symbolic; with places,
        layer 1's is the pooled detector and the direct columns (pooling.py)."""
        activity = x
        for index, (W, b) in enumerate(zip(self.weights[:layers], self.biases[:layers])):
            if index == 0 and self.positions is not None:
                activity = pooling.symbolic_pooled(activity, W, b, backend.sigmoid, self.positions,
                                                   W.get_value(borrow=True).shape[1], pt)
            else:
                activity = backend.sigmoid(activity @ W + b)
        return activity

    def output(self, x: Any) -> Any:
        """Network output for input rows `x` (symbolic)."""
        top = self.hidden_activity(x, len(self.weights) - 1)
        return top @ self.weights[-1] + self.biases[-1]

    def mean_squared_error(self, x: Any, targets: Any) -> Any:
        """E: squared error averaged over rows and outputs (the original's theanets MSE)."""
        return pt.sqr(self.output(x) - targets).mean()

    def nesterov_updates(self, loss: Any, learning_rate: Any, momentum: Any) -> dict[Any, Any]:
        """Updates for one Nesterov momentum step on `loss` (see the module docstring)."""
        parameters = self.weights + self.biases
        velocities = self.weight_velocities + self.bias_velocities
        gradients = pt.grad(loss, parameters)
        updates: dict[Any, Any] = {}
        for theta, velocity, gradient in zip(parameters, velocities, gradients):
            step = learning_rate * gradient
            new_velocity = momentum * velocity - step
            # casts keep float32 variables float32 when lr or momentum arrive as float64
            updates[velocity] = pt.cast(new_velocity, velocity.dtype)
            updates[theta] = pt.cast(theta + momentum * new_velocity - step, theta.dtype)
        return updates

    def adam_updates(self, loss: Any, learning_rate: Any) -> dict[Any, Any]:
        """Updates for one Adam step on `loss` (see the module docstring)."""
        first, second = ADAM_BETAS
        parameters = self.weights + self.biases
        means = self.weight_velocities + self.bias_velocities
        squares = self.weight_squares + self.bias_squares
        gradients = pt.grad(loss, parameters)
        steps = self.steps + 1
        mean_correction, square_correction = 1 - first ** steps, 1 - second ** steps
        updates: dict[Any, Any] = {self.steps: pt.cast(steps, self.steps.dtype)}
        for theta, mean, square, gradient in zip(parameters, means, squares, gradients):
            # b1 m + (1 - b1) g, written so that no scalar multiplies g itself: PyTensor folds
            # a scalar times a matrix product into a product of its own, and the weight
            # gradients (the step's largest products) were computed twice, once for m and
            # once for v
            new_mean = mean + (1 - first) * (gradient - mean)
            new_square = second * square + (1 - second) * pt.sqr(gradient)
            updates[mean] = pt.cast(new_mean, mean.dtype)
            updates[square] = pt.cast(new_square, square.dtype)
            step = learning_rate * (new_mean / mean_correction) / (
                pt.sqrt(new_square / square_correction) + ADAM_EPSILON)
            updates[theta] = pt.cast(theta - step, theta.dtype)
        return updates
