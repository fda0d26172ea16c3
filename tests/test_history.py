"""History inputs: theanet.py --history K, the frame and K differences."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile
from conftest import run_script
from render_helpers import TONE_HZ, assert_render_refuses, brightness_video, pcm_blocks

from bitmap2pcm.core import grid
from bitmap2pcm.core.errors import UserError
from bitmap2pcm.data import frame, history
from bitmap2pcm.data.trainset import TrainingPairs
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.learn import pairs as learning_pairs
from bitmap2pcm.learn import run
from bitmap2pcm.learn import settings as run_settings
from bitmap2pcm.render import stream as render
from bitmap2pcm.sound import registry


def test_with_history_rows_on_a_tiny_array():
    frames = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.2, 0.4], [0.6, 0.4]], np.float32)
    got = history.with_history(frames, 2, clip_starts=[0, 3])
    u = lambda d: (np.asarray(d, np.float32) + 1) / 2  # noqa: E731  the (d + 1) / 2 mapping
    f = frames
    expected = np.array([
        np.concatenate([f[0], u(0 * f[0]), u(0 * f[0])]),            # clip start: no motion
        np.concatenate([f[1], u(f[1] - f[0]), u(0 * f[0])]),          # f_-1 repeats f_0
        np.concatenate([f[2], u(f[2] - f[1]), u(f[1] - f[0])]),
        np.concatenate([f[3], u(0 * f[3]), u(0 * f[3])]),             # a new clip at row 3
        np.concatenate([f[4], u(f[4] - f[3]), u(0 * f[3])]),
    ], np.float32)
    assert got.shape == (5, 6) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-7)
    assert got.min() >= 0.0 and got.max() <= 1.0
    assert history.with_history(frames, 0) is frames  # K = 0: the frames themselves


def test_streaming_across_batches_equals_the_whole_array():
    frames = np.random.default_rng(1).random((23, 7)).astype(np.float32)
    for k in (0, 1, 3):
        whole = history.with_history(frames, k)
        for cuts in ([23], [1, 22], [5, 1, 1, 9, 7], [2] * 11 + [1]):
            stream = history.HistoryStream(k)
            edges = np.cumsum([0] + cuts)
            parts = [stream.push(frames[a:b]) for a, b in zip(edges[:-1], edges[1:])]
            assert np.array_equal(np.concatenate(parts), whole), (k, cuts)


def test_clip_starts_include_clips_and_anchor_rows(tmp_path):
    frames = np.zeros((10, 4), np.float32)
    (tmp_path / "frames.pkl").write_bytes(pickle.dumps(frames))
    (tmp_path / "dataset.json").write_text(json.dumps({
        "slots": 10, "clips": [{"source": "a", "first_row": 0, "slots": 4},
                               {"source": "b", "first_row": 4, "slots": 4}]}))
    pairs = TrainingPairs(frames, np.zeros((10, 3), np.float32), str(tmp_path / "frames.pkl"),
                          str(tmp_path / "audio.pkl"))
    assert learning_pairs.clip_starts(pairs) == [0, 4, 8, 9]  # rows 8, 9: silence anchors, each alone


def test_presets_and_layers_follow_the_history(tmp_path, monkeypatch):
    pcm, stft = registry.named("pcm"), registry.named("stft")
    assert run_settings.preset_layers("shallow", pcm, history.History(2), 4096) == [12288, 1000, 735]
    assert run_settings.preset_layers("deeper", stft, history.History(1), 4096)[0] == 8192
    assert run_settings.preset_layers("shallow", pcm, frame.Frame(), 4096) == [4096, 1000, 735]
    monkeypatch.chdir(tmp_path)
    for name, array in (("frames.pkl", np.zeros((40, 4096), np.float32)),
                        ("audio.pkl", np.zeros((40, 735), np.float32))):
        (tmp_path / name).write_bytes(pickle.dumps(array))
    with pytest.raises(UserError, match="--history 1 .* must have 8192 units, not 4096"):
        run.run_training("frames.pkl", "audio.pkl", "x.pkl", [4096, 8, 735], {"history": 1})


def motion_pairs(n_rows: int = 480, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """frames.pkl / audio.pkl where only motion is heard: every frame is a flat gray level,
    and its slot's sound is a 400 Hz tone whose loudness follows the change of level since the
    previous frame, 0.1 + 0.3 (d + 1) / 2. The current frame alone says nothing about it."""
    levels = np.random.default_rng(seed).random(n_rows).astype(np.float32)
    frames = np.repeat(levels[:, None], grid.PIXELS_PER_FRAME, axis=1)
    change = np.diff(levels, prepend=levels[:1])
    t = np.arange(grid.SAMPLES_PER_SLOT) / grid.RATE_HZ
    pcm = (0.1 + 0.3 * (change[:, None] + 1) / 2) * np.sin(2 * np.pi * TONE_HZ * t[None, :])
    return np.ascontiguousarray(frames), grid.pcm_to_unit(pcm).astype(np.float32)


@pytest.fixture(scope="module")
def history_brain(tmp_path_factory) -> Path:
    """A 8192-16-735 brain trained by theanet.py --history 1 on the motion pairs."""
    folder = tmp_path_factory.mktemp("history-brain")
    frames, audio = motion_pairs()
    for name, array in (("frames.pkl", frames), ("audio.pkl", audio)):
        (folder / name).write_bytes(pickle.dumps(array))
    result = run_script("theanet.py", "--history", "1",
                        "--layers", f"{2 * grid.PIXELS_PER_FRAME},16,{grid.SAMPLES_PER_SLOT}",
                        "--epochs", "40", "--pretrain-epochs", "1", "--patience", "5", "--lr", "2.0",
                        "--batch", "16", "--save-every", "0", "-q", "-o", "history.pkl", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "history.pkl"


@pytest.mark.slow
def test_history_brain_hears_the_previous_frame(history_brain):
    network = brains.load(history_brain)
    assert network.layout.name == history.NAME and network.layout.k == 1
    assert network.layer_sizes[0] == 2 * grid.PIXELS_PER_FRAME
    assert network.training["history"] == 1
    # the same current frame (gray 0.5) after a black, a gray and a white frame
    loudness = []
    for previous in (0.0, 0.5, 1.0):
        frames = np.array([[previous], [0.5]], np.float32).repeat(grid.PIXELS_PER_FRAME, axis=1)
        inputs = history.with_history(frames, 1)
        pcm = grid.unit_to_pcm(brains.forward(network, inputs)[1])
        loudness.append(float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))))
    # brightening (from black) was loud in training, darkening (from white) quiet
    assert loudness[0] > loudness[1] > loudness[2], loudness
    assert loudness[0] > 1.3 * loudness[2], loudness


@pytest.mark.slow
def test_render_applies_the_history_from_the_brain(history_brain, tmp_path):
    network = render.load_brain(history_brain)
    seconds = 3.0
    clip = brightness_video(tmp_path / "swing.mp4", seconds=seconds)
    out = tmp_path / "out.wav"
    summary = render.render(clip, out, history_brain, mode="raw", batch_slots=7)
    sound, rate_hz = soundfile.read(out, dtype="float32")
    slots = grid.slots_in(seconds)
    assert summary.slots == slots and rate_hz == grid.RATE_HZ
    assert sound.size == slots * grid.SAMPLES_PER_SLOT
    # small batches give what the whole video at once gives: the history crosses batches
    frames = np.concatenate(list(render.frame_stream(network, clip)))
    np.testing.assert_allclose(sound.reshape(slots, -1), pcm_blocks(network, frames),
                               atol=1e-5)  # BLAS may sum a batch of 7 in another order


@pytest.mark.slow
def test_render_refuses_a_history_that_does_not_fit(history_brain, tmp_path):
    assert_render_refuses(history_brain, tmp_path, "input", {"history": 2}, "frame and 2 differences")
