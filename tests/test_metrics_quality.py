"""metrics against the true sound: every measure on signals whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bitmap2pcm.core import grid
from bitmap2pcm.judge import metrics

W = grid.SAMPLES_PER_SLOT
RATE = grid.RATE_HZ


def modulated_noise(slots: int, seed: int) -> np.ndarray:
    """Noise whose loudness jumps from slot to slot between -40 and -6 dBFS (never near the
    floor): an envelope with something to correlate."""
    rng = np.random.default_rng(seed)
    gains = np.repeat(10 ** (rng.uniform(-40, -6, slots) / 20), W)
    return gains * rng.normal(0, 1, slots * W)


def bursts(slots: int, count: int, seed: int) -> np.ndarray:
    """Sharp decaying noise bursts at random instants on a quiet hiss: clear onsets."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(0, 1e-3, slots * W)
    decay = np.exp(-np.arange(2000) / 300)
    for start in rng.integers(0, slots * W - 2000, count):
        signal[start: start + 2000] += 0.3 * rng.normal(0, 1, 2000) * decay
    return signal


# ---- identical, scaled and unrelated signals ---------------------------------------------

def test_identical_signals_score_r_one_and_distance_zero():
    x = modulated_noise(90, 0)
    envelope = metrics.loudness_db(x)
    assert metrics.within_correlation(envelope, envelope) == pytest.approx(1.0)
    assert metrics.pooled_correlation(envelope, envelope) == pytest.approx(1.0)
    assert metrics.log_spectral_distance(x, x) == 0.0
    assert metrics.level_difference_db(x, x) == 0.0
    lag, peak = metrics.onset_sync(x, x)
    assert lag == 0.0 and peak == pytest.approx(1.0)


def test_a_scaled_copy_keeps_r_one_and_shows_its_gain_in_level_and_distance():
    x = modulated_noise(90, 1)
    quieter = 0.5 * x  # -6.02 dB, everywhere above the floor
    gain_db = 20 * np.log10(0.5)
    r = metrics.within_correlation(metrics.loudness_db(quieter), metrics.loudness_db(x))
    assert r == pytest.approx(1.0)
    assert metrics.level_difference_db(quieter, x) == pytest.approx(gain_db)
    # Every band is above the floor in a 0 dBFS-ish copy, so the distance is the gain exactly.
    loud = 0.5 * np.random.default_rng(2).normal(0, 1, 60 * W)
    assert metrics.log_spectral_distance(0.5 * loud, loud) == pytest.approx(-gain_db, abs=1e-6)


def test_two_recordings_of_the_same_hiss_are_spectrally_close():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 0.1, 120 * W), rng.normal(0, 0.1, 120 * W)
    assert metrics.log_spectral_distance(a, b) < 3.0  # mel bands average the per-bin scatter
    assert metrics.log_spectral_distance(0.1 * a, b) == pytest.approx(20.0, abs=3.0)


def test_level_is_mean_power_in_dbfs_floored():
    t = np.arange(RATE) / RATE
    assert metrics.level_dbfs(np.sin(2 * np.pi * 441 * t)) == pytest.approx(-3.0103, abs=1e-3)
    assert metrics.level_dbfs(np.ones(100)) == 0.0
    assert metrics.level_dbfs(np.zeros(100)) == metrics.FLOOR_DB
    assert metrics.level_dbfs(np.zeros(0)) == metrics.FLOOR_DB
    assert metrics.loudness_db(np.zeros(2 * W)) == pytest.approx([metrics.FLOOR_DB] * 2)


def test_pearson_is_undefined_for_constant_series_even_with_rounding():
    assert math.isnan(metrics.pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    assert math.isnan(metrics.pearson([1.0], [2.0]))
    nearly = -23.0 + np.array([0.0, 1e-13, -1e-13, 0.0])  # one block repeated: last bits only
    assert math.isnan(metrics.pearson(nearly, [1.0, 2.0, 3.0, 4.0]))
    assert metrics.pearson([1, 2, 3, 4], [2, 4, 6, 8.5]) == pytest.approx(np.corrcoef([1, 2, 3, 4], [2, 4, 6, 8.5])[0, 1])
    assert metrics.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


# ---- correlation within clips, pooled, and chance levels -----------------------------------

def test_within_is_the_length_weighted_mean_of_segment_correlations():
    a = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0])]
    b = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 1.0])]  # r = 1 (4 slots), -1 (2 slots)
    assert metrics.within_correlation(a, b) == pytest.approx((4 - 2) / 6)
    constant = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([5.0, 5.0])]  # r undefined: left out
    assert metrics.within_correlation(a, constant) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        metrics.within_correlation(a, [b[0]])


def test_chance_level_of_unrelated_envelopes_is_the_textbook_value():
    rng = np.random.default_rng(4)
    n = 200
    x, y = rng.normal(size=n), rng.normal(size=n)
    level = metrics.chance_level(metrics.within_correlation, x, y)
    # 95th percentile of |r| for independent series of n points: about 1.96 / sqrt(n) = 0.14.
    assert level == pytest.approx(1.96 / np.sqrt(n), abs=0.04)
    short = metrics.chance_level(metrics.within_correlation, x[:10], y[:10])
    assert short > 0.4  # ten slots correlate by chance easily: the reason for chance levels
    assert math.isnan(metrics.chance_level(metrics.within_correlation, x[:1], y[:1]))


def test_a_model_that_only_knows_the_clip_scores_high_pooled_but_not_within():
    # Four clips with very different loudness; inside each, truth and render wander
    # independently: the render "knows which clip" and nothing about what happens in it.
    rng = np.random.default_rng(5)
    means = [-10.0, -20.0, -30.0, -40.0]
    truth = [m + rng.normal(0, 2, 100) for m in means]
    render = [m + rng.normal(0, 2, 100) for m in means]
    pooled = metrics.pooled_correlation(render, truth)
    within = metrics.within_correlation(render, truth)
    assert pooled > 0.9
    # The shifts keep each clip's mean, so the pooled chance level is as high as the value...
    assert pooled <= metrics.chance_level(metrics.pooled_correlation, render, truth) + 0.02
    # ...and inside the clips the render follows nothing.
    assert abs(within) < metrics.chance_level(metrics.within_correlation, render, truth)


def test_chance_level_is_reproducible():
    rng = np.random.default_rng(6)
    render = [rng.normal(size=50), rng.normal(size=70)]
    truth = [rng.normal(size=50), rng.normal(size=70)]
    first = metrics.chance_level(metrics.within_correlation, render, truth)
    assert first == metrics.chance_level(metrics.within_correlation, render, truth)


# ---- spectra -----------------------------------------------------------------------------

def test_mel_filterbank_rows_are_non_empty_weighted_means():
    bank = metrics.mel_filterbank()
    assert bank.shape == (metrics.MEL_BANDS, metrics.N_FFT // 2 + 1)
    assert bank.sum(axis=1) == pytest.approx(np.ones(metrics.MEL_BANDS))
    assert (bank > 0).sum(axis=1).min() >= 2
    centres = (bank * np.arange(bank.shape[1])).sum(axis=1)
    assert np.all(np.diff(centres) > 0)


def test_slot_spectra_read_a_full_scale_sine_as_one():
    bin_hz = RATE / metrics.N_FFT
    t = np.arange(10 * W) / RATE
    spectra = metrics.slot_spectra(np.sin(2 * np.pi * 100 * bin_hz * t))
    assert spectra.shape == (10, metrics.N_FFT // 2 + 1)
    assert spectra[1:-1, 100] == pytest.approx(1.0, rel=1e-6)  # ends see zero padding


def test_white_noise_bin_power_is_what_noise_reads():
    noise = np.random.default_rng(7).normal(0, 1, 400 * W)
    measured = metrics.slot_spectra(noise)[:, 5:-5].mean()
    assert measured == pytest.approx(metrics.white_noise_bin_power(), rel=0.02)


# ---- onsets ------------------------------------------------------------------------------

def test_a_100_ms_delayed_copy_has_onset_lag_100_ms():
    truth = bursts(150, 25, 8)
    delay = int(0.100 * RATE)
    late = np.concatenate([np.zeros(delay), truth[:-delay]])
    lag, peak = metrics.onset_sync(late, truth)
    assert lag == pytest.approx(100.0, abs=1000.0 / grid.SLOTS_PER_SECOND)
    assert peak > 0.9
    lag, _ = metrics.onset_sync(truth, late)
    assert lag == pytest.approx(-100.0, abs=1000.0 / grid.SLOTS_PER_SECOND)


def test_onset_sync_sums_over_segments_without_crossing_them():
    truth = bursts(120, 20, 9)
    delay = int(0.050 * RATE)
    late = np.concatenate([np.zeros(delay), truth[:-delay]])
    halves = [slice(0, 60 * W), slice(60 * W, 120 * W)]
    lag, peak = metrics.onset_sync([late[h] for h in halves], [truth[h] for h in halves])
    # 50 ms is 4.5 onset hops: the peak is split between two lags, hence lower than 1.
    assert lag == pytest.approx(50.0, abs=1000.0 / grid.SLOTS_PER_SECOND) and peak > 0.6
    assert all(math.isnan(v) for v in metrics.onset_sync(np.zeros(10 * W), truth[: 10 * W]))


def test_onset_strength_rises_at_a_burst():
    signal = np.zeros(30 * W)
    signal[15 * W:] = np.random.default_rng(10).normal(0, 0.3, 15 * W)
    strength = metrics.onset_strength(signal)
    assert strength.shape == (30 * W // metrics.ONSET_HOP,)
    onset_frame = 15 * W // metrics.ONSET_HOP
    assert abs(int(np.argmax(strength)) - onset_frame) <= 3


# ---- buzz --------------------------------------------------------------------------------

def test_a_30_hz_impulse_train_buzzes_and_white_noise_does_not():
    train = np.zeros(60 * W)
    train[::W] = 1.0  # one click per slot
    assert metrics.buzz_db(train) == pytest.approx(metrics.BUZZ_LIMIT_DB)
    noise = np.random.default_rng(11).normal(0, 0.1, 60 * W)
    assert abs(metrics.buzz_db(noise)) < 1.0
    # Clicks 20 dB below the noise still stand out at the slot rate.
    assert metrics.buzz_db(noise + 0.1 * train * np.sqrt(W)) > 6.0


def test_buzz_ignores_one_tone_on_a_multiple_of_30_hz():
    t = np.arange(60 * W) / RATE
    noise = np.random.default_rng(12).normal(0, 0.01, t.size)
    assert abs(metrics.buzz_db(noise + 0.5 * np.sin(2 * np.pi * 450 * t))) < 1.0


def test_buzz_needs_ten_slots_and_sound():
    assert math.isnan(metrics.buzz_db(np.ones(9 * W)))
    assert math.isnan(metrics.buzz_db(np.zeros(20 * W)))
    noise = np.random.default_rng(13).normal(0, 0.1, 40 * W)
    assert abs(metrics.buzz_db([noise[: 20 * W], noise[20 * W:], noise[:5]])) < 1.5
