"""Event timing (onsets) and loudness in time (lag, spread, picture response) on signals whose
answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bitmap2pcm.core import grid
from bitmap2pcm.judge import loudness, metrics, onsets

W = grid.SAMPLES_PER_SLOT
FPS = grid.SLOTS_PER_SECOND
BURST = 1500  # samples: a click of decaying noise, 68 ms


def click_train(slots: int, at, offsets, seed: int = 0, hiss: float = 0.0) -> np.ndarray:
    """Sharp decaying noise bursts starting at sample `offsets[i]` of slot `at[i]`, in digital
    silence (or on white hiss of standard deviation `hiss`). Each burst's noise depends only
    on the seed and its index, so two trains sharing clicks share them sample for sample."""
    rng = np.random.default_rng(seed)
    y = rng.normal(0, hiss, slots * W) if hiss else np.zeros(slots * W)
    decay = np.exp(-np.arange(BURST) / 150)
    for index, (slot, offset) in enumerate(zip(at, offsets)):
        start = slot * W + offset
        length = min(BURST, y.size - start)
        burst = np.random.default_rng([seed, index]).normal(0, 0.5, BURST) * decay
        y[start: start + length] += burst[:length]
    return y


def jittered(count: int, seed: int, every: int = 15, jitter: int = 2, first: int = FPS):
    """Click slots about every `every` slots (0.5 s) with +-`jitter` slots of random jitter,
    from `first` on, and a random sample offset inside each slot."""
    rng = np.random.default_rng(seed)
    at = first + np.arange(count) * every + rng.integers(-jitter, jitter + 1, count)
    return at, rng.integers(0, W, count)


def steps(gains_db) -> np.ndarray:
    """A full-scale +-1 alternation scaled per slot: slot i's loudness is exactly gains_db[i]."""
    gains = np.repeat(10 ** (np.asarray(gains_db, dtype=np.float64) / 20), W)
    return gains * np.where(np.arange(gains.size) % 2, -1.0, 1.0)


# ---- finding onsets --------------------------------------------------------------------------

@pytest.mark.parametrize("hiss", [0.0, 0.01])
def test_each_click_of_a_jittered_train_is_one_onset_at_or_just_before_its_slot(hiss):
    at, offsets = jittered(18, seed=1)
    found = onsets.onset_slots(click_train(330, at, offsets, hiss=hiss))
    assert found.size == at.size
    # the STFT frame sees 512 samples ahead of its centre: never late, at most a slot early
    assert np.all((found - at >= -1) & (found - at <= 0))


def test_silence_steady_hiss_and_a_repeated_block_have_no_onsets():
    hiss = np.random.default_rng(2).normal(0, 0.01, 600 * W)  # -40 dBFS, 20 s
    block = np.random.default_rng(3).normal(0, 0.1, W)
    for signal in (np.zeros(300 * W), hiss, np.tile(block, 300)):
        assert onsets.onset_slots(signal).size == 0


def test_onset_strength_has_one_value_per_slot_even_for_a_partial_last_slot():
    y = click_train(10, [4], [0])
    strength = onsets.onset_strength_slots(y[: 9 * W + 50])  # 9 slots and 50 samples
    assert strength.shape == (10,)
    assert strength == pytest.approx(onsets.onset_strength_slots(y[: 9 * W])[:9].tolist() + [strength[9]])
    assert int(np.argmax(strength)) in (3, 4)


def test_a_plateau_is_one_peak_and_the_gap_keeps_the_stronger_neighbour():
    strength = np.zeros(100)
    strength[[20, 21]] = 10.0  # plateau: one onset, its first slot
    strength[[50, 52]] = [8.0, 9.0]  # two peaks 2 slots apart: only the stronger stays
    strength[80] = 0.5  # below ONSET_DELTA_DB
    assert onsets.pick_peaks(strength).tolist() == [20, 52]
    assert onsets.candidate_slots(strength).tolist() == [20, 52]


# ---- comparing onsets ------------------------------------------------------------------------

@pytest.mark.parametrize("k", [0, 1, 2, -2, 3, 4, 5, 7, -3, -6])
def test_a_click_train_rendered_k_slots_late_has_best_lag_k_and_f1_one_only_within_two(k):
    at, offsets = jittered(18, seed=4)
    truth = click_train(330, at, offsets)
    render = np.roll(truth, k * W)  # the same clicks, k slots late (early for k < 0)
    lag_s, r = loudness.best_lag_s(metrics.loudness_db(truth), metrics.loudness_db(render))
    assert lag_s == pytest.approx(k / FPS) and r == pytest.approx(1.0)
    scores = onsets.event_scores(truth, render, draws=50)
    expected = 1.0 if abs(k) <= onsets.TOLERANCE_SLOTS else 0.0
    assert (scores.precision, scores.recall, scores.f1, scores.ap) == (expected,) * 4
    assert scores.true_onsets == scores.rendered_onsets == 18


def test_best_lag_pairs_slots_within_each_segment():
    rng = np.random.default_rng(5)
    truths = [rng.normal(-30, 6, n) for n in (200, 150)]
    renders = [np.concatenate([rng.normal(-30, 6, 9), y[:-9]]) for y in truths]  # 9 slots late
    lag_s, r = loudness.best_lag_s(truths, renders)
    assert lag_s == pytest.approx(9 / FPS) and r == pytest.approx(1.0)
    assert loudness.best_lag_s(truths, renders, max_lag_s=8 / FPS)[1] < 0.5  # 9 is out of reach


def test_precision_and_recall_count_missed_and_added_clicks():
    at, offsets = jittered(20, seed=6)
    kept = np.ones(20, dtype=bool)
    kept[[2, 7, 11, 16]] = False  # the render misses 4 clicks
    added = at[[0, 5, 9]] + 7  # and adds 3, half-way between true ones
    render_at = np.concatenate([at[kept], added])
    render_offsets = np.concatenate([offsets[kept], np.full(3, 300)])
    truth = click_train(340, at, offsets)
    render = click_train(340, render_at, render_offsets, seed=9)
    scores = onsets.event_scores(truth, render, draws=50)
    assert scores.rendered_onsets == 19
    assert scores.precision == pytest.approx(16 / 19)
    assert scores.recall == pytest.approx(16 / 20)
    assert scores.f1 == pytest.approx(2 * (16 / 19) * (16 / 20) / (16 / 19 + 16 / 20))


def test_onset_match_is_one_to_one_greedy_by_distance_within_the_tolerance():
    assert onsets.onset_match([10, 20], [12, 23]) == (0.5, 0.5, 0.5)  # 2 away matches, 3 does not
    assert onsets.onset_match([10], [9, 11]) == (0.5, 1.0, pytest.approx(2 / 3))  # one true, one hit
    assert onsets.onset_match([10, 12], [11]) == (1.0, 0.5, pytest.approx(2 / 3))
    # greedy by distance pairs 10-11 and 13-12 (both 1 away), not 10-12 leaving 13 alone
    assert onsets.onset_match([10, 13], [11, 12], tolerance_slots=2) == (1.0, 1.0, 1.0)
    assert onsets.onset_match([10], []) == (0.0, 0.0, 0.0)
    assert all(math.isnan(v) for v in onsets.onset_match([], [5]))


def test_average_precision_is_one_for_a_perfect_render():
    at, offsets = jittered(18, seed=7)
    y = click_train(330, at, offsets, hiss=0.01)
    assert onsets.onset_average_precision(onsets.onset_slots(y), onsets.onset_strength_slots(y)) == 1.0


def test_average_precision_falls_when_false_onsets_outrank_true_ones_or_true_ones_are_missed():
    true = [10, 30, 50]
    strength = np.zeros(70)
    strength[true] = 5.0
    strength[[20, 40]] = 2.0  # false onsets, weaker: AP stays 1
    assert onsets.onset_average_precision(true, strength) == 1.0
    strength[[20, 40]] = 10.0  # now they come first: hits at ranks 3, 4, 5
    assert onsets.onset_average_precision(true, strength) == pytest.approx((1 / 3 + 2 / 4 + 3 / 5) / 3)
    strength[[20, 40]] = 0.0
    strength[50] = 0.0  # the third true onset is never retrieved
    assert onsets.onset_average_precision(true, strength) == pytest.approx(2 / 3)


def test_average_precision_matches_one_to_one():
    true = [10, 30]
    strength = np.zeros(50)
    strength[[8, 11, 30]] = [6.0, 5.5, 5.0]  # 8 and 11 are both within 2 of 10; only one hits it
    assert onsets.candidate_slots(strength).tolist() == [8, 11, 30]
    assert onsets.onset_average_precision(true, strength) == pytest.approx((1 + 2 / 3) / 2)


# ---- segments and chance ---------------------------------------------------------------------

def test_onsets_are_never_matched_across_a_segment_boundary():
    n = 90
    truth_a = click_train(n, [n - 1], [600])  # a click in the last slot of segment A
    render_b = click_train(n, [1], [0])  # and one at the start of B's second slot
    silent = np.zeros(n * W)
    found_a, found_b = onsets.onset_slots(truth_a), onsets.onset_slots(render_b)
    assert found_a.size == found_b.size == 1
    assert (n + found_b[0]) - found_a[0] <= onsets.TOLERANCE_SLOTS  # close, were they joined
    joined = onsets.event_scores(np.concatenate([truth_a, silent]), np.concatenate([silent, render_b]))
    assert joined.f1 == 1.0
    apart = onsets.event_scores([truth_a, silent], [silent, render_b])
    assert (apart.precision, apart.recall, apart.f1, apart.ap) == (0.0, 0.0, 0.0, 0.0)


def irregular_clicks(slots: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Click slots at random, at least 8 slots apart: a train with no period to alias."""
    rng = np.random.default_rng(seed)
    at = np.sort(rng.choice(np.arange(10, slots - 10, 8), count, replace=False)) + rng.integers(0, 4, count)
    return at, rng.integers(0, W, count)


def test_event_chance_levels_are_reproducible_and_an_unrelated_render_is_not_above_them():
    truth = [click_train(400, *irregular_clicks(400, 25, seed), seed=seed) for seed in (10, 11)]
    unrelated = [click_train(400, *irregular_clicks(400, 25, seed), seed=seed) for seed in (20, 21)]
    first = onsets.event_scores(truth, unrelated, draws=200, seed=3)
    again = onsets.event_scores(truth, unrelated, draws=200, seed=3)
    assert first == again
    other_seed = onsets.event_scores(truth, unrelated, draws=200, seed=4)
    assert other_seed.f1_chance != first.f1_chance or other_seed.ap_chance != first.ap_chance
    assert first.f1 <= first.f1_chance and first.ap <= first.ap_chance
    assert first.precision <= first.precision_chance and first.recall <= first.recall_chance
    perfect = onsets.event_scores(truth, truth, draws=200)
    assert perfect.f1 == 1.0 > perfect.f1_chance and perfect.ap == 1.0 > perfect.ap_chance


# ---- flatness and spread -----------------------------------------------------------------------

def test_constant_and_rounding_noise_renders_are_flat_and_get_no_r():
    block = np.random.default_rng(12).normal(0, 0.1, W)
    constant = np.tile(block, 200)
    rounded = np.round((constant + np.random.default_rng(13).normal(0, 1e-4, constant.size)) * 32767) / 32767
    tone = np.sin(2 * np.pi * 440 * np.arange(200 * W) / grid.RATE_HZ)  # partial periods per slot
    for render in (constant, rounded, tone, np.zeros(200 * W)):
        assert loudness.is_flat(render)
        level = metrics.loudness_db(render)
        assert all(math.isnan(v) for v in loudness.best_lag_s(level + 0.0, level))
    assert loudness.is_flat(steps(np.tile([-20.5, -19.5], 100)))  # std 0.5 dB
    assert not loudness.is_flat(steps(np.tile([-22.0, -18.0], 100)))  # std 2 dB


def test_flatness_is_measured_within_segments():
    # each segment is steady; only the clip's level differs: nothing within them to follow
    assert loudness.is_flat([steps(np.full(60, -30.0)), steps(np.full(60, -10.0))])
    assert not loudness.is_flat(np.concatenate([steps(np.full(60, -30.0)), steps(np.full(60, -10.0))]))


def test_loudness_spread_ratio_is_the_ratio_of_the_swings_in_db():
    gains_db = np.random.default_rng(14).uniform(-50, -10, 150)
    truth = steps(gains_db)
    assert loudness.loudness_spread_ratio(truth, 0.1 * truth) == pytest.approx(1.0)  # a gain is no swing
    assert loudness.loudness_spread_ratio(truth, steps(-30 + (gains_db + 30) / 2)) == pytest.approx(0.5)
    assert loudness.loudness_spread_ratio(truth, steps(np.full(150, -20.0))) == 0.0
    assert loudness.loudness_spread_db(metrics.loudness_db(truth)) == pytest.approx(np.std(gains_db))


# ---- response to the picture -------------------------------------------------------------------

def test_motion_energy_is_the_log_mean_absolute_difference_and_slot_0_copies_slot_1():
    frames = np.zeros((4, 2, 2), dtype=np.uint8)
    frames[1] = 255  # every pixel changes by 1 into slot 1 and back out of it in slot 2
    frames[3, 0, 0] = 255  # a quarter of the pixels in slot 3
    expected = np.log(np.array([1.0, 1.0, 1.0, 0.25]) + loudness.MOTION_EPS)
    assert loudness.motion_energy(frames) == pytest.approx(expected)
    assert loudness.motion_energy(frames.reshape(4, -1) / 255.0) == pytest.approx(expected)  # floats in [0, 1]
    # a clip starting at row 2 starts afresh: no difference across the start, row 2 copies row 3
    assert loudness.motion_energy(frames, clip_starts=[0, 2]) == pytest.approx(expected[[1, 1, 3, 3]])
    assert loudness.motion_energy(frames, clip_starts=[0, 3])[3] == pytest.approx(np.log(loudness.MOTION_EPS))
    assert loudness.brightness(frames) == pytest.approx([0.0, 1.0, 0.0, 0.25])


def picture(slots: int, seed: int) -> np.ndarray:
    """uint8 frames of random patterns, each slot changing by its own random amount, all
    about the same brightness: motion varies, brightness hardly follows it."""
    rng = np.random.default_rng(seed)
    amplitude = rng.uniform(0.05, 0.45, slots)[:, None]
    pattern = rng.choice([-1.0, 1.0], size=(slots, grid.PIXELS_PER_FRAME))
    return np.rint((0.5 + amplitude * pattern) * 255).astype(np.uint8)


def test_a_render_whose_loudness_is_the_motion_energy_responds_with_r_one():
    frames = picture(300, seed=15)
    level = 8.0 * loudness.motion_energy(frames) - 20.0
    response = loudness.picture_response(level, frames)
    assert not response.flat
    assert response.motion_r == pytest.approx(1.0) and response.motion_r > response.motion_chance
    assert abs(response.brightness_r) < 0.2 and response.brightness_r <= response.brightness_chance
    lit = loudness.picture_response(2000.0 * (loudness.brightness(frames) - 0.5) - 30.0, frames)
    assert lit.brightness_r == pytest.approx(1.0)


def test_an_unrelated_render_does_not_respond_and_a_flat_one_is_flat():
    frames = [picture(150, seed) for seed in (16, 17)]
    rng = np.random.default_rng(18)
    unrelated = [rng.normal(-30, 5, 150) for _ in frames]
    response = loudness.picture_response(unrelated, frames, draws=300, seed=1)
    assert response.motion_r <= response.motion_chance
    assert response.brightness_r <= response.brightness_chance
    assert response == loudness.picture_response(unrelated, frames, draws=300, seed=1)
    flat = loudness.picture_response([np.full(150, -30.0) + rng.normal(0, 1e-3, 150) for _ in frames], frames)
    assert flat.flat and math.isnan(flat.motion_r) and flat.text().startswith("flat")
    assert flat.as_dict()["motion_r"] is None


def test_the_motion_line_recovers_an_exact_affine_relation():
    motion = np.random.default_rng(19).normal(-3, 1, 100)
    slope, intercept = loudness.fit_motion_loudness(motion, 6.0 * motion - 12.0)
    assert (slope, intercept) == (pytest.approx(6.0), pytest.approx(-12.0))
    assert loudness.predict_motion_loudness([0.0, 1.0], slope, intercept) == pytest.approx([-12.0, -6.0])
    assert loudness.fit_motion_loudness(np.full(5, 2.0), [1.0, 2.0, 3.0, 4.0, 5.0]) == (0.0, 3.0)


def test_silence_is_counted_only_where_the_picture_moves():
    still = np.full((4, 64, 64), 100, dtype=np.uint8)
    moving = np.stack([np.roll(np.eye(64, dtype=np.uint8) * 255, k, axis=1) for k in range(4)])
    frames = np.concatenate([still, moving])  # slots 4-7 move (slot 4 by a jump from the still picture)
    quiet_while_still = np.array([-80.0] * 4 + [-30.0] * 4)
    assert loudness.silent_while_moving(quiet_while_still, frames) == 0.0
    silent_half = np.array([-30.0] * 4 + [-80.0, -70.0, -30.0, -20.0])
    assert loudness.silent_while_moving(silent_half, frames) == 0.5
    assert math.isnan(loudness.silent_while_moving(np.zeros(4), still))
    # A render silent everywhere is flat, and still says it is silent where things move.
    flat = loudness.picture_response(np.full(8, -80.0), frames)
    assert flat.flat and flat.silent_moving == 1.0
    # Clips are separate: the jump from one clip's last picture to the next clip's first is no motion.
    joined = loudness.picture_response([np.full(4, -80.0), np.full(4, -80.0)], [still, still])
    assert math.isnan(joined.silent_moving)
