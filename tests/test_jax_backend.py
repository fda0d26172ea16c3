"""The JAX backend (theanet.py --backend jax): same graphs, same brain, data kept on the device.

These tests run on the CPU build of JAX where it is installed (pip install jax) and are skipped,
with the reason shown, where it is not; the missing-JAX error is tested everywhere.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_shapes_pickles

from bitmap2pcm.data.trainset import load_pairs, validation_split
from bitmap2pcm.learn import backend, brain, run, train

REPO = Path(__file__).resolve().parent.parent
SIDE, SAMPLES = 16, 24
LAYERS = [SIDE * SIDE, 32, SAMPLES]
# CPU vs JAX after one fine-tuning epoch (50 Nesterov steps, weights up to about 5): measured
# max |difference| 1.7e-6 with the CPU build of JAX; a GPU's TF32 products differ more.
AGREEMENT_ATOL = 1e-5


@pytest.fixture
def jax_backend():
    """Skip without JAX; afterwards put the process back on the C backend for other tests."""
    pytest.importorskip("jax", reason="JAX is not installed (pip install jax, or '.[gpu]')")
    yield
    backend.choose("cpu")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    return write_shapes_pickles(tmp_path_factory.mktemp("shapes"), SIDE, SAMPLES)


def train_in(folder: Path, source: Path, backend_name: str, resume: str | None = None,
             **options) -> int:
    options = {"pretrain_epochs": 2, "epochs": 4, "batch": 16, "save_every": 1, **options}
    return run.run_training(str(source / "frames.pkl"), str(source / "audio.pkl"),
                              str(folder / "theanet.py.net.pkl"), LAYERS, options, resume,
                              quiet=True, backend=backend_name)


def parameters(folder: Path) -> list[np.ndarray]:
    saved = brain.load(folder / "theanet.py.net.pkl")
    return saved.weights + saved.biases


@pytest.mark.slow
def test_backend_jax_without_jax_is_a_one_line_error(tmp_path: Path) -> None:
    """Runs everywhere: JAX is hidden from the child process."""
    launcher = ("import runpy, sys; sys.modules['jax'] = None; "
                "sys.argv = ['theanet.py', *sys.argv[1:]]; "
                f"runpy.run_path({str(REPO / 'theanet.py')!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", launcher, "--backend", "jax"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("theanet.py: error: --backend jax needs JAX")
    assert "pip install '.[gpu]'" in lines[0]


def test_auto_is_the_c_backend_without_a_gpu() -> None:
    if backend.gpu_visible():
        pytest.skip("a GPU is visible: auto picks JAX here")
    assert backend.choose("auto") == "cpu"


@pytest.mark.slow
def test_cpu_and_jax_agree_after_one_epoch(jax_backend, shapes: Path, tmp_path: Path) -> None:
    """Fine-tuning is deterministic on both backends: the same seed gives the same brain to
    float32 rounding. (Pretraining is left out: its CD samples come from numpy's generator on
    the CPU and from a JAX key on JAX, equally random but not the same numbers.)"""
    for name in ("cpu", "jax"):
        (tmp_path / name).mkdir()
        assert train_in(tmp_path / name, shapes, name, pretrain_epochs=0, epochs=1, save_every=0) == 0
    for cpu, jax in zip(parameters(tmp_path / "cpu"), parameters(tmp_path / "jax"), strict=True):
        assert jax.dtype == np.float32 and type(jax) is np.ndarray
        np.testing.assert_allclose(jax, cpu, rtol=0, atol=AGREEMENT_ATOL)
    records = [brain.load(tmp_path / name / "theanet.py.net.pkl").training for name in ("cpu", "jax")]
    assert [record["backend"]["name"] for record in records] == ["cpu", "jax"]
    assert records[1]["losses"]["finetune_train"][0] == pytest.approx(
        records[0]["losses"]["finetune_train"][0], rel=1e-5)


@pytest.mark.slow
def test_jax_pretraining_learns_like_the_cpu(jax_backend, shapes: Path, tmp_path: Path) -> None:
    for name in ("cpu", "jax"):
        (tmp_path / name).mkdir()
        assert train_in(tmp_path / name, shapes, name, pretrain_epochs=2, epochs=1, save_every=0) == 0
    cpu, jax = (brain.load(tmp_path / name / "theanet.py.net.pkl").training["losses"]
                for name in ("cpu", "jax"))
    np.testing.assert_allclose(jax["pretrain_train"], cpu["pretrain_train"], rtol=0.01)
    np.testing.assert_allclose(jax["finetune_validation"], cpu["finetune_validation"], rtol=0.05)


@pytest.mark.slow
def test_jax_brain_renders_with_numpy_only(jax_backend, shapes: Path, tmp_path: Path) -> None:
    assert train_in(tmp_path, shapes, "jax", pretrain_epochs=1, epochs=2, save_every=0) == 0
    pairs = load_pairs(shapes / "frames.pkl", shapes / "audio.pkl")
    _, validation = validation_split(len(pairs))
    np.save(tmp_path / "x.npy", pairs.frames[validation])
    np.save(tmp_path / "t.npy", pairs.audio[validation])
    code = ("import sys, numpy as np; from bitmap2pcm.learn import brain; "
            "b = brain.load(sys.argv[1] + '/theanet.py.net.pkl'); "
            "y = brain.forward(b, np.load(sys.argv[1] + '/x.npy')); "
            "assert 'jax' not in sys.modules and 'pytensor' not in sys.modules; "
            "print(float(np.mean((y - np.load(sys.argv[1] + '/t.npy')) ** 2)))")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    record = brain.load(tmp_path / "theanet.py.net.pkl").training
    assert float(result.stdout) == pytest.approx(record["best_validation_loss"], rel=1e-4)


@pytest.fixture
def uninterrupted_jax(jax_backend, shapes: Path, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("uninterrupted_jax")
    assert train_in(folder, shapes, "jax") == 0
    return folder


@pytest.mark.slow
def test_resume_on_jax_gives_the_same_weights(uninterrupted_jax: Path, shapes: Path,
                                             tmp_path: Path, monkeypatch) -> None:
    """Stopped by Ctrl-C in pretraining epoch 2 (so the resumed run must reseed the CD
    stream that a fresh compile copied), resumed, stopped after fine-tuning epoch 2, resumed:
    the same weights, bit for bit, as the run that never stopped."""
    real_batches = train._batches
    seen = {"epochs": 0}

    def interrupting(rows: int, batch: int):
        if batch == 16:
            seen["epochs"] += 1
        for index in real_batches(rows, batch):
            if seen["epochs"] == 2 and batch == 16 and index == 3:
                raise KeyboardInterrupt
            yield index

    monkeypatch.setattr(train, "_batches", interrupting)
    assert train_in(tmp_path, shapes, "jax", save_every=0) == 1
    monkeypatch.setattr(train, "_batches", real_batches)
    assert train_in(tmp_path, shapes, "jax", resume=str(tmp_path / "brain-pretrain1-0001.pkl"),
                    epochs=2) == 0
    assert train_in(tmp_path, shapes, "jax", resume=str(tmp_path / "brain-0002.pkl"), epochs=4) == 0
    for mine, theirs in zip(parameters(tmp_path), parameters(uninterrupted_jax), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_data_and_parameters_stay_on_the_device(jax_backend) -> None:
    import jax

    backend.choose("jax")
    from bitmap2pcm.learn.dbn import DBN

    pt = backend.tensor()
    rng = np.random.default_rng(0)
    frames = backend.shared(rng.random((50, 8), dtype=np.float32), "frames")
    audio = backend.shared(rng.random((50, 3), dtype=np.float32), "audio")
    order = backend.shared(rng.permutation(50).astype(np.int64), "order")
    dbn = DBN.create([8, 4, 3], rng)
    x, targets = pt.matrix("x"), pt.matrix("targets")
    loss = dbn.mean_squared_error(x, targets)
    step = backend.compile_minibatch_step([x, targets], [frames, audio], order, 16, loss,
                                          dbn.nesterov_updates(loss, np.float32(0.1), np.float32(0.9)))
    losses = [step(index) for index in range(4)]  # 16, 16, 16 and a remainder of 2
    assert all(isinstance(value, jax.Array) for value in losses)
    for variable in [frames, audio, order, *dbn.weights, *dbn.biases, *dbn.weight_velocities]:
        assert isinstance(variable.get_value(borrow=True, return_internal_type=True), jax.Array)
    weights, _ = dbn.parameters()
    assert all(type(w) is np.ndarray and w.dtype == np.float32 for w in weights)


def test_random_streams_reseed_and_continue_across_batch_sizes(jax_backend) -> None:
    """Setting a new Generator restarts the stream, and the short last batch continues the
    stream of the full ones rather than restarting it."""
    backend.choose("jax")
    pt = backend.tensor()
    rows = backend.shared(np.zeros((5, 3), np.float32), "rows")
    order = backend.shared(np.arange(5, dtype=np.int64), "order")
    generator = backend.shared(np.random.default_rng(0), "generator")
    x = pt.matrix("x")
    following, uniform = pt.random.uniform(0.0, 1.0, size=x.shape, rng=generator, dtype="float32",
                                           return_next_rng=True)
    draw = backend.compile_minibatch_step([x], [rows], order, 2, x + uniform,
                                          {generator: following})

    def epoch(seed: int) -> list[np.ndarray]:
        generator.set_value(np.random.default_rng(seed))
        return [np.asarray(draw(index)) for index in range(3)]

    first, again, other = epoch(1), epoch(1), epoch(2)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[0], first[1])
    # the remainder (one row) is not a restart of the stream: not the first row of batch 0
    assert not np.array_equal(first[2][0], first[0][0])
    assert [a.shape for a in first] == [(2, 3), (2, 3), (1, 3)]


@pytest.mark.slow  # JAX compiles for 20 s
def test_the_default_brains_model_trains_on_jax_as_on_the_cpu(jax_backend) -> None:
    """The patch layout's shared, pooled first layer (learn/pooling.py) steps alike on both
    backends (JAX once refused its gradient: the concatenation's widths were unknown)."""
    from bitmap2pcm.data import patches
    from bitmap2pcm.learn.dbn import DBN

    positions = patches.places()
    layer_sizes = [patches.WIDTH, 6, 10, 4]
    rng = np.random.default_rng(0)
    rows, targets_of_rows = rng.random((40, patches.WIDTH), dtype=np.float32), rng.random((40, 4), dtype=np.float32)
    trained = {}
    for name in ("cpu", "jax"):
        backend.choose(name)
        pt = backend.tensor()
        frames, audio = backend.shared(rows, "frames"), backend.shared(targets_of_rows, "audio")
        order = backend.shared(np.arange(40, dtype=np.int64), "order")
        dbn = DBN.create(layer_sizes, np.random.default_rng(1), positions=positions)
        x, targets = pt.matrix("x"), pt.matrix("targets")
        loss = dbn.mean_squared_error(x, targets)
        step = backend.compile_minibatch_step([x, targets], [frames, audio], order, 16, loss,
                                              dbn.adam_updates(loss, np.float32(0.01)))
        losses = [float(step(index)) for index in range(3)]  # 16, 16 and a remainder of 8
        trained[name] = (losses, *dbn.parameters())
    cpu, jax = trained["cpu"], trained["jax"]
    assert jax[0] == pytest.approx(cpu[0], rel=1e-5)
    assert not np.allclose(cpu[1][0], DBN.create(layer_sizes, np.random.default_rng(1),
                                                 positions=positions).parameters()[0][0])
    for mine, theirs in zip(jax[1] + jax[2], cpu[1] + cpu[2], strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=AGREEMENT_ATOL)
