"""theanet.py as a user meets it: exit codes, one-line errors, defaults, help."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bitmap2pcm.core.files import save_pickle
from scenes.synth import shapes_dataset
from bitmap2pcm.learn import brain

pytestmark = pytest.mark.slow  # every test here trains, renders or starts a process

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "theanet.py"
TINY = ["--layers", "64,8,6", "--pretrain-epochs", "1", "--epochs", "2", "--batch", "8"]


def theanet(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=folder, capture_output=True,
                          text=True, timeout=300)


def write_pair(folder: Path, frames: object, audio: object) -> None:
    save_pickle(frames, folder / "frames.pkl")
    save_pickle(audio, folder / "audio.pkl")


def good_frames(rows: int = 60) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 1, (rows, 64)).astype(np.float32)


def good_audio(rows: int = 60) -> np.ndarray:
    return np.full((rows, 6), 0.5, np.float32)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("theanet.py: error: ") and "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_trains_with_defaults_into_the_current_folder(tmp_path: Path) -> None:
    frames, audio, _ = shapes_dataset(120, side=8, samples=6, seed=1)
    write_pair(tmp_path, frames, audio)
    result = theanet(tmp_path, *TINY)
    assert result.returncode == 0, result.stderr
    saved = brain.load(tmp_path / "theanet.py.net.pkl")
    assert saved.layer_sizes == [64, 8, 6]
    assert "finetune epoch 2/2" in result.stderr and "wrote theanet.py.net.pkl" in result.stderr
    quiet = theanet(tmp_path, *TINY, "-q", "-o", "quiet.pkl")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert (tmp_path / "quiet.pkl").exists()


def test_checkpoints_left_are_the_latest_and_those_asked_to_be_kept(tmp_path: Path) -> None:
    frames, audio, _ = shapes_dataset(120, side=8, samples=6, seed=1)
    write_pair(tmp_path, frames, audio)
    tiny = ["--layers", "64,8,6", "--pretrain-epochs", "3", "--epochs", "7", "--patience", "7",
            "--batch", "8", "--save-every", "1", "-q"]
    assert theanet(tmp_path, *tiny).returncode == 0
    assert sorted(p.name for p in tmp_path.glob("brain-*.pkl")) == ["brain-0007.pkl"]
    kept = tmp_path / "kept"
    kept.mkdir()
    write_pair(kept, frames, audio)
    assert theanet(kept, *tiny, "--keep-every", "3").returncode == 0
    assert sorted(p.name for p in kept.glob("brain-*.pkl")) == [
        "brain-0003.pkl", "brain-0006.pkl", "brain-0007.pkl", "brain-pretrain1-0003.pkl"]


@pytest.mark.parametrize("case, fragments", [
    ("missing", ["frames.pkl: no such file"]),
    ("garbage", ["frames.pkl: not a safe pickle"]),
    ("empty", ["frames.pkl: file is empty"]),
    ("directory", ["frames.pkl: is a directory"]),
    ("evil", ["frames.pkl: not a safe pickle", "posix.system"]),
    ("int_dtype", ["frames.pkl", "dtype uint8"]),
    ("rank", ["audio.pkl", "expected 2 dimensions"]),
    ("nan", ["frames.pkl", "NaN"]),
    ("inf", ["audio.pkl", "infinity"]),
    ("range", ["frames.pkl", "expected values in [0, 1]"]),
    ("zero_frames", ["frames.pkl: no frames (zero rows)"]),
    ("layers_input", ["input layer has 100 units", "64 pixels per frame"]),
    ("layers_output", ["output layer has 7 units", "6 samples per row"]),
    ("resume_missing", ["nope.pkl: no such file"]),
    ("output_folder", ["missing/dir: output folder does not exist"]),
])
def test_bad_input_gives_one_line_and_exit_1(tmp_path: Path, case: str, fragments: list[str]) -> None:
    frames, audio, args = good_frames(), good_audio(), list(TINY)
    write_pair(tmp_path, frames, audio)
    if case == "missing":
        (tmp_path / "frames.pkl").unlink()
    elif case == "garbage":
        (tmp_path / "frames.pkl").write_bytes(b"\x00not a pickle at all")
    elif case == "empty":
        (tmp_path / "frames.pkl").write_bytes(b"")
    elif case == "directory":
        (tmp_path / "frames.pkl").unlink()
        (tmp_path / "frames.pkl").mkdir()
    elif case == "evil":
        class Evil:
            def __reduce__(self):
                return (os.system, (f"touch {tmp_path / 'pwned'}",))
        (tmp_path / "frames.pkl").write_bytes(pickle.dumps(Evil()))
    elif case == "int_dtype":
        write_pair(tmp_path, (frames * 255).astype(np.uint8), audio)
    elif case == "rank":
        write_pair(tmp_path, frames, audio.reshape(60, 2, 3))
    elif case == "nan":
        frames[5, 3] = np.nan
        write_pair(tmp_path, frames, audio)
    elif case == "inf":
        audio[2, 1] = np.inf
        write_pair(tmp_path, frames, audio)
    elif case == "range":
        write_pair(tmp_path, frames * 255, audio)
    elif case == "zero_frames":
        write_pair(tmp_path, frames[:0], audio)
    elif case == "layers_input":
        args = ["--layers", "100,8,6"]
    elif case == "layers_output":
        args = ["--layers", "64,8,7"]
    elif case == "resume_missing":
        args = ["--resume", "nope.pkl"]
    elif case == "output_folder":
        args = [*TINY, "-o", "missing/dir/brain.pkl"]
    result = theanet(tmp_path, *args)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "theanet.py.net.pkl").exists()


@pytest.mark.parametrize("args", [
    ["--layers", "4096,abc,735"],
    ["--layers", "4096"],
    ["--layers", "64,0,6"],
    ["--batch", "0"],
    ["--epochs", "-1"],
    ["--lr", "0"],
    ["--lr", "nan"],
    ["--seed", "-3"],
    ["--preset", "huge"],
    ["--preset", "deeper", "--layers", "64,8,6"],
    ["--memory-seconds", "-1"],
    ["--memory-seconds", "nan"],
    ["--memory-seconds", "60"],
    ["--no-such-option"],
])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = theanet(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_help_lists_options_and_examples(tmp_path: Path) -> None:
    result = theanet(tmp_path, "--help")
    assert result.returncode == 0
    for text in ("--frames", "--audio", "--layers", "--preset", "--epochs", "--pretrain-epochs",
                 "--batch", "--lr", "--seed", "--save-every", "--resume", "--backend", "-q", "examples:",
                 "--memory-seconds",
                 "kungfury 4096-2000-1500-1000-735", "theanet.py.net.pkl"):
        assert text in result.stdout, text


def test_memory_without_a_hidden_layer_is_refused_in_one_line(tmp_path: Path) -> None:
    # a cue brain remembers by default; with no hidden layer there is nothing to remember
    write_pair(tmp_path, np.random.default_rng(0).random((40, 64), np.float32),
               np.full((40, 735), 0.5, np.float32))
    result = theanet(tmp_path, "--layers", "64,105", "--target", "cues")
    assert_one_line_error(result, "has none", "--memory-seconds 0")
    assert not (tmp_path / "theanet.py.net.pkl").exists()
