"""The frequency representation: analysis, synthesis, and a magnitude
brain through theanet.py --target stft and render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import run_script
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
from bitmap2pcm.render import stream as render
from bitmap2pcm.sound import pcm, spectral

W = grid.SAMPLES_PER_SLOT
SLOTS = 90


def slot_rms(samples: np.ndarray) -> np.ndarray:
    return np.sqrt((np.asarray(samples, np.float64).reshape(-1, W) ** 2).mean(axis=1))


def swelling_tone(hz: float = 440.3, slots: int = SLOTS) -> np.ndarray:
    """A steady tone (not on a bin) whose loudness swells and fades 1.5 times a second."""
    t = np.arange(slots * W) / grid.RATE_HZ
    return (0.2 + 0.5 * (0.5 + 0.5 * np.sin(2 * np.pi * 1.5 * t))) * np.sin(2 * np.pi * hz * t)


def test_unit_scaling_is_invertible_and_within_0_1():
    magnitude = np.array([0.0, 1e-4, spectral.REFERENCE, 3.0, spectral.FULL_SCALE])
    unit = spectral.to_unit(magnitude)
    assert unit[0] == 0.0 and unit[-1] == pytest.approx(1.0) and np.all(np.diff(unit) > 0)
    assert np.allclose(spectral.from_unit(unit), magnitude, rtol=1e-5, atol=1e-8)
    assert np.array_equal(spectral.from_unit([-0.5, 1.5]), spectral.from_unit([0.0, 1.0]))
    # the loudest possible frame (full-scale DC) is exactly FULL_SCALE
    assert spectral.magnitudes(np.ones(3 * W))[1, 0] == pytest.approx(spectral.FULL_SCALE)


def test_true_magnitudes_give_back_loudness_and_pitch():
    tone = swelling_tone()
    spectra = spectral.magnitudes(tone)
    assert spectra.shape == (SLOTS, spectral.BINS)
    sound = spectral.synthesize(spectral.from_unit(spectral.to_unit(spectra)))
    assert sound.shape == (SLOTS * W,) and sound.dtype == np.float32
    assert np.corrcoef(slot_rms(tone), slot_rms(sound))[0, 1] > 0.95
    assert abs(20 * np.log10(slot_rms(sound).mean() / slot_rms(tone).mean())) < 1.0
    spectrum = np.abs(np.fft.rfft(sound))
    assert np.fft.rfftfreq(sound.size, 1 / grid.RATE_HZ)[spectrum.argmax()] == pytest.approx(440.3, abs=1)
    # the phase runs on across slots: no click at slot edges (a restart per slot gives > 2)
    assert metrics.click_ratio(sound) < 1.3


def test_griffin_lim_brings_the_spectra_closer():
    spectra = spectral.magnitudes(swelling_tone() + 0.05 * np.sin(2 * np.pi * 1234.5 *
                                                                     np.arange(SLOTS * W) / grid.RATE_HZ))

    def error(iterations: int) -> float:
        again = spectral.magnitudes(spectral.synthesize(spectra, griffin_lim=iterations))
        return float(np.sqrt(np.mean((again - spectra) ** 2) / np.mean(spectra ** 2)))

    assert error(8) < error(0) < 0.1


def test_streaming_synthesis_matches_the_whole_and_clamps():
    spectra = spectral.magnitudes(swelling_tone())
    synthesizer = spectral.Synthesizer()
    runs = [synthesizer.push(spectra[i:i + 7]) for i in range(0, SLOTS, 7)] + [synthesizer.finish()]
    streamed = np.concatenate(runs)
    assert streamed.size == SLOTS * W
    assert np.allclose(streamed, spectral.synthesize(spectra), atol=1e-5)
    loud = spectral.synthesize(np.full((4, spectral.BINS), spectral.FULL_SCALE))
    assert loud.size == 4 * W and np.abs(loud).max() <= 1.0


def test_targets_are_analysed_clip_by_clip():
    rows = grid.pcm_to_unit(swelling_tone(slots=20).reshape(20, W)).astype(np.float32)
    rows[10:] = 0.5  # the second clip is silent
    whole = spectral.unit_targets(rows, [])
    split = spectral.unit_targets(rows, [(0, 10), (10, 20)])
    assert whole.shape == split.shape == (20, spectral.BINS)
    assert whole[10].max() > 0.1 and split[10].max() == 0.0  # no leak from the first clip


def test_presets_and_layers_follow_the_target():
    frame_layout = frame.Frame()
    assert (run_settings.preset_layers("deeper", spectral.REPRESENTATION, frame_layout, 4096)
            == [4096, 1000, 1000, 1000, spectral.BINS])
    assert (run_settings.preset_layers("deeper", pcm.REPRESENTATION, frame_layout, 4096)
            == run_settings.PRESETS["deeper"])
    assert run_settings.settings_for(None, {"target": "stft"}, None, None).layer_sizes[-1] == spectral.BINS
    with pytest.raises(UserError, match="513 units, not 735"):
        run.run_training("frames.pkl", "audio.pkl", "x.pkl", [4096, 8, 735], {"target": "stft"})


@pytest.fixture(scope="module")
def stft_brain(tmp_path_factory) -> Path:
    """A 4096-16-513 magnitude brain trained by theanet.py --target stft on the brightness
    pairs (a 400 Hz tone whose loudness follows the picture's brightness)."""
    folder = tmp_path_factory.mktemp("stft-brain")
    trained = train_target_brain(folder, "stft", spectral.BINS)
    result = run_script("theanet.py", "--target", "stft", "--preset", "shallow", "--layers",
                        f"{grid.PIXELS_PER_FRAME},16,{spectral.BINS}", cwd=folder)
    assert result.returncode == 2 and "not allowed with" in result.stderr  # one shape option
    return trained


@pytest.mark.slow
def test_stft_brain_records_its_output_and_renders(stft_brain, tmp_path):
    network = brains.load(stft_brain)
    assert network.output["kind"] == spectral.KIND
    recorded = dict(network.output)
    gain_db = recorded.pop("level_gain_db")
    assert recorded == spectral.REPRESENTATION.convention()
    assert np.isfinite(gain_db) and gain_db != 0.0  # measured, not a placeholder
    assert network.layer_sizes[-1] == spectral.BINS != W  # the option really changed the net
    assert network.representation is spectral.REPRESENTATION
    sound = render_brightness_both_modes(stft_brain, tmp_path)
    assert metrics.click_ratio(sound) < 1.3


def test_level_gain_matches_total_power():
    rng = np.random.default_rng(0)
    target = rng.rayleigh(1.0, (40, spectral.BINS))
    assert spectral.level_gain_db(0.5 * target, target) == pytest.approx(20 * np.log10(2), abs=1e-9)
    assert spectral.level_gain_db(target, target) == pytest.approx(0.0, abs=1e-9)
    assert spectral.level_gain_db(np.zeros_like(target), target) == 0.0  # nothing to scale
    assert spectral.level_gain_db(target, np.zeros_like(target)) == 0.0


@pytest.mark.slow
def test_render_applies_the_recorded_level_gain(stft_brain):
    network = render.load_brain(stft_brain)
    frames = np.random.default_rng(1).integers(0, 256, (8, grid.PIXELS_PER_FRAME), dtype=np.uint8)
    outputs = brains.forward(network, render.whole_rows(network, frames))
    calibrated = spectral.calibrated(spectral.from_unit(outputs), network.output)
    uncalibrated = spectral.calibrated(spectral.from_unit(outputs), dict(network.output, level_gain_db=0.0))
    gain = 10 ** (network.output["level_gain_db"] / 20)
    assert np.allclose(calibrated, uncalibrated * gain, rtol=1e-6)


@pytest.mark.slow
def test_render_refuses_spectra_it_cannot_synthesize(stft_brain, tmp_path):
    assert_render_refuses(stft_brain, tmp_path, "output", {"n_fft": 2048}, "n_fft 2048")


@pytest.mark.slow
def test_evaluate_scores_a_spectral_brain_once_whatever_the_modes(stft_brain, tmp_path):
    brain_rows = scored_brain_rows(stft_brain, tmp_path)
    assert [row.model for row in brain_rows] == [f"stft ({spectral.KIND})"]
    assert brain_rows[0].mode is None
