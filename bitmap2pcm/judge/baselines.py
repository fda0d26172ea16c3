"""Baselines a skeptic tries before believing a brain: predictors that never look at the
picture the way a network does, scored by the same code on the same slots (`evaluate`).

- constant: every slot gets the mean training row (in PCM). Waveforms of unrelated slots
  cancel in the mean, so this is close to silence: the floor any learner must clear.
- clip-mean spectrum: every slot of a clip gets that clip's mean training power spectrum,
  as noise. It knows *which clip* a slot belongs to and nothing about the frame, so it shows
  how much of a pooled score clip identity alone buys.
- retrieval: every frame gets the audio row of the nearest training frame (Euclidean, in the
  same 64x64 gray space the brain sees). A brain that does not beat looking things up has
  learned little beyond memorising.
- flow onsets: an onset wherever the optical flow changes sharply (`data.flow`: something
  hits, starts, stops or turns), above a threshold fitted on the training rows for the best
  onset F1; the clip-mean spectrum as noise at the training sound's quiet level, jumping to
  its loud level at each onset and fading back. It learns nothing from the pictures: a model
  that hears events must beat it.

All functions are pure: arrays in, arrays out. Blocks are PCM in [-1, 1], one row of
`grid.SAMPLES_PER_SLOT` samples per slot.
"""

from __future__ import annotations

import numpy as np

from ..core import grid
from ..data import flow
from . import metrics, onsets

FLOW_FADE_SLOTS = 6  # slots a flow onset's sound takes to fade from the loud to the quiet level
QUERY_CHUNK = 512  # query frames compared at once: 512 x 4096 float64 = 16 MB
TRAIN_CHUNK = 2048  # training frames converted to float64 at once: 64 MB


def constant_blocks(train_audio: np.ndarray, slots: int) -> np.ndarray:
    """`slots` copies of the mean training row, as PCM blocks (slots, 735), float32.

    `train_audio` holds rows in the stored [0, 1] convention (audio.pkl); the mean is taken
    there and mapped to PCM (the mapping is linear, so the order does not matter).
    """
    mean = grid.unit_to_pcm(np.asarray(train_audio, dtype=np.float64).mean(axis=0))
    return np.repeat(mean[None, :], slots, axis=0).astype(np.float32)


def mean_spectrum(samples: np.ndarray) -> np.ndarray:
    """Mean power spectrum of a stretch of sound, shape (N_FFT // 2 + 1,).

    The mean of `metrics.slot_spectra` over its slots: the same frames the log-spectral
    distance compares, averaged in power (not in dB) so that the baseline's level is the
    clip's true mean level rather than a quieter geometric mean.
    """
    return metrics.slot_spectra(samples).mean(axis=0)


def spectrum_noise(power: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Stationary Gaussian noise whose `metrics.slot_spectra` read `power` on average.

    White noise is coloured in one FFT over its whole length: the gain at each frequency is
    sqrt(power / white_noise_bin_power), with `power` interpolated linearly between its STFT
    bins. The same frames and units as the comparison, so a perfect spectrum scores a small
    log-spectral distance (the chance fluctuation of noise within mel bands) and level 0 dB.
    Returns float32 PCM clipped to [-1, 1].
    """
    if n_samples == 0:
        return np.zeros(0, dtype=np.float32)
    white = rng.standard_normal(n_samples)
    source = np.fft.rfftfreq(metrics.N_FFT, 1.0 / grid.RATE_HZ)
    target = np.fft.rfftfreq(n_samples, 1.0 / grid.RATE_HZ)
    gain = np.sqrt(np.interp(target, source, power) / metrics.white_noise_bin_power())
    coloured = np.fft.irfft(np.fft.rfft(white) * gain, n=n_samples)
    return np.clip(coloured, -1.0, 1.0).astype(np.float32)


def shaped_to_loudness(samples: np.ndarray, loudness_db: np.ndarray) -> np.ndarray:
    """`samples` scaled so that slot i's loudness (`metrics.loudness_db`) is `loudness_db[i]`;
    the gain moves linearly between slot centres, so the shaping itself makes no clicks.
    Returns float32 PCM clipped to [-1, 1]."""
    if samples.size == 0:
        return samples.astype(np.float32)
    gain_db = np.asarray(loudness_db, np.float64) - metrics.loudness_db(samples)
    centres = (np.arange(gain_db.size) + 0.5) * grid.SAMPLES_PER_SLOT
    gain = 10.0 ** (np.interp(np.arange(samples.size), centres, gain_db) / 20.0)
    return np.clip(samples * gain, -1.0, 1.0).astype(np.float32)


def as_pixels(frames: np.ndarray) -> np.ndarray:
    """Frames as uint8 pixel values: uint8 passes through; floats in [0, 1] (frames.pkl,
    which holds uint8 / 255 by contract) are mapped back with rounding, which recovers every
    pixel exactly."""
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        return frames
    return np.rint(np.clip(frames, 0.0, 1.0) * 255.0).astype(np.uint8)


def nearest_rows(train_frames: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index of the nearest training frame (squared Euclidean distance) for every query.

    Both as pixels (`as_pixels`). Distances are |q|^2 - 2 q.t + |t|^2 computed in float64 on
    integer pixel values, where every product and sum is an integer below 2^53: exact, so a
    query equal to a training frame finds it (the first of identical ones), never a near twin
    that float32 rounding would tie with. Returns int64 indices, shape (len(queries),).
    """
    train = as_pixels(train_frames)
    query = as_pixels(queries)
    best = np.zeros(len(query), dtype=np.int64)
    if len(train) == 0:
        raise ValueError("no training frames to retrieve from")
    for q_start in range(0, len(query), QUERY_CHUNK):
        q = query[q_start: q_start + QUERY_CHUNK].astype(np.float64)
        best_distance = np.full(len(q), np.inf)
        best_index = np.zeros(len(q), dtype=np.int64)
        for t_start in range(0, len(train), TRAIN_CHUNK):
            t = train[t_start: t_start + TRAIN_CHUNK].astype(np.float64)
            # |q|^2 is the same for every candidate, so it is left out of the comparison.
            distance = (t * t).sum(axis=1)[None, :] - 2.0 * (q @ t.T)
            index = distance.argmin(axis=1)
            value = distance[np.arange(len(q)), index]
            better = value < best_distance  # strict: ties keep the earlier training frame
            best_distance[better] = value[better]
            best_index[better] = index[better] + t_start
        best[q_start: q_start + len(q)] = best_index
    return best


def retrieval_blocks(train_frames: np.ndarray, train_audio: np.ndarray,
                     queries: np.ndarray) -> np.ndarray:
    """For every query frame, the PCM block of its nearest training frame (`nearest_rows`):
    (len(queries), 735) float32 in [-1, 1]."""
    rows = np.asarray(train_audio)[nearest_rows(train_frames, queries)]
    return grid.unit_to_pcm(rows.astype(np.float32))


def fit_flow_threshold(strengths: list[np.ndarray], true_onsets: list[np.ndarray]) -> float:
    """The flow-change threshold whose peaks (`flow.peaks`) best match the true onsets of
    training segments (pooled onset F1 within `onsets.TOLERANCE_SLOTS`): tried at 60
    quantiles of the segments' nonzero strengths; 0 when they are all zero."""
    pooled = np.concatenate([s[s > 0] for s in strengths] + [np.zeros(0, np.float32)])
    if pooled.size == 0:
        return 0.0

    def f1(threshold: float) -> float:
        return onsets.pooled_f1(true_onsets, [flow.peaks(strength, threshold) for strength in strengths])

    candidates = np.unique(np.quantile(pooled, np.linspace(0.3, 0.995, 60)))
    return float(max(candidates, key=f1))


def flow_onset_loudness(strength: np.ndarray, threshold: float, quiet_db: float,
                        loud_db: float) -> np.ndarray:
    """Each slot's loudness (dB) for the flow-onset baseline: `quiet_db`, and `loud_db` at
    every peak of `strength` above `threshold`, fading back linearly over FLOW_FADE_SLOTS."""
    level = np.full(strength.size, quiet_db, np.float64)
    fade = loud_db - (loud_db - quiet_db) * np.arange(FLOW_FADE_SLOTS) / FLOW_FADE_SLOTS
    for slot in flow.peaks(strength, threshold):
        stop = min(strength.size, slot + FLOW_FADE_SLOTS)
        level[slot:stop] = np.maximum(level[slot:stop], fade[:stop - slot])
    return level
