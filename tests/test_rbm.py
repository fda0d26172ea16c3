"""The RBM: initialisation, CD-k learning and its bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from bitmap2pcm.learn import backend
from bitmap2pcm.learn.rbm import RBM, cd_flops_per_row, visible_bias_from_mean

pt = backend.tensor()

SIDE = 4  # 4x4 toy pictures: 16 visible units


def bars(count: int, seed: int) -> np.ndarray:
    """Structured toy data: each row is one horizontal or vertical bar of a 4x4 picture, with
    intensities in [0, 1] (a bar at 0.8..1, background at 0..0.1)."""
    rng = np.random.default_rng(seed)
    pictures = rng.uniform(0.0, 0.1, (count, SIDE, SIDE))
    for picture in pictures:
        line = rng.integers(SIDE)
        if rng.integers(2):
            picture[line, :] = rng.uniform(0.8, 1.0, SIDE)
        else:
            picture[:, line] = rng.uniform(0.8, 1.0, SIDE)
    return pictures.reshape(count, SIDE * SIDE).astype(np.float32)


class CDTrainer:
    """A compiled CD-k epoch over shared toy data, built once for the whole module."""

    def __init__(self, data: np.ndarray, hidden: int, k: int, batch: int = 10) -> None:
        self.data = data
        self.batch = batch
        self.rbm = RBM.create(data.shape[1], hidden, np.random.default_rng(0), data.mean(axis=0))
        self.initial = self.rbm.state()
        visible = pt.matrix("visible")
        self.generator = backend.shared(np.random.default_rng(0), "generator")
        error, updates = self.rbm.contrastive_divergence(
            visible, self.generator, k, np.float32(0.1), np.float32(0.5), np.float32(1e-4))
        self.order = backend.shared(np.arange(len(data)), "order")
        frames = backend.shared(data, "frames")
        self.step = backend.compile_minibatch_step([visible], [frames], self.order, batch, error, updates)
        everything = backend.shared(np.arange(len(data)), "everything")
        self.error = backend.compile_minibatch_step([visible], [frames], everything, len(data),
                                                    self.rbm.reconstruction_error(visible))

    def reset(self, seed: int = 1) -> None:
        """Back to the initial weights, with a reproducible shuffle and sample stream."""
        fresh = RBM.from_state(self.initial)
        for key in RBM.STATE_KEYS:
            self.rbm._shared[key].set_value(fresh._shared[key].get_value())
        rng = np.random.default_rng(seed)
        self.order.set_value(rng.permutation(len(self.data)))
        self.generator.set_value(np.random.default_rng(seed))

    def epoch(self) -> list[float]:
        return [float(self.step(i)) for i in range(-(-len(self.data) // self.batch))]


@pytest.fixture(scope="module")
def cd1() -> CDTrainer:
    return CDTrainer(bars(4000, seed=0), hidden=8, k=1)


@pytest.mark.slow
def test_one_epoch_of_cd1_lowers_reconstruction_error(cd1: CDTrainer) -> None:
    cd1.reset()
    before = float(cd1.error(0))
    cd1.epoch()
    after = float(cd1.error(0))
    assert after < 0.8 * before, (before, after)


@pytest.mark.slow
def test_cd_training_is_reproducible_from_the_generator_state(cd1: CDTrainer) -> None:
    cd1.reset(seed=5)
    first_losses = cd1.epoch()
    first = cd1.rbm.state()
    cd1.reset(seed=5)
    assert cd1.epoch() == first_losses
    for key, value in cd1.rbm.state().items():
        np.testing.assert_array_equal(value, first[key], err_msg=key)


@pytest.mark.slow
def test_cd_update_moves_weights_and_fills_momentum_buffers(cd1: CDTrainer) -> None:
    cd1.reset()
    cd1.step(0)
    state = cd1.rbm.state()
    assert np.any(state["W"] != cd1.initial["W"])
    # after one step from zero momentum, the parameter moved by exactly its increment
    np.testing.assert_allclose(state["W"] - cd1.initial["W"], state["W_increment"], atol=1e-6)
    assert np.any(state["hidden_bias_increment"] != 0)


@pytest.mark.slow
def test_cd_k_with_several_steps_compiles_and_learns() -> None:
    trainer = CDTrainer(bars(4000, seed=1), hidden=8, k=3)
    trainer.reset()
    before = float(trainer.error(0))
    trainer.epoch()
    assert float(trainer.error(0)) < before


def test_cd_k_rejects_k_below_one() -> None:
    rbm = RBM.create(4, 2, np.random.default_rng(0))
    generator = backend.shared(np.random.default_rng(0), "generator")
    with pytest.raises(ValueError):
        rbm.contrastive_divergence(pt.matrix("v"), generator, 0, 0.1, 0.5, 0.0)


def test_initialisation_follows_the_practical_guide() -> None:
    mean = np.array([0.0, 0.25, 0.5, 1.0])
    rbm = RBM.create(4, 300, np.random.default_rng(0), mean)
    state = rbm.state()
    assert state["W"].dtype == np.float32 and state["W"].shape == (4, 300)
    assert abs(float(state["W"].std()) - 0.01) < 0.002
    assert not state["hidden_bias"].any()
    # sigmoid(visible bias) is the unit's mean activity, clipped away from 0 and 1
    np.testing.assert_allclose(1 / (1 + np.exp(-state["visible_bias"])), [1e-3, 0.25, 0.5, 1 - 1e-3],
                               rtol=1e-4)
    assert np.isfinite(visible_bias_from_mean(mean)).all()


def test_state_round_trips_through_a_checkpoint_dict() -> None:
    rbm = RBM.create(6, 3, np.random.default_rng(2), np.full(6, 0.3))
    copy = RBM.from_state(rbm.state())
    for key, value in rbm.state().items():
        np.testing.assert_array_equal(copy.state()[key], value)


@pytest.mark.slow
def test_free_energy_matches_its_definition() -> None:
    rbm = RBM.create(5, 3, np.random.default_rng(3), np.full(5, 0.4))
    v = pt.matrix("v")
    energy = backend.pytensor().function([v], rbm.free_energy(v))
    data = bars(1, 0)[:, :5]
    state = rbm.state()
    expected = -(data @ state["visible_bias"]) - np.log1p(np.exp(data @ state["W"] + state["hidden_bias"])).sum(1)
    np.testing.assert_allclose(energy(data), expected, rtol=1e-5)


def test_cd_flop_count() -> None:
    # CD-1: up, down, up, and two statistics products = 5 products of V x H, 2 FLOPs each
    assert cd_flops_per_row(4096, 1000, 1) == 10 * 4096 * 1000
    assert cd_flops_per_row(10, 5, 3) == (6 + 4 * 3) * 10 * 5
