"""The training loop: data checks, validation split, learning, checkpoints and exact resume."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_shapes_pickles

from bitmap2pcm.core import grid
from bitmap2pcm.core.errors import UserError
from bitmap2pcm.core.files import save_pickle
from scenes.synth import shapes_dataset
from bitmap2pcm.data.trainset import check_matrix, load_pairs, validation_split
from bitmap2pcm.learn import brain, run, train
from bitmap2pcm.learn import settings as run_settings
from bitmap2pcm.sound import registry

REPO = Path(__file__).resolve().parent.parent
SIDE, SAMPLES = 16, 24           # 256-pixel frames, 24-sample rows: tiny but structured
LAYERS = [SIDE * SIDE, 32, SAMPLES]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    """frames.pkl / audio.pkl of a synthetic shapes video in a module-wide folder."""
    return write_shapes_pickles(tmp_path_factory.mktemp("shapes"), SIDE, SAMPLES)


def train_in(folder: Path, source: Path, resume: str | None = None, **options) -> int:
    """Run the trainer as theanet.py would, with outputs in `folder`."""
    options = {"pretrain_epochs": 2, "epochs": 6, "batch": 16, "save_every": 1, **options}
    return run.run_training(str(source / "frames.pkl"), str(source / "audio.pkl"),
                              str(folder / "theanet.py.net.pkl"), LAYERS, options, resume, quiet=True)


def final_weights(folder: Path) -> list[np.ndarray]:
    saved = brain.load(folder / "theanet.py.net.pkl")
    return saved.weights + saved.biases


# --- learning -------------------------------------------------------------------------------

@pytest.mark.slow
def test_learns_each_shapes_waveform(shapes: Path, tmp_path: Path) -> None:
    """Validation MSE below 10% of the targets' variance (predicting the mean scores 100%)."""
    assert train_in(tmp_path, shapes, epochs=80, patience=15, save_every=0, learning_rate=1.0) == 0
    saved = brain.load(tmp_path / "theanet.py.net.pkl")
    record = saved.training
    pairs = load_pairs(shapes / "frames.pkl", shapes / "audio.pkl")
    _, validation = validation_split(len(pairs))
    target_variance = float(pairs.audio.var(axis=0).mean())  # MSE of the mean row
    assert record["best_validation_loss"] < 0.1 * target_variance
    # the saved brain, run by numpy as render will, reproduces that validation loss
    predicted = brain.forward(saved, pairs.frames[validation])
    mse = float(np.mean((predicted - pairs.audio[validation]) ** 2))
    assert mse == pytest.approx(record["best_validation_loss"], rel=1e-3)


@pytest.mark.slow
def test_training_record_and_brain_format(shapes: Path, tmp_path: Path) -> None:
    assert train_in(tmp_path, shapes, epochs=2, pretrain_epochs=1, save_every=0, seed=3) == 0
    saved = brain.load(tmp_path / "theanet.py.net.pkl")
    assert saved.resume is None
    assert saved.layer_sizes == LAYERS and saved.activations == ["sigmoid", "linear"]
    record = saved.training
    assert record["data"] == {"frames": str(shapes / "frames.pkl"), "audio": str(shapes / "audio.pkl"),
                              "sidecar": None}
    assert record["frames"]["total"] == 900
    assert record["frames"]["train"] + record["frames"]["validation"] <= 900
    assert record["epochs"] == {"pretrain": [1], "finetune": 2}
    assert len(record["losses"]["finetune_validation"]) == 2
    assert record["best_epoch"] in (1, 2) and record["seconds"] > 0
    assert record["seed"] == 3 and record["batch"] == 16
    assert record["software"].startswith("bitmap2pcm ")
    assert not list(tmp_path.glob("brain-*.pkl"))  # --save-every 0: no checkpoints


@pytest.mark.slow
def test_plain_mlp_without_pretraining(shapes: Path, tmp_path: Path) -> None:
    assert train_in(tmp_path, shapes, epochs=2, pretrain_epochs=0, save_every=0) == 0
    record = brain.load(tmp_path / "theanet.py.net.pkl").training
    assert record["epochs"] == {"pretrain": [], "finetune": 2}


# --- checkpoints and exact resume -----------------------------------------------------------

@pytest.fixture(scope="module")
def uninterrupted(shapes: Path, tmp_path_factory) -> Path:
    """A whole run that checkpoints every epoch and keeps every second one."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    assert train_in(folder, shapes, keep_every=2) == 0
    return folder


def assert_same_weights(a: Path, b: Path) -> None:
    for mine, theirs in zip(final_weights(a), final_weights(b), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def checkpoints_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("brain-*.pkl"))


@pytest.mark.slow
def test_keep_every_keeps_each_nth_checkpoint_of_both_phases(uninterrupted: Path) -> None:
    assert checkpoints_in(uninterrupted) == ["brain-0002.pkl", "brain-0004.pkl", "brain-0006.pkl",
                                             "brain-pretrain1-0002.pkl"]
    assert not list(uninterrupted.glob("*.part"))


@pytest.mark.slow
def test_checkpoints_are_brains_that_load_without_pytensor(uninterrupted: Path) -> None:
    code = ("import sys; from bitmap2pcm.learn import brain; b = brain.load(sys.argv[1]); "
            "assert 'pytensor' not in sys.modules; assert b.resume['progress']['epoch'] == 4")
    result = subprocess.run([sys.executable, "-c", code, str(uninterrupted / "brain-0004.pkl")],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_same_seed_gives_the_same_brain(shapes: Path, uninterrupted: Path, tmp_path: Path) -> None:
    assert train_in(tmp_path, shapes, save_every=0) == 0
    assert_same_weights(tmp_path, uninterrupted)


@pytest.mark.slow
def test_resume_gives_the_same_final_weights(shapes: Path, uninterrupted: Path, tmp_path: Path) -> None:
    """Stopping after fine-tuning epoch 3 and resuming ends where the uninterrupted run ended.
    Checkpointing every epoch leaves only the latest, and the resumed run replaces the one it
    resumed from (its own, beside the brain) like any other."""
    assert train_in(tmp_path, shapes, epochs=3) == 0
    assert checkpoints_in(tmp_path) == ["brain-0003.pkl"]
    assert train_in(tmp_path, shapes, resume=str(tmp_path / "brain-0003.pkl"), epochs=6) == 0
    assert checkpoints_in(tmp_path) == ["brain-0006.pkl"]
    assert_same_weights(tmp_path, uninterrupted)


@pytest.mark.slow
def test_an_adam_run_resumes_exactly(shapes: Path, tmp_path: Path) -> None:
    """Adam's moments and step count travel in the checkpoint: stopped after epoch 3 and
    resumed, the run ends where the uninterrupted one does (and not where Nesterov does)."""
    whole, parts, nesterov = tmp_path / "whole", tmp_path / "parts", tmp_path / "nesterov"
    for folder in (whole, parts, nesterov):
        folder.mkdir()
    assert train_in(whole, shapes, optimizer="adam", save_every=0) == 0
    assert train_in(parts, shapes, optimizer="adam", epochs=3) == 0
    assert train_in(parts, shapes, resume=str(parts / "brain-0003.pkl"), epochs=6) == 0
    assert_same_weights(parts, whole)
    assert train_in(nesterov, shapes, save_every=0, learning_rate=0.001) == 0
    assert not all(np.array_equal(a, b) for a, b in zip(final_weights(nesterov), final_weights(whole)))


@pytest.mark.slow
def test_resuming_a_checkpoint_from_elsewhere_leaves_it(shapes: Path, uninterrupted: Path,
                                                        tmp_path: Path) -> None:
    kept = uninterrupted / "brain-0004.pkl"
    before = kept.read_bytes()
    assert train_in(tmp_path, shapes, resume=str(kept)) == 0
    assert kept.read_bytes() == before
    assert checkpoints_in(tmp_path) == ["brain-0006.pkl"]
    assert_same_weights(tmp_path, uninterrupted)


@pytest.mark.parametrize("epoch, expected", [(2, "brain-pretrain1-0001.pkl"), (5, "brain-0002.pkl")])
@pytest.mark.slow
def test_ctrl_c_writes_a_checkpoint_that_resumes_exactly(shapes: Path, uninterrupted: Path,
                                                         tmp_path: Path, monkeypatch,
                                                         epoch: int, expected: str) -> None:
    """Ctrl-C in the middle of training epoch `epoch` (pretraining epochs 1-2, then fine-tuning)
    saves the state after the last whole epoch; resuming from it redoes the interrupted one."""
    training_epochs = {"count": 0}
    real_batches = train._batches

    def interrupting(rows: int, batch: int):
        if batch == 16:  # a training epoch (validation uses the evaluation batch)
            training_epochs["count"] += 1
        for index in real_batches(rows, batch):
            if training_epochs["count"] == epoch and batch == 16 and index == 3:
                raise KeyboardInterrupt
            yield index

    monkeypatch.setattr(train, "_batches", interrupting)
    assert train_in(tmp_path, shapes, save_every=0) == 1
    monkeypatch.setattr(train, "_batches", real_batches)
    assert sorted(path.name for path in tmp_path.glob("brain-*.pkl")) == [expected]
    assert not (tmp_path / "theanet.py.net.pkl").exists()
    assert train_in(tmp_path, shapes, resume=str(tmp_path / expected), save_every=0) == 0
    assert_same_weights(tmp_path, uninterrupted)


@pytest.mark.slow
def test_resume_refuses_changed_settings_and_other_data(shapes: Path, uninterrupted: Path,
                                                        tmp_path: Path) -> None:
    checkpoint = str(uninterrupted / "brain-0004.pkl")
    with pytest.raises(UserError, match="--batch 32 differs"):
        train_in(tmp_path, shapes, resume=checkpoint, batch=32)
    other = tmp_path / "other"
    other.mkdir()
    frames, audio, _ = shapes_dataset(900, side=SIDE, samples=SAMPLES, seed=8)
    save_pickle(frames, other / "frames.pkl")
    save_pickle(audio, other / "audio.pkl")
    with pytest.raises(UserError, match="other training data"):
        train_in(tmp_path, other, resume=checkpoint)
    with pytest.raises(UserError, match="not a checkpoint"):
        train_in(tmp_path, shapes, resume=str(uninterrupted / "theanet.py.net.pkl"))


# --- the data door --------------------------------------------------------------------------

class Evil:
    """A pickle payload that would run a shell command when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "frames.pkl"
    evil.write_bytes(pickle.dumps(Evil(marker)))
    # the payload is real: plain pickle would run it
    pickle.loads(evil.read_bytes())
    assert marker.exists()
    marker.unlink()
    with pytest.raises(UserError, match="not a safe pickle"):
        load_pairs(evil, evil)
    with pytest.raises(UserError, match="not a safe pickle"):
        brain.load(evil)  # the --resume path
    assert not marker.exists()


def test_a_cue_brain_from_a_short_video_is_told_more_would_help() -> None:
    slots_per_minute = 60 * grid.SLOTS_PER_SECOND
    advice = run.short_video_advice(2 * slots_per_minute, registry.DEFAULT)
    assert advice is not None and advice.startswith("2.0 minutes of video") and "how-much-video" in advice
    assert run.short_video_advice(run.ADVISED_MINUTES * slots_per_minute, registry.DEFAULT) is None
    assert run.short_video_advice(slots_per_minute, registry.FAITHFUL) is None  # measured for cues only


def test_unequal_row_counts_are_trimmed_with_a_warning(tmp_path: Path, caplog) -> None:
    save_pickle(np.full((10, 4), 0.5, np.float32), tmp_path / "f.pkl")
    save_pickle(np.full((7, 3), 0.5, np.float32), tmp_path / "a.pkl")
    with caplog.at_level(logging.WARNING, logger="bitmap2pcm"):
        pairs = load_pairs(tmp_path / "f.pkl", tmp_path / "a.pkl")
    assert pairs.frames.shape == (7, 4) and pairs.audio.shape == (7, 3)
    assert "training on the first 7" in caplog.text


@pytest.mark.parametrize("array, message", [
    ([[0.5]], "holds a list"),
    (np.zeros((3, 4), np.int16), "dtype int16"),
    (np.zeros((3, 4), np.complex64), "dtype complex64"),
    (np.zeros(4, np.float32), "expected 2 dimensions"),
    (np.zeros((2, 8, 8), np.float32), "expected 2 dimensions"),
    (np.zeros((0, 4), np.float32), "zero rows"),
    (np.zeros((3, 0), np.float32), "rows are empty"),
    (np.array([[0.5, np.nan]], np.float32), "NaN"),
    (np.array([[0.5], [np.inf]], np.float32), r"infinity \(first in row 1\)"),
    (np.array([[0.5, 255.0]], np.float32), r"expected values in \[0, 1\]"),
])
def test_check_matrix_names_the_problem(array, message: str) -> None:
    with pytest.raises(UserError, match=message):
        check_matrix(array, "x.pkl", "frames")


def test_check_matrix_accepts_float64_as_float32() -> None:
    checked = check_matrix(np.full((2, 3), 0.25), "x.pkl", "frames")
    assert checked.dtype == np.float32 and checked.flags.c_contiguous


# --- the validation split -------------------------------------------------------------------

def test_validation_split_is_contiguous_chunks_with_gaps() -> None:
    train_rows, validation = validation_split(18000)
    assert 0.09 < len(validation) / 18000 < 0.11
    assert not set(train_rows) & set(validation)
    breaks = np.nonzero(np.diff(validation) != 1)[0]
    assert len(breaks) + 1 == 20                   # twenty 3 s chunks of 90 frames
    for chunk in np.split(validation, breaks + 1):
        assert len(chunk) == 90
        # no training frame within a second of a validation frame
        nearest = np.min(np.abs(train_rows[:, None] - chunk[[0, -1]][None, :]))
        assert nearest > 30
    assert validation.min() > 0 and validation.max() < 17999   # spread over the timeline


@pytest.mark.parametrize("count", [2, 3, 10, 50, 299, 1000])
def test_validation_split_of_short_data(count: int) -> None:
    train_rows, validation = validation_split(count)
    assert len(validation) >= 1 and len(train_rows) >= 1
    assert not set(train_rows) & set(validation)
    assert np.all(np.diff(validation) == 1)     # one contiguous chunk


def test_validation_split_of_a_single_frame() -> None:
    train_rows, validation = validation_split(1)
    assert list(train_rows) == [0] and len(validation) == 0


def test_random_streams_depend_on_every_key() -> None:
    draws = {tuple(key): run_settings.rng_for(*key).integers(1 << 62)
             for key in [(0, 1, 0, 0, 0), (1, 1, 0, 0, 0), (0, 2, 0, 0, 0), (0, 1, 1, 0, 0),
                         (0, 1, 0, 1, 0), (0, 1, 0, 0, 1)]}
    assert len(set(draws.values())) == len(draws)
    assert run_settings.rng_for(0, 1, 0, 0, 0).integers(1 << 62) == draws[(0, 1, 0, 0, 0)]


@pytest.mark.slow
def test_a_run_killed_while_writing_a_checkpoint_resumes_from_the_last_complete_one(tmp_path: Path) -> None:
    """SIGKILL (no handler runs) in the middle of a checkpoint's write: the half-written file
    never takes a checkpoint's name, and resuming from the last complete one ends bit for bit
    where an uninterrupted run ends."""
    data = tmp_path / "data"
    data.mkdir()
    write_shapes_pickles(data, 64, 735)
    # Big enough that writing a checkpoint (about 10 MB with its optimizer state) takes a while.
    command = [sys.executable, str(REPO / "theanet.py"), "-q", "--frames", str(data / "frames.pkl"),
               "--audio", str(data / "audio.pkl"), "--layers", "4096,256,735", "--epochs", "6",
               "--pretrain-epochs", "0", "--batch", "64", "--save-every", "1", "-o", "brain.pkl"]
    (tmp_path / "whole").mkdir()
    assert subprocess.run(command, cwd=tmp_path / "whole", capture_output=True).returncode == 0
    for attempt in range(5):  # the kill must land inside a write; a rare miss tries again
        folder = tmp_path / f"killed{attempt}"
        folder.mkdir()
        process = subprocess.Popen(command, cwd=folder, stderr=subprocess.DEVNULL)
        while process.poll() is None:
            if any(name.startswith(".brain-00") and not name.startswith(".brain-0001.")
                   for name in os.listdir(folder)):  # a checkpoint after the first, mid-write
                process.kill()
                break
        process.wait()
        debris = [name for name in os.listdir(folder) if name.endswith(".part")]
        if process.returncode == -9 and debris:
            break
    else:
        pytest.fail("the kill never landed inside a checkpoint's write")
    complete = sorted(folder.glob("brain-0*.pkl"))
    # the one before the write is still there (at most it and the one just finished)
    assert 1 <= len(complete) <= 2 and not (folder / "brain.pkl").exists()
    for checkpoint in complete:
        brain.load(checkpoint)  # every file under a checkpoint's name is whole
    resumed = subprocess.run(command + ["--resume", str(complete[-1])], cwd=folder,
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    whole, again = brain.load(tmp_path / "whole" / "brain.pkl"), brain.load(folder / "brain.pkl")
    for mine, theirs in zip(again.weights + again.biases, whole.weights + whole.biases,
                            strict=True):
        np.testing.assert_array_equal(mine, theirs)
