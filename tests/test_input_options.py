"""The author's last two input suggestions: colour frames (pickler.py --color) and eigen-frames
(theanet.py --eigen-frames K), from pickling through training to render."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, ffmpeg, run_script

from bitmap2pcm.core import grid
from bitmap2pcm.core.files import load_pickle, save_pickle
from bitmap2pcm.data import eigen, frame
from bitmap2pcm.data.trainset import TrainingPairs, load_pairs, split_rows
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.learn import pairs as learning_pairs
from bitmap2pcm.learn import run
from bitmap2pcm.learn import settings as run_settings
from bitmap2pcm.media import audio, video
from bitmap2pcm.render import stream
from bitmap2pcm.sound import pcm

PIXELS = grid.PIXELS_PER_FRAME
SECONDS = 2


def colour_video(path: Path, size: str = "128x96") -> Path:
    """Lossless planar-RGB video: R 200 on the left half, 10 on the right; G 100 on the top
    half, 50 below; B 30 + 2 per slot (30 fps), everywhere; a tone for the sound."""
    ffmpeg("-f", "lavfi", "-i", f"nullsrc=s={size}:r=30:d={SECONDS},format=gbrp,"
           "geq=r='if(lt(X,W/2),200,10)':g='if(lt(Y,H/2),100,50)':b='30+T*60'",
           "-f", "lavfi", "-i", f"sine=f=440:sample_rate=44100:duration={SECONDS}",
           "-c:v", "ffv1", "-pix_fmt", "gbrp", "-c:a", "flac", "-t", str(SECONDS), str(path))
    return path


def planes(frames: np.ndarray) -> np.ndarray:
    """Rows of 3 * 4096 values in [0, 1] as uint8 levels (slots, R/G/B, row, column)."""
    return np.round(np.asarray(frames) * 255).astype(int).reshape(-1, 3, grid.FRAME_SIDE, grid.FRAME_SIDE)


# away from the edges between the halves, where every interpolation blends the two
INSIDE = np.r_[0:29, 35:64]


@pytest.mark.parametrize("interpolation", ["area", "bicubic", "opencv-bilinear"])
@pytest.mark.slow
def test_colour_pickling_stores_the_three_planes(tmp_path, interpolation):
    clip = colour_video(tmp_path / "colour.mkv")
    result = run_script("pickler.py", str(clip), "--color", "--interpolation", interpolation,
                        "-o", str(tmp_path), "-q")
    assert result.returncode == 0, result.stderr
    frames = load_pickle(tmp_path / "frames.pkl")
    assert frames.dtype == np.float32 and frames.shape == (SECONDS * 30, 3 * PIXELS)
    levels = planes(frames)
    first, second = INSIDE[INSIDE < 32], INSIDE[INSIDE >= 32]  # halves, left/top and right/bottom
    assert np.all(levels[:, 0][:, INSIDE][:, :, first] == 200) and np.all(levels[:, 0][:, INSIDE][:, :, second] == 10)
    assert np.all(levels[:, 1][:, first][:, :, INSIDE] == 100) and np.all(levels[:, 1][:, second][:, :, INSIDE] == 50)
    np.testing.assert_array_equal(levels[:, 2, 10, 10], 30 + 2 * np.arange(len(frames)))
    picture = json.loads((tmp_path / "dataset.json").read_text())["picture"]
    assert picture["color"] == video.RGB and picture["interpolation"] == interpolation


@pytest.mark.slow
def test_a_colour_brain_trains_on_the_preset_and_renders(tmp_path):
    clip = colour_video(tmp_path / "colour.mkv")
    assert run_script("pickler.py", str(clip), "--color", "-o", str(tmp_path), "-q").returncode == 0
    assert run.run_training(str(tmp_path / "frames.pkl"), str(tmp_path / "audio.pkl"),
                            str(tmp_path / "colour.pkl"), None,
                            {"epochs": 1, "pretrain_epochs": 1, "batch": 16}, quiet=True,
                            faithful=True) == 0
    network = stream.load_brain(tmp_path / "colour.pkl")  # render refuses nothing
    assert network.layer_sizes == [3 * PIXELS, 1000, grid.SAMPLES_PER_SLOT]  # the preset follows
    assert network.input["color"] == video.RGB
    summary = stream.render(clip, tmp_path / "out.wav", tmp_path / "colour.pkl", "raw", batch_slots=7)
    samples, rate = audio.read_wav(tmp_path / "out.wav")
    frames = np.concatenate(list(stream.frame_stream(network, clip)))
    assert frames.shape == (SECONDS * 30, 3 * PIXELS) and rate == grid.RATE_HZ
    assert summary.slots == len(frames) and samples.size == len(frames) * grid.SAMPLES_PER_SLOT
    blocks = pcm.blocks_of(brains.forward(network, stream.whole_rows(network, frames)))
    np.testing.assert_allclose(samples, blocks.reshape(-1), atol=1e-6)
    # the brain sees what training saw: render's frames are the pickled ones
    np.testing.assert_array_equal(video.frames_to_unit(frames), load_pickle(tmp_path / "frames.pkl"))


def test_the_fit_reconstructs_a_low_rank_set_exactly():
    rng = np.random.default_rng(2)
    rank = 6
    frames = (0.5 + 0.08 * rng.standard_normal((300, rank)) @ rng.standard_normal((rank, 256)) / 4)
    frames = np.clip(frames, 0, 1).astype(np.float32)
    assert np.linalg.matrix_rank(frames - frames.mean(axis=0), tol=1e-4) == rank  # nothing clipped
    fit = eigen.fit(frames, rank, np.arange(len(frames)), np.random.default_rng(0))
    coefficients = eigen.coefficients(frames, fit)
    np.testing.assert_allclose(fit.mean + coefficients @ fit.components, frames, atol=1e-5)
    np.testing.assert_allclose(fit.components @ fit.components.T, np.eye(rank), atol=1e-5)
    inputs = eigen.project(frames, fit)
    assert inputs.min() >= 0 and inputs.max() <= 1
    # standardised: each coefficient spreads over 1/(2 * 3) of [0, 1] around 1/2
    np.testing.assert_allclose(np.std(coefficients * fit.scale, axis=0), 1 / (2 * eigen.CLIP_SIGMAS), rtol=1e-3)
    wider = eigen.fit(frames, rank + 3, np.arange(len(frames)), np.random.default_rng(0))
    assert np.all(wider.components[rank:] == 0) and np.all(eigen.project(frames, wider)[:, rank:] == 0.5)


def synthetic_pairs(folder: Path, slots: int = 400) -> tuple[np.ndarray, TrainingPairs]:
    """uint8 frames of a bright square wandering over noise, as frames.pkl + audio.pkl of two
    clips (sidecar), and the pairs loaded from them."""
    rng = np.random.default_rng(3)
    pictures = rng.integers(0, 60, (slots, grid.FRAME_SIDE, grid.FRAME_SIDE)).astype(np.uint8)
    for t, x in enumerate(rng.integers(0, 56, slots)):
        pictures[t, 20:28, x:x + 8] = 250
    pixels = pictures.reshape(slots, PIXELS)
    save_pickle(video.frames_to_unit(pixels), folder / "frames.pkl")
    save_pickle(rng.uniform(0.4, 0.6, (slots, grid.SAMPLES_PER_SLOT)).astype(np.float32), folder / "audio.pkl")
    clips = [{"source": "a.mkv", "first_row": 0, "slots": slots // 2},
             {"source": "b.mkv", "first_row": slots // 2, "slots": slots - slots // 2}]
    (folder / "dataset.json").write_text(json.dumps({"slots": slots, "clips": clips}))
    return pixels, load_pairs(folder / "frames.pkl", folder / "audio.pkl")


def test_training_rows_equal_the_rows_render_builds(tmp_path):
    pixels, pairs = synthetic_pairs(tmp_path)
    settings = run_settings.Settings(layer_sizes=[24, 8, 735], target="pcm", inputs="frame",
                                     eigen_frames=24, holdout_tail=0.25)
    layout = learning_pairs.run_layout(pairs, settings, None)
    trained = learning_pairs.input_pairs(pairs, layout)
    assert trained.frames.shape == (len(pixels), settings.layer_sizes[0])
    network = brains.make_brain([np.zeros((settings.layer_sizes[0], 735), np.float32)],
                                [np.zeros(735, np.float32)], ["linear"], {},
                                input_record=layout.convention(brains.picture_convention()))
    brains.save(network, tmp_path / "eigen.pkl")
    network = stream.load_brain(tmp_path / "eigen.pkl")  # the arrays come through the safe unpickler
    first_clip = pixels[: len(pixels) // 2]  # render sees one video: the first clip
    rendered = np.concatenate(list(stream.input_rows(network, np.array_split(first_clip, 9))))
    np.testing.assert_allclose(rendered, trained.frames[: len(first_clip)], atol=1e-6)


def test_the_fit_never_sees_held_out_or_validation_rows(tmp_path):
    pixels, pairs = synthetic_pairs(tmp_path)
    settings = run_settings.Settings(layer_sizes=[16, 8, 735], target="pcm", inputs="frame",
                                     eigen_frames=16, holdout_tail=0.25)
    train, validation, _ = split_rows(pairs, settings.holdout_tail)
    changed = pairs.frames.copy()
    unseen = np.setdiff1d(np.arange(len(pairs)), train)
    assert len(validation) and len(unseen) > len(validation)  # tails and validation both
    changed[unseen] = np.random.default_rng(9).random((len(unseen), PIXELS), dtype=np.float32)
    other = TrainingPairs(changed, pairs.audio, pairs.frames_path, pairs.audio_path)
    fits = [learning_pairs.run_layout(data, settings, None).fit for data in (pairs, other)]
    for a, b in zip(*fits):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_an_eigen_brain_trains_resumes_and_records_its_fit(tmp_path):
    _, pairs = synthetic_pairs(tmp_path)
    options = {"eigen_frames": 12, "epochs": 2, "pretrain_epochs": 0, "batch": 32, "save_every": 1,
               "keep_every": 1}
    paths = (str(tmp_path / "frames.pkl"), str(tmp_path / "audio.pkl"))
    assert run.run_training(*paths, str(tmp_path / "whole.pkl"), None, options, quiet=True) == 0
    whole = stream.load_brain(tmp_path / "whole.pkl")
    assert whole.layer_sizes[0] == 12 and whole.training["settings"]["eigen_frames"] == 12
    fit = whole.layout.fit
    assert fit.components.shape == (12, PIXELS)
    assert run.run_training(*paths, str(tmp_path / "resumed.pkl"), None, {"epochs": 2},
                            resume=str(tmp_path / "brain-0001.pkl"), quiet=True) == 0
    resumed = brains.load(tmp_path / "resumed.pkl")
    for a, b in zip(whole.weights, resumed.weights):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(resumed.layout.fit.components, fit.components)


def test_old_brains_see_gray_pixels_as_before():
    network = stream.load_brain(stream.resolve_brain("shallow"))
    assert network.layout.name == frame.NAME and video.channels_of(network.input) == 1
    frames = np.random.default_rng(4).integers(0, 256, (5, PIXELS), dtype=np.uint8)
    np.testing.assert_array_equal(stream.whole_rows(network, frames), video.frames_to_unit(frames))


@pytest.mark.parametrize("args, fragments", [
    (["--eigen-frames", "0"], ["--eigen-frames must be 1 or more"]),
    (["--eigen-frames", "65"], ["--eigen-frames 65", "at most 64 principal components"]),
    (["--eigen-frames", "4", "--history", "1"], ["--eigen-frames replaces the frame's pixels"]),
    (["--eigen-frames", "4", "--layers", "64,8,6"], ["input layer must have 4 units, not 64"]),
])
@pytest.mark.slow
def test_bad_eigen_frames_get_one_line(tmp_path, args, fragments):
    rng = np.random.default_rng(0)
    save_pickle(rng.uniform(0, 1, (60, 64)).astype(np.float32), tmp_path / "frames.pkl")
    save_pickle(np.full((60, 6), 0.5, np.float32), tmp_path / "audio.pkl")
    layers = [] if "--layers" in args else ["--layers", "4,8,6"]
    result = run_script("theanet.py", *layers, *args, "--epochs", "1", cwd=tmp_path)
    assert_one_line_error(result, 1, *fragments)
    assert not (tmp_path / "theanet.py.net.pkl").exists()
