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

Fine-tuning uses Nesterov's accelerated gradient in the form of Bengio, Boulanger-Lewandowski
& Pascanu (2013, eq. 7), which evaluates the gradient at the stored parameters:

    v      <- m v - lr grad E(theta)
    theta  <- theta + m v - lr grad E(theta)

where theta is the "look-ahead" point of Sutskever et al.'s formulation. It takes one gradient
per step, like plain momentum, but corrects the momentum step with the gradient at the point
the momentum is about to reach. The brain stores theta.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import backend

pt = backend.tensor()

HIDDEN_ACTIVATION = "sigmoid"
OUTPUT_ACTIVATION = "linear"
OUTPUT_WEIGHT_STD = 0.01


def finetune_flops_per_row(layer_sizes: Sequence[int]) -> int:
    """Multiply-adds x2 of one fine-tuning step per row, matrix products only.

    Each layer costs one product forward and one for its weight gradient; every layer but the
    first also passes the error back to the layer below (the input needs no gradient).
    """
    total = 0
    for index, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        products = 2 if index == 0 else 3
        total += products * 2 * n_in * n_out
    return total


def forward_flops_per_row(layer_sizes: Sequence[int]) -> int:
    """Multiply-adds x2 of one forward pass per row."""
    return sum(2 * a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))


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
                 dtype: str = "float32") -> None:
        # float32 for training; float64 only for checking gradients against finite differences
        self.dtype = dtype
        self.layer_sizes = [int(weights[0].shape[0])] + [int(w.shape[1]) for w in weights]
        if weight_velocities is None:
            weight_velocities = [np.zeros(w.shape, dtype) for w in weights]
        if bias_velocities is None:
            bias_velocities = [np.zeros(b.shape, dtype) for b in biases]

        def variables(arrays: Sequence[np.ndarray], name: str) -> list[Any]:
            return [backend.shared(np.array(a, dtype=dtype), f"{name}{i}", borrow=False)
                    for i, a in enumerate(arrays)]

        self.weights = variables(weights, "W")
        self.biases = variables(biases, "b")
        self.weight_velocities = variables(weight_velocities, "vW")
        self.bias_velocities = variables(bias_velocities, "vb")

    @classmethod
    def create(cls, layer_sizes: Sequence[int], rng: np.random.Generator,
               target_mean: np.ndarray | None = None) -> "DBN":
        """A stack before pretraining: Glorot-initialised hidden layers, small output layer."""
        pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))
        layers = [initial_hidden_layer(n_in, n_out, rng) for n_in, n_out in pairs[:-1]]
        layers.append(initial_output_layer(*pairs[-1], rng, target_mean))
        return cls([W for W, _ in layers], [b for _, b in layers])

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

    # --- the model -------------------------------------------------------------------------

    def hidden_activity(self, x: Any, layers: int) -> Any:
        """Activity of hidden layer `layers` (0 = the input itself), symbolic."""
        activity = x
        for W, b in zip(self.weights[:layers], self.biases[:layers]):
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
