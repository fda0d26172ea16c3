"""The brain format: validation, float16 storage, numpy inference."""

import numpy as np
import pytest

from bitmap2pcm.core.errors import UserError
from bitmap2pcm.core.files import save_pickle
from bitmap2pcm.learn import brain


def tiny_brain(seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.1, (4096, 8)), rng.normal(0, 0.1, (8, 735))]
    biases = [rng.normal(0, 0.1, 8), np.full(735, 0.5)]
    return brain.make_brain(weights, biases, ["sigmoid", "linear"], {"seed": seed})


def test_forward_is_the_layer_math():
    b = tiny_brain()
    x = np.random.default_rng(1).random((3, 4096), dtype=np.float32)
    hidden = 1 / (1 + np.exp(-(x @ b.weights[0] + b.biases[0])))
    expected = hidden @ b.weights[1] + b.biases[1]
    np.testing.assert_allclose(brain.forward(b, x), expected, rtol=1e-5, atol=1e-6)


def test_save_load_round_trip_and_float16_upcast(tmp_path):
    b = tiny_brain()
    b.weights = [w.astype(np.float16) for w in b.weights]
    save_pickle(b.to_record(), tmp_path / "b.pkl")
    loaded = brain.load(tmp_path / "b.pkl")
    assert all(w.dtype == np.float32 for w in loaded.weights)
    assert loaded.training["seed"] == 0 and loaded.layer_sizes == [4096, 8, 735]


def test_unknown_version_and_broken_layers_are_refused(tmp_path):
    b = tiny_brain()
    b.version = 99
    save_pickle(b.to_record(), tmp_path / "future.pkl")
    with pytest.raises(UserError, match="version 99 is not supported"):
        brain.load(tmp_path / "future.pkl")
    b = tiny_brain()
    b.weights[1] = b.weights[1][:, :10]
    save_pickle(b.to_record(), tmp_path / "broken.pkl")
    with pytest.raises(UserError, match="layer 1 weights"):
        brain.load(tmp_path / "broken.pkl")
    save_pickle({"weights": []}, tmp_path / "other.pkl")
    with pytest.raises(UserError, match="not a bitmap2pcm brain"):
        brain.load(tmp_path / "other.pkl")


def test_input_size_mismatch_is_a_user_error():
    with pytest.raises(UserError, match="expects 4096 inputs"):
        brain.forward(tiny_brain(), np.zeros((2, 100), np.float32))


def test_names_for_output_files():
    assert brain.name_of("brains/shallow.pkl") == "shallow"
    assert brain.name_of("theanet.py.net.pkl") == "theanet.py"
    assert brain.name_of("/x/brain-12.pkl") == "brain-12"
