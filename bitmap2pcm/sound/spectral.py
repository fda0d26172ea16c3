"""A frequency representation of the sound: one STFT magnitude spectrum per slot, and back.

The author's own suggestion (docs/original.md): instead of 735 PCM samples a brain can
predict the magnitude spectrum of its slot, and render builds the waveform from those.
A PCM prediction has to get every sample's sign right; a magnitude prediction only has to get
the loudness per frequency right, and the phase is made up so that the sound runs on
continuously across slots.

Geometry. Frame t is `N_FFT` = 1024 samples (46 ms) under a periodic Hann window, one frame per
slot (`HOP` = 735), centred on its slot: it starts `LEAD` = 144 samples before the slot and ends
145 after it, so neighbouring frames overlap by 289 samples. The signal is zero beyond its ends.
`BINS` = 513 magnitudes per slot, bin k at k * 22050 / 1024 Hz (21.5 Hz apart).

Scaling into the [0, 1] the trainer and a sigmoid output work in (`to_unit`, `from_unit`):

    y = log1p(m / REFERENCE) / log1p(FULL_SCALE / REFERENCE)

m is the magnitude of rfft(window * frame) with PCM in [-1, 1]; FULL_SCALE = sum(window) = 512
is the largest magnitude any frame can have (a full-scale DC frame), so y never leaves [0, 1];
REFERENCE = 0.01 (about 94 dB below FULL_SCALE, below a 16-bit noise floor's bins only by
a little) is where the mapping turns from logarithmic (loud bins, where the ear is) to linear
(near silence, so nothing is stretched towards minus infinity). The inverse clips y to [0, 1]
first, so an overshooting linear output can never ask for more than full scale.

Synthesis (`Synthesizer`, streaming; `synthesize`, a whole array, with optional Griffin-Lim):
a phase vocoder with identity phase locking (Laroche and Dolson 1999). In each frame every
spectral peak's frequency is estimated to a fraction of a bin (a parabola through the log
magnitudes), its phase is advanced from the previous frame's phase of that bin by
2*pi*f*HOP/N_FFT (f in bins), and every bin in the peak's region takes the peak's phase. With
the frames taken zero-phase (centre at index 0), a steady tone then continues across slots
without a phase jump, and each frame comes out shaped like the window, which the weighted
overlap-add (numerator sum of window * frame, denominator sum of window**2) expects. The
plain phase vocoder advance of each bin by its own 2*pi*k*HOP/N_FFT is not used: with HOP
not a multiple of N_FFT it is a circular shift of the frame by HOP, which puts the frame's
energy at its edges, where the window is near zero.
The output has exactly HOP samples per slot, float32, clamped to [-1, 1].

Level calibration (`level_gain_db`). Mean squared error on a log scale rewards the mean *log*
magnitude of similar pictures, and on pictures it has not fitted a brain regresses towards
that mean: on the Planet Blupi hold-out the raw prediction was 18 dB quieter than the truth,
because the log-mean of loud and quiet slots lies far below their power mean. Training
therefore measures, on its validation rows (never fitted), the gain that makes the predicted
power equal the true power, and records it in the brain (`output["level_gain_db"]`); render
applies it to every magnitude before synthesis. It scales every slot alike, so it moves the
level only: the shape of the loudness over time and its correlation with the truth stay.
"""

from __future__ import annotations

from typing import Any

import logging

import numpy as np

from ..core import grid
from . import framing
from .representation import Calibration, Representation, Synthesizer as SynthesizerProtocol

log = logging.getLogger("bitmap2pcm")

KIND = "stft-magnitude"
N_FFT = 1024
HOP = grid.SAMPLES_PER_SLOT  # one frame per slot: 735 samples
BINS = N_FFT // 2 + 1        # 513
LEAD = (N_FFT - HOP) // 2    # 144: samples of a frame before its slot starts
REFERENCE = 0.01
WINDOW = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann
FULL_SCALE = float(WINDOW.sum())  # 512.0
_LOG_FULL_SCALE = float(np.log1p(FULL_SCALE / REFERENCE))


def _convention() -> dict[str, Any]:
    """The brain's `output` record for a magnitude brain: everything synthesis needs."""
    return {
        "kind": KIND,
        "n_fft": N_FFT,
        "hop": HOP,
        "window": "hann (periodic)",
        "bins": BINS,
        "frame_start": f"slot start - {LEAD} samples",
        "samples_per_slot": grid.SAMPLES_PER_SLOT,
        "rate_hz": grid.RATE_HZ,
        "slots_per_second": grid.SLOTS_PER_SECOND,
        "scaling": {"formula": "y = log1p(m / reference) / log1p(full_scale / reference)",
                    "reference": REFERENCE, "full_scale": FULL_SCALE,
                    "magnitude": "abs(rfft(window * frame)), PCM in [-1, 1]"},
        "phase": "phase vocoder with identity phase locking",
    }


def level_gain_db(predicted: np.ndarray, target: np.ndarray) -> float:
    """The gain (dB) that makes the total power of `predicted` magnitudes equal that of
    `target` (same shape, PCM units); 0 when either is silent (nothing to calibrate on)."""
    predicted_power = float(np.sum(np.square(np.asarray(predicted, np.float64))))
    target_power = float(np.sum(np.square(np.asarray(target, np.float64))))
    if predicted_power <= framing.TINY or target_power <= framing.TINY:
        return 0.0
    return 10.0 * float(np.log10(target_power / predicted_power))


def calibrated(magnitude: np.ndarray, output: dict[str, Any]) -> np.ndarray:
    """Magnitudes with the brain's recorded level gain applied (none for brains without one)."""
    gain_db = float(output.get("level_gain_db", 0.0))
    return magnitude if gain_db == 0.0 else magnitude * 10.0 ** (gain_db / 20.0)


# --- analysis --------------------------------------------------------------------------------

def magnitudes(samples: np.ndarray) -> np.ndarray:
    """PCM samples in [-1, 1] (a whole number of slots, HOP each) to one magnitude spectrum per
    slot: (slots, BINS) float32, in PCM units (see the module notes for the framing)."""
    frames = framing.frames_of(samples, N_FFT, LEAD, HOP)
    return np.abs(np.fft.rfft(frames * WINDOW, axis=1)).astype(np.float32)


def to_unit(magnitude: np.ndarray) -> np.ndarray:
    """Magnitudes (PCM units) to the [0, 1] training scale (module notes), float32."""
    return (np.log1p(np.asarray(magnitude, np.float64) / REFERENCE) / _LOG_FULL_SCALE).astype(np.float32)


def from_unit(values: np.ndarray) -> np.ndarray:
    """Inverse of `to_unit`, after clipping to [0, 1]; float64 magnitudes."""
    return REFERENCE * np.expm1(np.clip(np.asarray(values, np.float64), 0.0, 1.0) * _LOG_FULL_SCALE)


def unit_targets(audio_rows: np.ndarray, segments: list[tuple[int, int]]) -> np.ndarray:
    """Training targets from audio.pkl rows ((n, 735), [0, 1] convention): (n, BINS) float32
    in [0, 1]. Each (first_row, stop_row) segment (a clip) is analysed on its own, so no frame
    mixes the end of one clip with the start of the next; rows outside every segment are
    analysed as one more run each, in order."""
    rows = np.asarray(audio_rows)
    targets = np.empty((len(rows), BINS), np.float32)
    for first, stop in framing.clip_runs(len(rows), segments):
        pcm = grid.unit_to_pcm(rows[first:stop].astype(np.float64)).reshape(-1)
        targets[first:stop] = to_unit(magnitudes(pcm))
    return targets


# --- synthesis -------------------------------------------------------------------------------

def _locked_phases(magnitude: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Phases for one frame of magnitudes (BINS,) given the previous frame's phases: each
    peak advances at its own interpolated frequency and its region follows it."""
    inner = magnitude[1:-1]
    peaks = np.flatnonzero((inner > magnitude[:-2]) & (inner >= magnitude[2:]) & (inner > framing.TINY)) + 1
    if peaks.size == 0:
        return previous.copy()
    log_mag = np.log(np.maximum(magnitude, framing.TINY))
    a, b, c = log_mag[peaks - 1], log_mag[peaks], log_mag[peaks + 1]
    curvature = a - 2 * b + c
    offset = np.where(curvature < 0, 0.5 * (a - c) / np.where(curvature < 0, curvature, -1.0), 0.0)
    frequency = peaks + np.clip(offset, -0.5, 0.5)  # in bins
    peak_phase = previous[peaks] + 2 * np.pi * frequency * HOP / N_FFT
    # every bin belongs to the nearest peak (boundaries halfway between neighbouring peaks)
    owner = np.searchsorted((peaks[:-1] + peaks[1:]) / 2.0, np.arange(BINS))
    return np.mod(peak_phase[owner] + np.pi, 2 * np.pi) - np.pi


def _frame_signals(magnitude: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Time-domain frames (n, N_FFT), not yet windowed, from spectra taken zero-phase: the
    inverse FFT puts a frame's centre at index 0, so it is rolled back to the middle."""
    frames = np.fft.irfft(magnitude * np.exp(1j * phase), n=N_FFT, axis=-1)
    return np.roll(frames, N_FFT // 2, axis=-1)


def _overlap_adder() -> framing.OverlapAdd:
    """Weighted overlap-add of frames under the synthesis window (the analysis window again),
    divided by the sum of its squares."""
    return framing.OverlapAdd(WINDOW, WINDOW ** 2, HOP, LEAD)


def _zero_phase_spectra(samples: np.ndarray) -> np.ndarray:
    """Complex spectra of the frames of `samples`, centre at index 0 (the synthesis phases'
    reference), for Griffin-Lim."""
    frames = framing.frames_of(samples, N_FFT, LEAD, HOP) * WINDOW
    return np.fft.rfft(np.roll(frames, -(N_FFT // 2), axis=1), axis=1)


class Synthesizer:
    """Streaming synthesis: push (n, BINS) magnitude spectra (PCM units) in any batches, get
    samples back; the concatenation of every push and `finish` is exactly HOP samples per slot.

    A slot's last 145 samples also depend on the next frame, so each push holds back the
    overlap (289 samples of numerator and denominator) and the phases of the last frame.
    """

    def __init__(self) -> None:
        self._phase = np.zeros(BINS)
        self._overlap_add = _overlap_adder()

    def push(self, magnitude: np.ndarray) -> np.ndarray:
        magnitude = np.asarray(magnitude, np.float64)
        phases = np.empty((len(magnitude), BINS))
        for t in range(len(magnitude)):
            self._phase = phases[t] = _locked_phases(magnitude[t], self._phase)
        return framing.clamp(self._overlap_add.push(_frame_signals(magnitude, phases)))

    def finish(self) -> np.ndarray:
        """The last slot's end: the held-back overlap up to the end of the sound."""
        return framing.clamp(self._overlap_add.finish())


def synthesize(magnitude: np.ndarray, griffin_lim: int = 0) -> np.ndarray:
    """Magnitude spectra (n, BINS), PCM units, to n*HOP samples in [-1, 1] (float32).

    Phases from the phase vocoder (`Synthesizer`'s, identical output when `griffin_lim` is 0),
    then `griffin_lim` iterations of Griffin-Lim: resynthesize, re-analyse, keep the phases,
    put back the wanted magnitudes. Needs the whole array, so render streams without it."""
    magnitude = np.asarray(magnitude, np.float64)
    if len(magnitude) == 0:
        return np.zeros(0, np.float32)
    phase = np.empty_like(magnitude)
    previous = np.zeros(BINS)
    for t in range(len(magnitude)):
        previous = phase[t] = _locked_phases(magnitude[t], previous)
    samples = _overlap_adder().whole(_frame_signals(magnitude, phase))
    for _ in range(griffin_lim):
        phase = np.angle(_zero_phase_spectra(samples))
        samples = _overlap_adder().whole(_frame_signals(magnitude, phase))
    return framing.clamp(samples)



class CalibratedSpectra:
    """Network outputs (n, BINS) to samples: the inverse of the [0, 1] scaling (which clips
    overshooting outputs first), the brain's level calibration, then `Synthesizer`."""

    def __init__(self, output: dict[str, Any]) -> None:
        self._output = output
        self._synthesizer = Synthesizer()

    def push(self, outputs: np.ndarray, looks: np.ndarray | None = None) -> np.ndarray:
        del looks  # the sound follows the outputs alone
        return self._synthesizer.push(calibrated(from_unit(outputs), self._output))

    def finish(self) -> np.ndarray:
        return self._synthesizer.finish()


class Stft(Representation):
    name = "stft"
    kind = KIND
    outputs = BINS
    what = f"{BINS} magnitude bins"
    loss_text = "mean squared error over rows and magnitude bins, [0, 1] scale of spectral.to_unit"
    synthesis = "spectral synthesis"
    checked_keys = ("n_fft", "hop", "window", "bins", "frame_start", "samples_per_slot",
                    "rate_hz", "scaling")

    def targets(self, sound_rows: np.ndarray, segments: list[tuple[int, int]]) -> np.ndarray:
        log.info("computing STFT magnitude targets (%d bins per slot)", BINS)
        return unit_targets(sound_rows, segments)

    def calibrate(self, calibration: Calibration) -> dict[str, Any]:
        """The level calibration (`level_gain_db`), measured on rows fine-tuning never fitted."""
        rows = calibration.unfitted_rows
        gain_db = level_gain_db(from_unit(calibration.outputs(rows)),
                                from_unit(calibration.targets[rows]))
        log.info("level calibration on %d %s rows: %+.1f dB", len(rows), calibration.unfitted_name,
                 gain_db)
        return {"level_gain_db": round(gain_db, 3)}

    def convention(self) -> dict[str, Any]:
        return _convention()

    def synthesizer(self, output: dict[str, Any], mode: str) -> SynthesizerProtocol:
        del mode  # spectra are synthesized continuously: no join
        return CalibratedSpectra(output)


REPRESENTATION = Stft()
