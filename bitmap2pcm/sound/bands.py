"""What a sound is made of, slot by slot: loudness, mel bands in dB and onset strength.

Pure functions over PCM in [-1, 1] at `grid.RATE_HZ` on the slot grid. They are defined once,
here, because two stages need the same reading of a sound: the trainer (a brain's loudness
and onset targets, `learn`) and the judge (`judge.metrics`, `judge.onsets`), so that what a
brain is taught to predict is exactly what it is scored on.
"""

from __future__ import annotations

import numpy as np

from ..core import grid

def slot_loudness(samples: np.ndarray, samples_per_slot: int = grid.SAMPLES_PER_SLOT) -> np.ndarray:
    """Per-slot loudness envelope: the RMS of each slot's samples, linear full scale (1 = 0 dBFS).

    Returns float64 of shape (ceil(n / samples_per_slot),); a trailing partial slot is measured
    over the samples it has.
    """
    y = np.asarray(samples, dtype=np.float64).reshape(-1)
    n_slots = -(-y.size // samples_per_slot)
    padded = np.zeros(n_slots * samples_per_slot)
    padded[: y.size] = y
    counts = np.full(n_slots, samples_per_slot, dtype=np.float64)
    if n_slots and y.size % samples_per_slot:
        counts[-1] = y.size % samples_per_slot
    return np.sqrt((padded.reshape(n_slots, samples_per_slot) ** 2).sum(axis=1) / counts)


FLOOR_DB = -80.0
"""Quietest level any measure below reports, in dB re full scale. Digital silence would be
-inf dB: one silent slot would then be an infinitely distant outlier for a correlation or a
distance. -80 dBFS is below the dither of 16-bit sound and below anything audible at a sane
listening level, so flooring there changes nothing a listener could hear."""

N_FFT = 1024  # 46 ms at 22050 Hz: the STFT of the follow-up experiment (docs/original.md)
MEL_BANDS = 40
ONSET_HOP = grid.SAMPLES_PER_SLOT // 3  # 245 samples, 11.1 ms: three onset frames per slot


def to_db(power: np.ndarray | float) -> np.ndarray | float:
    """Power (linear, 1 = full scale) to dB, floored at FLOOR_DB (so silence is finite)."""
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(power), FLOOR_DB)


def loudness_db(samples: np.ndarray, samples_per_slot: int = grid.SAMPLES_PER_SLOT) -> np.ndarray:
    """Per-slot loudness in dBFS: 20 log10 of `slot_loudness` (RMS), floored at FLOOR_DB.

    Decibels rather than linear RMS, because loudness is heard on a log scale: in dB, a quiet
    passage that follows the picture counts as much as a loud one. A copy scaled by any
    gain g is the same envelope shifted by 20 log10 g, so its correlation stays 1.
    """
    return to_db(slot_loudness(samples, samples_per_slot) ** 2)


def _stft_power(samples: np.ndarray, centres: np.ndarray, n_fft: int = N_FFT) -> np.ndarray:
    """Power spectra of Hann-windowed frames of `n_fft` samples centred on `centres`.

    Zeros stand in for samples beyond either end. Shape (len(centres), n_fft // 2 + 1); each
    bin in units of a full-scale sine (a sine of amplitude 1 centred on a bin reads 1 there),
    so `to_db` of it is dB re full scale.
    """
    y = np.asarray(samples, dtype=np.float64).reshape(-1)
    half = n_fft // 2
    padded = np.concatenate([np.zeros(half), y, np.zeros(half)])
    window = _window(n_fft)
    frames = padded[np.asarray(centres)[:, None] + np.arange(n_fft)[None, :]]
    spectra = np.fft.rfft(frames * window, axis=1)
    return (np.abs(spectra) / (window.sum() / 2.0)) ** 2


def _window(n_fft: int) -> np.ndarray:
    return np.hanning(n_fft + 1)[:-1]  # periodic Hann: overlapping copies sum to a constant


def white_noise_bin_power(n_fft: int = N_FFT) -> float:
    """Expected power in every bin of `slot_spectra` for white noise of unit variance (in
    the same full-scale-sine units): sum(w^2) / (sum(w) / 2)^2 for the Hann window w. Noise
    whose spectrum should read P in `slot_spectra` needs power density P / this."""
    window = _window(n_fft)
    return float(np.sum(window ** 2) / (window.sum() / 2.0) ** 2)


def _band_db(samples: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """`mel_filterbank` bands in dB (floored) of the STFT frames centred on `centres`, computed
    a few thousand frames at a time so that an hour of sound needs megabytes, not gigabytes."""
    filters = mel_filterbank().T
    chunk = 4096
    parts = [to_db(_stft_power(samples, centres[start: start + chunk]) @ filters)
             for start in range(0, len(centres), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, filters.shape[1]))


def mel_filterbank(bands: int = MEL_BANDS, n_fft: int = N_FFT, rate_hz: int = grid.RATE_HZ) -> np.ndarray:
    """Triangular mel filters over the STFT bins, shape (bands, n_fft // 2 + 1).

    Edges equally spaced on the HTK mel scale (2595 log10(1 + f / 700)) from 0 Hz to the
    Nyquist frequency; each row sums to 1, so a band's value is the weighted *mean* power of
    its bins and a flat spectrum reads the same in every band.
    """
    frequencies = np.fft.rfftfreq(n_fft, 1.0 / rate_hz)
    top = 2595.0 * np.log10(1.0 + (rate_hz / 2.0) / 700.0)
    edges = 700.0 * (10.0 ** (np.linspace(0.0, top, bands + 2) / 2595.0) - 1.0)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (frequencies[None, :] - low) / (centre - low)
    falling = (high - frequencies[None, :]) / (high - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights / weights.sum(axis=1, keepdims=True)


def slot_spectra(samples: np.ndarray, n_fft: int = N_FFT) -> np.ndarray:
    """One power spectrum per slot: an `n_fft`-sample Hann frame centred on the slot's centre.

    Shape (ceil(n / 735), n_fft // 2 + 1), in units of a full-scale sine (see `_stft_power`).
    With 1024 samples a frame sees its slot and 145 samples of each neighbour: enough to
    resolve 21.5 Hz, and one spectrum per slot, as a brain predicts one block per slot.
    """
    return _stft_power(samples, _slot_centres(np.asarray(samples).size), n_fft)


def _slot_centres(n_samples: int) -> np.ndarray:
    """Sample index of the centre of every (whole or partial) slot of `n_samples` samples."""
    slots = -(-n_samples // grid.SAMPLES_PER_SLOT)
    return np.arange(slots) * grid.SAMPLES_PER_SLOT + grid.SAMPLES_PER_SLOT // 2


def slot_band_db(samples: np.ndarray) -> np.ndarray:
    """Per-slot mel spectrum in dB: `slot_spectra` through `mel_filterbank`, floored at
    FLOOR_DB. Shape (slots, MEL_BANDS). This is what `log_spectral_distance` compares and
    what the report's spectrograms show."""
    n = np.asarray(samples).size
    return _band_db(samples, _slot_centres(n))


def onset_strength(samples: np.ndarray, hop: int = ONSET_HOP) -> np.ndarray:
    """Onset-strength envelope: how much louder each frame got than the one before, in dB.

    STFT frames of N_FFT samples every `hop` samples (frame k centred on k*hop + hop/2),
    reduced to `mel_filterbank` bands in dB (floored at FLOOR_DB); the strength of frame k
    is the mean over bands of the rises max(0, D[k] - D[k-1]) (spectral flux, as librosa's
    onset_strength but with an absolute floor, so that noise in near-silence does not count
    as onsets). Frame 0 has strength 0. Shape (ceil(n / hop),), dB per hop.
    """
    n = np.asarray(samples).size
    bands = _band_db(samples, np.arange(-(-n // hop)) * hop + hop // 2)
    rises = np.maximum(0.0, np.diff(bands, axis=0)).mean(axis=1)
    return np.concatenate([[0.0], rises]) if n else np.zeros(0)
