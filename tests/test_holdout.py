"""theanet.py --holdout-tail: the last part of every clip is never trained on, and the brain
records which slots those are (in each clip's own numbering) for evaluate.py."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from conftest import run_script

from bitmap2pcm.core.errors import UserError
from bitmap2pcm.core.files import load_pickle
from bitmap2pcm.data.trainset import TrainingPairs, hold_out_tails


def write_pairs(folder, rows=100, clips=((0, 60), (60, 30)), silence=10):
    rng = np.random.default_rng(0)
    with open(folder / "frames.pkl", "wb") as stream:
        pickle.dump(rng.random((rows, 16), dtype=np.float32), stream)
    with open(folder / "audio.pkl", "wb") as stream:
        pickle.dump(rng.random((rows, 8), dtype=np.float32), stream)
    sidecar = {"slots": rows, "video_slots": rows - silence,
               "clips": [{"source": f"/videos/clip{i}.mkv", "first_row": first, "slots": slots}
                         for i, (first, slots) in enumerate(clips)]}
    (folder / "dataset.json").write_text(json.dumps(sidecar))
    return TrainingPairs(load_pickle(folder / "frames.pkl"), load_pickle(folder / "audio.pkl"),
                         str(folder / "frames.pkl"), str(folder / "audio.pkl"))


def test_tails_of_every_clip_are_held_out_and_anchors_kept(tmp_path):
    pairs = write_pairs(tmp_path)
    usable, record = hold_out_tails(pairs, 0.2)
    held = sorted(set(range(100)) - set(usable.tolist()))
    assert held == list(range(48, 60)) + list(range(84, 90))
    assert record == {"fraction": 0.2, "clips": [
        {"source": "/videos/clip0.mkv", "from_slot": 48, "to_slot": 60},
        {"source": "/videos/clip1.mkv", "from_slot": 24, "to_slot": 30}]}
    assert set(range(90, 100)) <= set(usable.tolist())  # silence anchors are training data


def test_without_a_matching_sidecar_all_rows_are_one_clip(tmp_path):
    pairs = write_pairs(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps({"slots": 5, "clips": []}))
    usable, record = hold_out_tails(pairs, 0.1)
    assert usable.tolist() == list(range(90))
    assert record["clips"] == [{"source": None, "from_slot": 90, "to_slot": 100}]


def test_fraction_must_leave_something(tmp_path):
    with pytest.raises(UserError):
        hold_out_tails(write_pairs(tmp_path), 1.0)


@pytest.mark.slow
def test_brain_records_the_holdout_and_absolute_data_paths(tmp_path):
    write_pairs(tmp_path)
    result = run_script("theanet.py", "--layers", "16,4,8", "--epochs", "2", "--pretrain-epochs", "1",
                        "--holdout-tail", "0.2", "--save-every", "0", "-q", "-o", "b.pkl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    training = load_pickle(tmp_path / "b.pkl")["training"]
    assert training["holdout"]["clips"][1] == {"source": "/videos/clip1.mkv", "from_slot": 24, "to_slot": 30}
    frames = training["frames"]
    assert frames["held_out"] == 18
    assert frames["train"] + frames["validation"] <= 82
    assert training["data"]["frames"] == str(tmp_path / "frames.pkl")
    assert training["data"]["sidecar"] == str(tmp_path / "dataset.json")


@pytest.mark.slow
def test_fraction_out_of_range_is_a_usage_error(tmp_path):
    result = run_script("theanet.py", "--holdout-tail", "1.5", cwd=tmp_path)
    assert result.returncode == 2 and "below 1" in result.stderr


@pytest.mark.slow
def test_brain_records_how_its_frames_were_shrunk(tmp_path):
    """Render must shrink new videos as pickler shrank the training ones (dataset.json)."""
    write_pairs(tmp_path)
    sidecar = json.loads((tmp_path / "dataset.json").read_text())
    sidecar.update(picture={"interpolation": "opencv-bilinear"}, silence_seconds=2)
    (tmp_path / "dataset.json").write_text(json.dumps(sidecar))
    result = run_script("theanet.py", "--layers", "16,4,8", "--epochs", "1", "--pretrain-epochs", "0",
                        "--save-every", "0", "-q", "-o", "b.pkl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    saved = load_pickle(tmp_path / "b.pkl")
    assert saved["input"]["interpolation"] == "opencv-bilinear"
    assert saved["training"]["silence_seconds"] == 2
