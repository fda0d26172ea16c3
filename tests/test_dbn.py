"""The fine-tuned stack: its loss, gradients, Nesterov step, and agreement with brain.forward."""

from __future__ import annotations

import numpy as np
import pytest

from bitmap2pcm.learn import backend, brain
from bitmap2pcm.learn.dbn import ADAM_BETAS, DBN, finetune_flops_per_row, forward_flops_per_row

pytensor = backend.pytensor()
pt = backend.tensor()

SIZES = [5, 4, 3, 2]  # two sigmoid hidden layers and a linear output: every kind of layer


def numpy_loss(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, t: np.ndarray) -> float:
    """The fine-tuning loss written independently of the graph, in float64."""
    activity = x
    for W, b in zip(weights[:-1], biases[:-1]):
        activity = 1.0 / (1.0 + np.exp(-(activity @ W + b)))
    y = activity @ weights[-1] + biases[-1]
    return float(np.mean((y - t) ** 2))


@pytest.fixture(scope="module")
def tiny64():
    """A float64 network, its compiled loss gradient, and a batch."""
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 0.8, (a, b)) for a, b in zip(SIZES[:-1], SIZES[1:])]
    biases = [rng.normal(0, 0.3, b) for b in SIZES[1:]]
    net = DBN(weights, biases, dtype="float64")
    x, t = pt.dmatrix("x"), pt.dmatrix("t")
    loss = net.mean_squared_error(x, t)
    gradient = pytensor.function([x, t], [loss, *pt.grad(loss, net.weights + net.biases)])
    data = rng.uniform(0, 1, (7, SIZES[0])), rng.uniform(0, 1, (7, SIZES[-1]))
    return weights, biases, gradient, data


@pytest.mark.slow
def test_loss_matches_an_independent_numpy_implementation(tiny64) -> None:
    weights, biases, gradient, (x, t) = tiny64
    assert gradient(x, t)[0] == pytest.approx(numpy_loss(weights, biases, x, t), rel=1e-12)


@pytest.mark.slow
def test_gradients_match_central_finite_differences(tiny64) -> None:
    weights, biases, gradient, (x, t) = tiny64
    analytic = gradient(x, t)[1:]
    parameters = weights + biases
    step = 1e-6
    for array, computed in zip(parameters, analytic):
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + step
            up = numpy_loss(weights, biases, x, t)
            array[index] = saved - step
            down = numpy_loss(weights, biases, x, t)
            array[index] = saved
            numeric[index] = (up - down) / (2 * step)
        np.testing.assert_allclose(computed, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.slow
def test_nesterov_step_matches_its_formula() -> None:
    rng = np.random.default_rng(1)
    weights = [rng.normal(0, 0.5, (a, b)).astype(np.float32) for a, b in zip(SIZES[:-1], SIZES[1:])]
    biases = [rng.normal(0, 0.5, b).astype(np.float32) for b in SIZES[1:]]
    velocity_w = [rng.normal(0, 0.01, w.shape).astype(np.float32) for w in weights]
    velocity_b = [rng.normal(0, 0.01, b.shape).astype(np.float32) for b in biases]
    net = DBN(weights, biases, velocity_w, velocity_b)
    x, t = pt.matrix("x"), pt.matrix("t")
    loss = net.mean_squared_error(x, t)
    gradients = pytensor.function([x, t], pt.grad(loss, net.weights + net.biases))
    lr, momentum = 0.1, 0.9
    step = pytensor.function([x, t], loss, updates=net.nesterov_updates(loss, np.float32(lr),
                                                                        np.float32(momentum)))
    xs = rng.uniform(0, 1, (6, SIZES[0])).astype(np.float32)
    ts = rng.uniform(0, 1, (6, SIZES[-1])).astype(np.float32)
    g = gradients(xs, ts)
    step(xs, ts)
    new_weights, new_biases = net.parameters()
    new_vw, new_vb = net.velocities()
    for theta, v, grad, theta_new, v_new in zip(weights + biases, velocity_w + velocity_b, g,
                                                new_weights + new_biases, new_vw + new_vb):
        expected_v = momentum * v - lr * grad
        np.testing.assert_allclose(v_new, expected_v, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(theta_new, theta + momentum * expected_v - lr * grad,
                                   rtol=1e-5, atol=1e-7)


@pytest.mark.slow
def test_adam_steps_match_their_formula() -> None:
    rng = np.random.default_rng(7)
    weights = [rng.normal(0, 0.5, (a, b)).astype(np.float32) for a, b in zip(SIZES[:-1], SIZES[1:])]
    biases = [rng.normal(0, 0.5, b).astype(np.float32) for b in SIZES[1:]]
    net = DBN(weights, biases)
    x, t = pt.matrix("x"), pt.matrix("t")
    loss = net.mean_squared_error(x, t)
    gradients = pytensor.function([x, t], pt.grad(loss, net.weights + net.biases))
    lr, (b1, b2) = 0.01, ADAM_BETAS
    step = pytensor.function([x, t], loss, updates=net.adam_updates(loss, np.float32(lr)))
    theta = [p.astype(np.float64) for p in weights + biases]
    m = [np.zeros_like(p) for p in theta]
    v = [np.zeros_like(p) for p in theta]
    for count in (1, 2, 3):  # the bias corrections differ at every step
        xs = rng.uniform(0, 1, (6, SIZES[0])).astype(np.float32)
        ts = rng.uniform(0, 1, (6, SIZES[-1])).astype(np.float32)
        g = gradients(xs, ts)
        step(xs, ts)
        for i, grad in enumerate(g):
            m[i] = b1 * m[i] + (1 - b1) * grad
            v[i] = b2 * v[i] + (1 - b2) * grad ** 2
            theta[i] = theta[i] - lr * (m[i] / (1 - b1 ** count)) / (np.sqrt(v[i] / (1 - b2 ** count)) + 1e-8)
        new_weights, new_biases = net.parameters()
        for expected, got in zip(theta, new_weights + new_biases):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
        theta = [p.astype(np.float64) for p in new_weights + new_biases]  # no drift from float32
        assert net.step_count() == count


@pytest.mark.slow  # compiles the network: a C compiler runs when the cache lacks it
def test_graph_output_equals_brain_forward() -> None:
    """What fine-tuning optimises is what render will compute from the saved brain."""
    net = DBN.create([6, 5, 4, 3], np.random.default_rng(2), target_mean=np.full(3, 0.5))
    x = pt.matrix("x")
    output = pytensor.function([x], net.output(x))
    weights, biases = net.parameters()
    saved = brain.make_brain(weights, biases, net.activations, {})
    rows = np.random.default_rng(3).uniform(0, 1, (9, 6)).astype(np.float32)
    np.testing.assert_allclose(brain.forward(saved, rows), output(rows), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_training_sigmoid_never_makes_subnormal_floats() -> None:
    """Far-negative pre-activations must not give subnormal activities or gradients (they made
    fine-tuning up to 17x slower); the clip moves nothing that matters."""
    x = pt.vector("x")
    activity = backend.sigmoid(x)
    value, gradient = pytensor.function([x], [activity, pytensor.grad(activity.sum(), x)])(
        np.array([-1000, -100, -30, 0, 30, 100], np.float32))
    tiny = np.finfo(np.float32).tiny
    assert value.min() >= tiny and np.all((gradient == 0) | (np.abs(gradient) >= tiny))
    plain = 1 / (1 + np.exp(-np.array([-30, 0, 30], np.float64)))
    np.testing.assert_allclose(value[2:5], plain, rtol=1e-6)  # inside the clip: the sigmoid


def test_create_starts_at_the_mean_target() -> None:
    mean = np.linspace(0.4, 0.6, 3)
    net = DBN.create([8, 6, 3], np.random.default_rng(4), target_mean=mean)
    weights, biases = net.parameters()
    np.testing.assert_allclose(biases[-1], mean, rtol=1e-6)
    assert abs(float(weights[-1].std()) - 0.01) < 0.005
    assert net.activations == ["sigmoid", "linear"]
    limit = 4 * np.sqrt(6 / (8 + 6))
    assert np.abs(weights[0]).max() <= limit


def test_set_layer_refuses_a_wrong_shape() -> None:
    net = DBN.create([4, 3, 2], np.random.default_rng(5))
    with pytest.raises(ValueError):
        net.set_layer(0, np.zeros((3, 3), np.float32), np.zeros(3, np.float32))


def test_flop_counts() -> None:
    assert forward_flops_per_row([4096, 1000, 735]) == 2 * (4096 * 1000 + 1000 * 735)
    # first layer: forward + weight gradient; second: forward + weight gradient + error back
    assert finetune_flops_per_row([4096, 1000, 735]) == 2 * (2 * 4096 * 1000 + 3 * 1000 * 735)
