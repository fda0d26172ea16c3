"""A restricted Boltzmann machine trained by contrastive divergence (CD-k).

Notation and practice follow G. Hinton, "A Practical Guide to Training Restricted Boltzmann
Machines" (UTML TR 2010-003), cited below as "guide §N":

    p(h_j = 1 | v) = sigmoid(c_j + sum_i v_i W_ij)        hidden units: binary, Bernoulli
    p(v_i = 1 | h) = sigmoid(b_i + sum_j h_j W_ij)        visible units: logistic

The visible units of the first RBM see pixel intensities in [0, 1]. They are treated as the
probabilities of binary units (guide §13.1): the data go in as they are, never sampled, and
reconstructions are left as probabilities. The hidden probabilities of one RBM are the visible
data of the next, which is how the greedy stack of a deep belief network is built.

One CD-k update on a minibatch V0 of B rows (guide §3, §9, §10):

    P0  = p(h | V0)                                positive phase
    H   ~ Bernoulli(P0)                            sampled, so the hiddens act as a bottleneck
    repeat k times:
        Vk = p(v | H)                              probabilities, not samples (guide §3.2)
        Pk = p(h | Vk)
        H  ~ Bernoulli(Pk)                         (not needed after the last step)
    dW  <- m dW + lr ((V0'P0 - Vk'Pk) / B - wd W)  final statistics use probabilities (§3.3)
    db  <- m db + lr  mean(V0 - Vk)
    dc  <- m dc + lr  mean(P0 - Pk)
    W += dW; b += db; c += dc

with momentum m (0.5 early, 0.9 later: guide §9), L2 weight decay wd on the weights only
(guide §10) and a small learning rate lr (guide §5). All arrays are float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend

pt = backend.tensor()

# guide §8: initial weights from N(0, 0.01^2); visible biases log(p / (1 - p)) where p is the
# fraction of time the unit is on, clipped so that a pixel that is always 0 or 1 gets a
# large but finite bias.
INITIAL_WEIGHT_STD = 0.01
BIAS_CLIP = 1e-3


def visible_bias_from_mean(visible_mean: np.ndarray) -> np.ndarray:
    """Initial visible biases log(p / (1 - p)) from each visible unit's mean activity p."""
    p = np.clip(np.asarray(visible_mean, dtype=np.float64), BIAS_CLIP, 1.0 - BIAS_CLIP)
    return np.log(p / (1.0 - p)).astype(np.float32)


def cd_flops_per_row(n_visible: int, n_hidden: int, k: int) -> int:
    """Multiply-adds x2 of one CD-k update per data row (the matrix products; elementwise work
    is O(V + H) and ignored): one upward pass, k down-and-up passes, two statistics products."""
    return 2 * n_visible * n_hidden * (1 + 2 * k + 2)


class RBM:
    """A binary-hidden RBM whose parameters and momentum buffers live in backend variables.

    Build it with `RBM.create` (fresh weights) or `RBM.from_state` (a checkpoint). `state()`
    returns everything needed to continue training exactly: weights, biases and the momentum
    increments.
    """

    PARAMETERS = ("W", "visible_bias", "hidden_bias")
    # each parameter's momentum buffer: the previous update, dW in the guide's notation
    STATE_KEYS = PARAMETERS + tuple(f"{name}_increment" for name in PARAMETERS)

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        n_visible, n_hidden = state["W"].shape
        self.n_visible = int(n_visible)
        self.n_hidden = int(n_hidden)
        self._shared = {
            key: backend.shared(np.array(state[key], dtype=np.float32), key, borrow=False)
            for key in self.STATE_KEYS
        }
        self.W = self._shared["W"]
        self.visible_bias = self._shared["visible_bias"]
        self.hidden_bias = self._shared["hidden_bias"]

    @classmethod
    def create(cls, n_visible: int, n_hidden: int, rng: np.random.Generator,
               visible_mean: np.ndarray | None = None) -> "RBM":
        """Fresh RBM per guide §8: small Gaussian weights, zero hidden biases, visible biases
        from the data's mean activity (or zero when `visible_mean` is None)."""
        W = rng.normal(0.0, INITIAL_WEIGHT_STD, size=(n_visible, n_hidden)).astype(np.float32)
        visible_bias = (np.zeros(n_visible, np.float32) if visible_mean is None
                        else visible_bias_from_mean(visible_mean))
        hidden_bias = np.zeros(n_hidden, np.float32)
        return cls({
            "W": W, "visible_bias": visible_bias, "hidden_bias": hidden_bias,
            "W_increment": np.zeros_like(W),
            "visible_bias_increment": np.zeros_like(visible_bias),
            "hidden_bias_increment": np.zeros_like(hidden_bias),
        })

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "RBM":
        return cls({key: state[key] for key in cls.STATE_KEYS})

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the parameters and momentum increments (float32 numpy arrays)."""
        return {key: variable.get_value(borrow=False) for key, variable in self._shared.items()}

    # --- the model -------------------------------------------------------------------------

    def hidden_probabilities(self, visible: Any) -> Any:
        """p(h = 1 | v) for a batch of visible rows (symbolic)."""
        return backend.sigmoid(visible @ self.W + self.hidden_bias)

    def visible_probabilities(self, hidden: Any) -> Any:
        """p(v = 1 | h) for a batch of hidden rows (symbolic)."""
        return backend.sigmoid(hidden @ self.W.T + self.visible_bias)

    def free_energy(self, visible: Any) -> Any:
        """F(v) = -b'v - sum_j log(1 + exp(c_j + v'W_j)) per row; p(v) is proportional to exp(-F)."""
        return -(visible @ self.visible_bias) - pt.softplus(visible @ self.W + self.hidden_bias).sum(axis=1)

    # --- learning --------------------------------------------------------------------------

    def contrastive_divergence(self, visible: Any, rng: Any, k: int, learning_rate: Any,
                               momentum: Any, weight_decay: Any) -> tuple[Any, dict[Any, Any]]:
        """Symbolic CD-k step on the minibatch `visible` (rows in [0, 1]).

        `rng` is a backend variable holding a numpy Generator; the hidden samples draw from it
        and the returned updates advance it, so whoever owns it decides the randomness (the
        trainer reseeds it every epoch). Returns (reconstruction error, updates): the error is the
        mean squared difference between the data and its one-step reconstruction, the quantity
        guide §4 suggests watching (it is not the objective, but should fall).
        """
        if k < 1:
            raise ValueError(f"CD-k needs k >= 1, got {k}")
        batch = pt.cast(visible.shape[0], "float32")

        def sample(probabilities: Any, generator: Any) -> tuple[Any, Any]:
            # Bernoulli draw: a unit is on when a uniform number falls below its probability.
            next_generator, uniform = pt.random.uniform(
                0.0, 1.0, size=probabilities.shape, rng=generator, dtype="float32",
                return_next_rng=True)
            return pt.cast(uniform < probabilities, "float32"), next_generator

        positive_hidden = self.hidden_probabilities(visible)
        hidden, generator = sample(positive_hidden, rng)
        first_reconstruction = None
        for step in range(1, k + 1):
            reconstruction = self.visible_probabilities(hidden)
            negative_hidden = self.hidden_probabilities(reconstruction)
            if first_reconstruction is None:
                first_reconstruction = reconstruction
            if step < k:
                hidden, generator = sample(negative_hidden, generator)

        gradient_W = ((visible.T @ positive_hidden - reconstruction.T @ negative_hidden) / batch
                      - weight_decay * self.W)
        gradient_visible_bias = (visible - reconstruction).mean(axis=0)
        gradient_hidden_bias = (positive_hidden - negative_hidden).mean(axis=0)

        updates: dict[Any, Any] = {rng: generator}
        for name, gradient in (("W", gradient_W), ("visible_bias", gradient_visible_bias),
                               ("hidden_bias", gradient_hidden_bias)):
            parameter, increment = self._shared[name], self._shared[f"{name}_increment"]
            new_increment = momentum * increment + learning_rate * gradient
            updates[increment] = pt.cast(new_increment, "float32")
            updates[parameter] = pt.cast(parameter + new_increment, "float32")

        error = pt.sqr(visible - first_reconstruction).mean()
        return error, updates

    def reconstruction_error(self, visible: Any) -> Any:
        """Mean squared error of the deterministic one-step reconstruction (no sampling), for
        monitoring held-out data without consuming random numbers."""
        reconstruction = self.visible_probabilities(self.hidden_probabilities(visible))
        return pt.sqr(visible - reconstruction).mean()
