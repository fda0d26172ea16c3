"""Overlap-add PCM targets: framing, exact reconstruction, no clicks, and
an overlap-add brain through theanet.py --target ola and render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from render_helpers import (
    assert_render_refuses,
    render_brightness_both_modes,
    scored_brain_rows,
    train_target_brain,
)

from bitmap2pcm.core import grid
from bitmap2pcm.core.errors import UserError
from bitmap2pcm.data import frame
from bitmap2pcm.judge import metrics
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.learn import run
from bitmap2pcm.learn import settings as run_settings
from bitmap2pcm.sound import framing, join, overlap

W = grid.SAMPLES_PER_SLOT
SLOTS = 90


def chirp_and_noise(slots: int = SLOTS, seed: int = 0) -> np.ndarray:
    """A chirp from 100 Hz to 3 kHz under a swelling level, plus white noise, in [-1, 1]."""
    t = np.arange(slots * W) / grid.RATE_HZ
    seconds = slots / grid.SLOTS_PER_SECOND
    phase = 2 * np.pi * (100 * t + (3000 - 100) / (2 * seconds) * t ** 2)
    level = 0.3 + 0.2 * np.sin(2 * np.pi * 1.5 * t)
    noise = 0.03 * np.random.default_rng(seed).standard_normal(t.size)
    return np.clip(level * np.sin(phase) + noise, -1, 1)


def test_windows_sum_to_one_and_frames_are_centred():
    assert overlap.FRAME == 2 * W and overlap.LEAD == 367 and overlap.FRAME - W - overlap.LEAD == 368
    product = overlap.WINDOW * overlap.WINDOW
    assert np.allclose(product[:W] + product[W:], 1.0, atol=1e-12)
    assert overlap.WINDOW[0] == 0.0 and overlap.WINDOW.max() == pytest.approx(1.0)
    # frame t holds slot t at positions [LEAD, LEAD + W)
    ramp = np.arange(4 * W, dtype=np.float64)
    frames = framing.frames_of(ramp, overlap.FRAME, overlap.LEAD, overlap.HOP)
    assert frames.shape == (4, overlap.FRAME)
    assert np.array_equal(frames[2, overlap.LEAD:overlap.LEAD + W], ramp[2 * W:3 * W])
    assert np.all(frames[0, :overlap.LEAD] == 0) and np.all(frames[3, overlap.LEAD + W:] == 0)


def test_analysis_then_synthesis_gives_back_the_sound_exactly():
    sound = chirp_and_noise()
    frames = overlap.analyse(sound)
    assert frames.shape == (SLOTS, overlap.FRAME) and np.abs(frames).max() <= 1.0
    back = overlap.synthesize(frames)
    assert back.shape == (SLOTS * W,) and back.dtype == np.float32
    assert np.abs(back - sound).max() < 1e-5
    # through the [0, 1] training scale and back (float32 targets), still exact to float32
    targets = overlap.unit_targets(grid.pcm_to_unit(sound.reshape(SLOTS, W)).astype(np.float32), [])
    assert targets.dtype == np.float32 and targets.min() >= 0 and targets.max() <= 1
    assert np.abs(overlap.synthesize(overlap.from_unit(targets)) - sound).max() < 1e-5


def test_streaming_synthesis_matches_the_whole_and_clamps():
    frames = overlap.analyse(chirp_and_noise())
    synthesizer = overlap.Synthesizer()
    runs = [synthesizer.push(frames[i:i + 7]) for i in range(0, SLOTS, 7)] + [synthesizer.finish()]
    streamed = np.concatenate(runs)
    assert streamed.size == SLOTS * W
    assert np.array_equal(streamed, overlap.synthesize(frames))
    assert overlap.synthesize(frames[:1]).size == W
    loud = overlap.synthesize(np.ones((4, overlap.FRAME)))
    assert loud.size == 4 * W and np.abs(loud).max() <= 1.0
    assert overlap.Synthesizer().finish().size == 0


def test_targets_are_framed_clip_by_clip():
    rows = grid.pcm_to_unit(chirp_and_noise(slots=20).reshape(20, W)).astype(np.float32)
    rows[10:] = 0.5  # the second clip is silent
    whole = overlap.unit_targets(rows, [])
    split = overlap.unit_targets(rows, [(0, 10), (10, 20)])
    assert whole.shape == split.shape == (20, overlap.FRAME)
    assert np.abs(whole[10] - 0.5).max() > 0.01 and np.all(split[10] == 0.5)  # no leak
    assert framing.clip_runs(20, [(3, 8)]) == [(3, 8), (0, 3), (8, 20)]


def test_imperfect_predictions_do_not_click():
    """Every frame (and every raw block) gets its own random gain and offset error, of the same
    size: the raw join jumps at every slot edge, the overlap-add fades from frame to frame."""
    sound = chirp_and_noise()
    rng = np.random.default_rng(1)
    gain, offset = 1 + 0.3 * rng.standard_normal((2, SLOTS, 1)), 0.2 * rng.standard_normal((2, SLOTS, 1))
    blocks = np.clip(sound.reshape(SLOTS, W) * gain[0] + offset[0], -1, 1)
    frames = np.clip(overlap.analyse(sound) * gain[1] + offset[1], -1, 1)
    raw = join.join_all(blocks, "raw")
    ola = overlap.synthesize(frames)
    assert metrics.click_ratio(raw) > 3.0
    assert metrics.click_ratio(ola) <= 1.3
    # nor at the frames' own edges (mid-slot): shift them onto the slot grid and look again
    frame_starts = W - overlap.LEAD  # frame t starts at t * W - LEAD
    assert metrics.click_ratio(ola[frame_starts:frame_starts + (SLOTS - 2) * W]) <= 1.3


def test_presets_and_layers_follow_the_target():
    assert (run_settings.preset_layers("deeper", overlap.REPRESENTATION, frame.Frame(), 4096)
            == [4096, 1000, 1000, 1000, overlap.FRAME])
    assert run_settings.settings_for(None, {"target": "ola"}, None, None).layer_sizes[-1] == overlap.FRAME
    with pytest.raises(UserError, match="1470 units, not 735"):
        run.run_training("frames.pkl", "audio.pkl", "x.pkl", [4096, 8, 735], {"target": "ola"})


@pytest.fixture(scope="module")
def ola_brain(tmp_path_factory) -> Path:
    """A 4096-16-1470 overlap-add brain (theanet.py --target ola, tiny)."""
    return train_target_brain(tmp_path_factory.mktemp("ola-brain"), "ola", overlap.FRAME)


@pytest.mark.slow
def test_ola_brain_records_its_output_and_renders(ola_brain, tmp_path):
    network = brains.load(ola_brain)
    assert network.output == overlap.REPRESENTATION.convention()
    assert network.layer_sizes[-1] == overlap.FRAME  # the option really changed the net
    assert network.representation is overlap.REPRESENTATION
    render_brightness_both_modes(ola_brain, tmp_path)
    # (no click check here: the brightness pairs are independent rows whose tones restart at
    # random phases, so the true sound clicks at every slot edge, and a brain that learns it
    # does too; test_imperfect_predictions_do_not_click is the check of the synthesis)


@pytest.mark.slow
def test_render_refuses_frames_it_cannot_overlap_add(ola_brain, tmp_path):
    assert_render_refuses(ola_brain, tmp_path, "output", {"hop": 512}, "hop 512")


@pytest.mark.slow
def test_evaluate_scores_an_ola_brain_once_whatever_the_modes(ola_brain, tmp_path):
    brain_rows = scored_brain_rows(ola_brain, tmp_path)
    assert [row.model for row in brain_rows] == [f"ola ({overlap.KIND})"]
    assert brain_rows[0].mode is None
