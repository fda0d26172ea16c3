"""Measures of a rendered sound track on the slot grid: pure functions over PCM arrays.

Every function takes `samples`, a 1-D array of PCM in [-1, 1] at `grid.RATE_HZ`, where slot i
is `samples[735*i : 735*(i+1)]` (the grid contract, README, File formats). Nothing here reads files or
keeps state, so tests, benchmarks and later reports all measure the same way.

Slot edges are where one predicted block meets the next; they are where the original render's
defects live (a jump at every edge is a click 30 times a second: the 30 Hz buzz). An "inner
edge" is the first sample of every slot but the first.
"""

from __future__ import annotations

import numpy as np

from ..core import grid
from ..sound.bands import (  # noqa: F401  (the measures below are defined on these; callers reach them here)
    FLOOR_DB,
    MEL_BANDS,
    N_FFT,
    ONSET_HOP,
    _band_db,
    _slot_centres,
    _stft_power,
    _window,
    loudness_db,
    mel_filterbank,
    onset_strength,
    slot_band_db,
    slot_loudness,
    slot_spectra,
    to_db,
    white_noise_bin_power,
)

EDGE_RADIUS = 16  # samples either side of an edge or centre: 32 samples, about 1.5 ms


def inner_edges(n_samples: int, samples_per_slot: int = grid.SAMPLES_PER_SLOT) -> np.ndarray:
    """Indices of the first sample of every slot except the first, for `n_samples` samples."""
    return np.arange(samples_per_slot, n_samples, samples_per_slot)


def click_ratio(samples: np.ndarray, samples_per_slot: int = grid.SAMPLES_PER_SLOT) -> float:
    """How much larger the sample-to-sample step is across slot edges than inside slots.

    Median of |y[e] - y[e-1]| over inner edges e, divided by the median of |y[n] - y[n-1]|
    over every other n, steps between two samples of exact silence left out. Dimensionless:
    about 1 means an edge looks like any other instant; the raw join of a real brain's blocks
    is often several times 1. Returns nan when no inner edge sounds (fewer than two slots, or
    silence there), inf when the inside is perfectly still but an edge jumps.
    """
    y = np.asarray(samples, dtype=np.float64).reshape(-1)
    edges = inner_edges(y.size, samples_per_slot)
    if edges.size == 0:
        return float("nan")
    steps = np.abs(np.diff(y))  # steps[n-1] = |y[n] - y[n-1]|
    at_edge = np.zeros(steps.size, dtype=bool)
    at_edge[edges - 1] = True
    # steps within digital silence say nothing of clicks: a render silent half the time would
    # otherwise read infinite
    sounding = (y[1:] != 0) | (y[:-1] != 0)
    if not (at_edge & sounding).any():
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.median(steps[at_edge & sounding]) / np.median(steps[~at_edge & sounding]))


def edge_dip(samples: np.ndarray, radius: int = EDGE_RADIUS,
             samples_per_slot: int = grid.SAMPLES_PER_SLOT) -> float:
    """Loudness around slot edges over loudness around slot centres.

    RMS of all samples within `radius` samples of an inner edge (2*radius samples per edge:
    [e - radius, e + radius)), divided by the RMS of the same-sized windows around every
    complete slot's centre. Dimensionless amplitude ratio: 1 means steady loudness; below 1 the
    join fades towards silence at every edge (a 30 Hz tremolo), above 1 it swells there.
    Returns nan without an inner edge, or when both are silent.
    """
    y = np.asarray(samples, dtype=np.float64).reshape(-1)
    edges = inner_edges(y.size, samples_per_slot)
    n_full = y.size // samples_per_slot
    if edges.size == 0 or n_full == 0:
        return float("nan")
    offsets = np.arange(-radius, radius)
    edge_windows = np.clip(edges[:, None] + offsets, 0, y.size - 1)
    centres = np.arange(n_full) * samples_per_slot + samples_per_slot // 2
    centre_windows = centres[:, None] + offsets
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sqrt(np.mean(y[edge_windows] ** 2) / np.mean(y[centre_windows] ** 2)))


def envelope_correlation(a: np.ndarray, b: np.ndarray,
                         samples_per_slot: int = grid.SAMPLES_PER_SLOT) -> float:
    """Pearson correlation of two renders' per-slot loudness envelopes (`slot_loudness`).

    Dimensionless, in [-1, 1]: 1 means the two rise and fall together slot by slot, which is
    how a join is checked to keep the events of the blocks it joins on time and in proportion.
    The renders must cover the same number of slots; nan if either envelope is constant.
    """
    envelope_a = slot_loudness(a, samples_per_slot)
    envelope_b = slot_loudness(b, samples_per_slot)
    if envelope_a.shape != envelope_b.shape:
        raise ValueError(f"renders cover {envelope_a.size} and {envelope_b.size} slots")
    if envelope_a.size < 2 or np.ptp(envelope_a) == 0 or np.ptp(envelope_b) == 0:
        return float("nan")
    return float(np.corrcoef(envelope_a, envelope_b)[0, 1])


# ---- quality against the true sound track (evaluate.py) ------------------------------------
#
# The functions below compare a render with the true sound track of the same slots. Several
# take `segments`: a sequence of 1-D arrays, each a stretch that is contiguous in time (one
# held-out part of one clip). Nothing is compared or shifted across a segment's boundary,
# because the sound on either side of it belongs to different moments or different videos.


BUZZ_SEGMENT = 10 * grid.SAMPLES_PER_SLOT  # 7350 samples: Welch bins exactly 3 Hz apart
BUZZ_NEIGHBOURS = (3, 4, 5)  # bins either side of a multiple of 30 Hz: 9 to 15 Hz away
BUZZ_LIMIT_DB = 60.0  # an exactly periodic sound has no power at all between its harmonics
CHANCE_QUANTILE = 0.95
CHANCE_DRAWS = 1000


def _segments(segments) -> list[np.ndarray]:
    """A single 1-D array is one segment; otherwise each item is one, as float64."""
    if isinstance(segments, np.ndarray) and segments.ndim == 1:
        segments = [segments]
    return [np.asarray(segment, dtype=np.float64).reshape(-1) for segment in segments]


def _paired_segments(a, b) -> tuple[list[np.ndarray], list[np.ndarray]]:
    a, b = _segments(a), _segments(b)
    if [x.size for x in a] != [y.size for y in b]:
        raise ValueError(f"segment lengths differ: {[x.size for x in a]} and {[y.size for y in b]}")
    return a, b


def level_dbfs(samples: np.ndarray) -> float:
    """Loudness of a whole signal: 10 log10 of its mean power, in dBFS (a full-scale square
    wave is 0 dBFS, a full-scale sine -3.01), floored at FLOOR_DB; FLOOR_DB for no samples."""
    y = np.asarray(samples, dtype=np.float64).reshape(-1)
    return float(to_db(np.mean(y * y))) if y.size else FLOOR_DB


def level_difference_db(render, truth) -> float:
    """How much louder the render is than the truth over the same slots, in dB.

    `level_dbfs` of all the render's samples minus that of all the truth's (mean power over
    the segments, not a mean of per-slot decibels, so loud events weigh as they sound):
    0 is right, -15 means the render is 15 dB too quiet whatever its shape.
    """
    render, truth = _paired_segments(render, truth)
    return level_dbfs(np.concatenate(render)) - level_dbfs(np.concatenate(truth))


CONSTANT_TOLERANCE = 1e-9  # relative spread below which a series counts as constant


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two equally long series; nan when either is shorter than 2 or
    constant (no correlation is defined). "Constant" allows rounding: a spread (max - min)
    within CONSTANT_TOLERANCE of the largest magnitude, as when the same block repeats and
    its loudness differs only in the last bits; its r would be the correlation of noise."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size < 2 or any(np.ptp(v) <= CONSTANT_TOLERANCE * max(np.max(np.abs(v)), 1e-300)
                         for v in (x, y)):
        return float("nan")
    x, y = x - x.mean(), y - y.mean()
    return float(np.clip(np.dot(x, y) / np.sqrt(np.dot(x, x) * np.dot(y, y)), -1.0, 1.0))


def within_correlation(render_envelopes, truth_envelopes) -> float:
    """Correlation inside segments: Pearson r of each segment's pair of envelopes, averaged
    with weights equal to the segments' lengths. Segments whose r is undefined (constant,
    or a single slot) are left out of the mean; nan if none is left.

    This is the headline: it asks whether the sound follows what happens on screen *within*
    a clip, which a model that only recognises the clip cannot fake.
    """
    renders, truths = _paired_segments(render_envelopes, truth_envelopes)
    values = np.array([pearson(x, y) for x, y in zip(renders, truths)])
    weights = np.array([x.size for x in renders], dtype=np.float64)
    defined = ~np.isnan(values)
    if not defined.any():
        return float("nan")
    return float(np.average(values[defined], weights=weights[defined]))


def pooled_correlation(render_envelopes, truth_envelopes) -> float:
    """Pearson r of all segments' envelopes joined into one series. Between clips it also
    rewards knowing *which clip* a slot comes from (clip loudness differs), so report it
    beside `within_correlation`, never instead of it."""
    renders, truths = _paired_segments(render_envelopes, truth_envelopes)
    return pearson(np.concatenate(renders), np.concatenate(truths))


def chance_level(statistic, render_envelopes, truth_envelopes, draws: int = CHANCE_DRAWS,
                 quantile: float = CHANCE_QUANTILE, seed: int = 0) -> float:
    """What |statistic| reaches by chance: its `quantile` (95th percentile) over renders that
    are circularly shifted in time, each within its own segment.

    A shift keeps everything about the render except its timing against the picture (its
    level, its spectrum, its mean in each clip), so `statistic(render, truth)` above this
    level says the render's timing matters. With one segment every shift 1..n-1 is tried
    when there are at most `draws` of them (exact); otherwise each draw shifts every segment
    by its own uniform random amount in 1..n-1 (seeded: the same inputs give the same level).
    Small shifts of a slow envelope stay close to the original, which makes the level
    conservative rather than lenient. Dimensionless; nan when no shift is possible.
    `statistic` is `within_correlation` or `pooled_correlation` (or any f(renders, truths)).
    """
    renders, truths = _paired_segments(render_envelopes, truth_envelopes)
    sizes = [x.size for x in renders]
    if not renders or max(sizes) < 2:
        return float("nan")
    if len(renders) == 1 and sizes[0] - 1 <= draws:
        shift_sets = np.arange(1, sizes[0])[:, None]
    else:
        rng = np.random.default_rng(seed)
        shift_sets = np.stack([rng.integers(1, max(size, 2), size=draws) for size in sizes], axis=1)
    values = [abs(statistic([np.roll(x, s) for x, s in zip(renders, shifts)], truths))
              for shifts in shift_sets]
    values = np.array(values)
    values = values[~np.isnan(values)]
    return float(np.quantile(values, quantile)) if values.size else float("nan")


def log_spectral_distance(render, truth) -> float:
    """Mean over slots of the RMS difference, over 40 mel bands, of the two dB spectra (dB).

    Per slot: sqrt(mean_b (R_b - T_b)^2) with R, T from `slot_band_db`; then the mean over
    every slot of every segment. 0 for identical sound; a copy 6 dB quieter scores 6.

    Mel bands rather than the 513 raw STFT bins, for two reasons. Raw bins give the top
    octave (5.5-11 kHz) half the weight, while hearing (and the picture's events) live lower.
    And one bin of a noise-like sound fluctuates by about +-5.6 dB from frame to frame, so
    two recordings of the same hiss would differ by about 7 dB per bin; a band averages
    several bins and keeps that chance difference small.
    """
    render, truth = _paired_segments(render, truth)
    difference = slot_band_db(np.concatenate(render)) - slot_band_db(np.concatenate(truth))
    # Slot spectra of the joined segments: frames at a boundary see 145 samples of the other
    # segment, the same for both signals, which is negligible next to 735-sample slots.
    return float(np.mean(np.sqrt(np.mean(difference ** 2, axis=1)))) if difference.size else float("nan")


def onset_sync(render, truth, max_lag_ms: float = 500.0, hop: int = ONSET_HOP) -> tuple[float, float]:
    """Timing of the render's events against the truth's: (lag in ms, peak correlation).

    Cross-correlates the two `onset_strength` envelopes (each segment's mean removed) at
    every lag within +-`max_lag_ms`, summing each lag's products over segments (never across
    a boundary), normalised by the envelopes' norms. The lag is the maximising one, positive
    when the render's onsets come *late*, resolved to one hop (11.1 ms); the peak is the
    normalised correlation there, in [-1, 1] (1: the same onsets, shifted by the lag).
    (nan, nan) when either envelope is flat (no onsets at all).
    """
    render, truth = _paired_segments(render, truth)
    max_lag = int(round(max_lag_ms / 1000.0 * grid.RATE_HZ / hop))
    lags = np.arange(-max_lag, max_lag + 1)
    products = np.zeros(lags.size)
    energy_render = energy_truth = 0.0
    for x, y in zip(render, truth):
        if x.size == 0:
            continue
        a = onset_strength(x, hop)
        b = onset_strength(y, hop)
        a, b = a - a.mean(), b - b.mean()
        energy_render += float(np.dot(a, a))
        energy_truth += float(np.dot(b, b))
        for index, lag in enumerate(lags):  # sum_k a[k + lag] b[k]: a late by `lag` matches
            if abs(lag) < a.size:
                products[index] += (np.dot(a[lag:], b[:a.size - lag]) if lag >= 0
                                    else np.dot(a[:lag], b[-lag:]))
    norm = np.sqrt(energy_render * energy_truth)
    if norm == 0:
        return float("nan"), float("nan")
    best = int(np.argmax(products))
    return float(lags[best] * hop / grid.RATE_HZ * 1000.0), float(products[best] / norm)


def buzz_db(segments) -> float:
    """How much the sound's power stands out at multiples of 30 Hz (the slot rate), in dB.

    Welch power spectrum with BUZZ_SEGMENT-sample Hann frames (half overlapping; bins exactly
    3 Hz apart, so 30k Hz is bin 10k) averaged over every frame of every segment; for each
    multiple of 30 Hz below the Nyquist frequency, the power in its bin over the mean power
    of the bins 9-15 Hz either side (clear of the window's main lobe); buzz is 10 log10 of
    the *median* of these ratios over all multiples, so one tone that happens to sit on a
    multiple of 30 Hz does not count, but anything 30 Hz-periodic (a click at every slot
    edge, or nearly the same block every slot) does. Each ratio is clipped to +-BUZZ_LIMIT_DB
    (60 dB): a sound that repeats exactly every slot has nothing between its harmonics, and
    an infinite ratio would say no more. About 0 dB for sound unrelated to the slot rate,
    60 dB for a 30 Hz impulse train. nan when no segment is BUZZ_SEGMENT samples (10 slots)
    long, or all are silent.
    """
    from scipy.signal import welch  # scipy is slow to import; only the buzz needs it

    long_enough = [y for y in _segments(segments) if y.size >= BUZZ_SEGMENT]
    if not long_enough:
        return float("nan")
    total, frames = 0.0, 0
    for y in long_enough:
        count = 1 + (y.size - BUZZ_SEGMENT) // (BUZZ_SEGMENT // 2)
        _, power = welch(y, fs=grid.RATE_HZ, window="hann", nperseg=BUZZ_SEGMENT,
                         noverlap=BUZZ_SEGMENT // 2)
        total, frames = total + power * count, frames + count
    power = total / frames
    spacing = BUZZ_SEGMENT // grid.SAMPLES_PER_SLOT  # bins per 30 Hz
    reach = max(BUZZ_NEIGHBOURS)
    harmonics = np.arange(spacing, power.size - reach, spacing)
    offsets = np.array([-o for o in BUZZ_NEIGHBOURS] + list(BUZZ_NEIGHBOURS))
    neighbours = power[harmonics[:, None] + offsets[None, :]].mean(axis=1)
    limit = 10.0 ** (BUZZ_LIMIT_DB / 10.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.clip(power[harmonics] / neighbours, 1.0 / limit, limit)  # 0/0 stays nan
    if np.isnan(ratios).any():
        return float("nan")
    return float(10.0 * np.log10(np.median(ratios)))
