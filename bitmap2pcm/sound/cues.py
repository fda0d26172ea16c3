"""Sound cues: what a cue brain predicts for each slot instead of the sound itself.

Mean squared error on a whole spectrum or on samples predicts the mean of similar slots: a
quiet, flat average in which a rare impact disappears. A cue brain predicts three things per
slot, each with a loss that keeps it (`Cues.loss`), and render builds the sound from
real training sound that matches them (`library`):

- `BANDS` = 40 mel bands in dB (`bands.slot_band_db`), mapped to [0, 1] by
  u = (dB - FLOOR_DB) / -FLOOR_DB: the timbre, which picks the example to copy (squared error);
- the loudness, RMS of the slot's 735 samples, as one of `LOUDNESS_CLASSES` = 64 classes of
  its mu-law value (mu = 255), as Video-Foley's Video2RMS does: a softmax over classes can say
  "silent or loud" without predicting the average in between (cross-entropy);
- the onset: 1 when the slot holds an onset of the sound (`onsets.onset_slots`, the judge's
  own reading), else 0 (logistic, positives weighted up because onsets are rare).

A target row is [bands (40) | one-hot loudness class (64) | onset (1)] = `CUES` = 105 values;
the network's output row has the same layout, with logits for the class and the onset.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..core import grid
from ..core.errors import UserError
from . import bands, framing, onsets
from .representation import Calibration, Representation, Synthesizer

if TYPE_CHECKING:  # library.py imports this module: at run time it is imported where used
    from . import library

log = logging.getLogger("bitmap2pcm")

KIND = "sound-cues"
BANDS = bands.MEL_BANDS
LOUDNESS_CLASSES = 64
MU = 255.0
CUES = BANDS + LOUDNESS_CLASSES + 1
LOUDNESS = slice(BANDS, BANDS + LOUDNESS_CLASSES)   # the class logits' columns
ONSET = BANDS + LOUDNESS_CLASSES                    # the onset logit's column
PRIOR_FLOOR = 1e-4                                  # a class never seen starts at log 1e-4
MAX_ONSET_WEIGHT = 20.0                             # in the loss an onset weighs at most 20 slots


def _convention() -> dict[str, Any]:
    return {
        "kind": KIND,
        "bands": BANDS,
        "band_scale": f"u = (dB - {bands.FLOOR_DB}) / {-bands.FLOOR_DB}, mel bands of a "
                      f"{bands.N_FFT}-sample Hann frame on the slot's centre",
        "loudness_classes": LOUDNESS_CLASSES,
        "loudness_scale": f"class = floor({LOUDNESS_CLASSES} * ln(1 + {MU:g} rms) / ln(1 + {MU:g}))",
        "onset": "logit of P(onset in slot)",
        "samples_per_slot": grid.SAMPLES_PER_SLOT,
        "rate_hz": grid.RATE_HZ,
        "slots_per_second": grid.SLOTS_PER_SECOND,
    }


# --- the three cues --------------------------------------------------------------------------

def band_units(band_db: np.ndarray) -> np.ndarray:
    """Mel bands in dB (floored at FLOOR_DB) to the [0, 1] scale the network predicts."""
    return np.clip((np.asarray(band_db, np.float64) - bands.FLOOR_DB) / -bands.FLOOR_DB, 0.0, 1.0)


def loudness_class(rms: np.ndarray) -> np.ndarray:
    """Linear RMS (1 = full scale) to its mu-law class, 0 .. LOUDNESS_CLASSES - 1 (int64)."""
    mu_law = np.log1p(MU * np.clip(np.asarray(rms, np.float64), 0.0, 1.0)) / np.log1p(MU)
    return np.minimum((mu_law * LOUDNESS_CLASSES).astype(np.int64), LOUDNESS_CLASSES - 1)


def class_db(classes: np.ndarray) -> np.ndarray:
    """The loudness a class stands for, in dBFS: the RMS at the centre of its mu-law interval,
    floored at FLOOR_DB (class 0 is silence)."""
    mu_law = (np.asarray(classes, np.float64) + 0.5) / LOUDNESS_CLASSES
    rms = np.expm1(mu_law * np.log1p(MU)) / MU
    return np.where(np.asarray(classes) == 0, bands.FLOOR_DB,
                    np.maximum(20.0 * np.log10(np.maximum(rms, 1e-12)), bands.FLOOR_DB))


BLOCK_SLOTS = 1800   # `of_pcm` reads a minute of sound at a time ...
CONTEXT_SLOTS = 4    # ... with this much either side (the spectra's frames reach 0.7 slot)


def of_pcm(samples: np.ndarray) -> np.ndarray:
    """The cue rows of one contiguous sound (PCM in [-1, 1], a whole number of slots):
    (slots, CUES) float32."""
    return _of_sound(np.asarray(samples).reshape(-1), lambda block: np.asarray(block, np.float64))


def _of_sound(y: np.ndarray, pcm_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`of_pcm` of the sound `y` (samples in a row), each block made PCM in float64 by
    `pcm_of` as it is read: a whole clip in float64 at once would take 6 KB a slot for each
    copy (two hours: gigabytes, while training holds the frames too)."""
    slots = y.size // grid.SAMPLES_PER_SLOT
    rows = np.zeros((slots, CUES), np.float32)
    strength = np.zeros(slots)
    # a block of slots at a time, with CONTEXT_SLOTS of sound either side (more than the
    # spectra's window reaches): the spectra of a whole clip at once take tens of KB a slot
    for first in range(0, slots, BLOCK_SLOTS):
        stop = min(first + BLOCK_SLOTS, slots)
        before, after = min(first, CONTEXT_SLOTS), min(slots - stop, CONTEXT_SLOTS)
        block = pcm_of(y[(first - before) * grid.SAMPLES_PER_SLOT:(stop + after) * grid.SAMPLES_PER_SLOT])
        inner = slice(before, before + stop - first)
        rows[first:stop, :BANDS] = band_units(bands.slot_band_db(block)[inner])
        classes = loudness_class(bands.slot_loudness(block)[inner])
        rows[np.arange(first, stop), BANDS + classes] = 1.0
        strength[first:stop] = onsets.onset_strength_slots(block)[inner]
    rows[onsets.pick_peaks(strength), ONSET] = 1.0
    return rows


def unit_targets(audio_rows: np.ndarray, segments: list[tuple[int, int]]) -> np.ndarray:
    """Training targets from audio.pkl rows ((n, 735), [0, 1] convention): (n, CUES) float32,
    each clip (segment) read on its own so no band, loudness or onset mixes two clips."""
    rows = np.asarray(audio_rows)
    targets = np.empty((len(rows), CUES), np.float32)
    for first, stop in framing.clip_runs(len(rows), segments):
        targets[first:stop] = _of_sound(rows[first:stop].reshape(-1),
                                        lambda block: grid.unit_to_pcm(block.astype(np.float64)))
    return targets


def prior_outputs(mean_target: np.ndarray) -> np.ndarray:
    """The output row that predicts the training prior, from the mean target row: the mean
    bands, the log of each loudness class's frequency, the logit of the onset rate (each
    floored at PRIOR_FLOOR). Fine-tuning starts from it, as other targets start from their
    mean, so that it begins at "predict the prior" and not on a plateau of wrong logits."""
    mean = np.asarray(mean_target, np.float64)
    row = mean.copy()
    row[LOUDNESS] = np.log(np.maximum(mean[LOUDNESS], PRIOR_FLOOR))
    rate = np.clip(mean[ONSET], PRIOR_FLOOR, 1.0 - PRIOR_FLOOR)
    row[ONSET] = np.log(rate / (1.0 - rate))
    return row.astype(np.float32)


def decode(outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Network outputs (n, CUES) to (band units (n, BANDS) in [0, 1], loudness dBFS (n,),
    loudness if it sounds dBFS (n,), onset probability (n,)).

    The loudness is the median class of the predicted distribution: a class the network
    gave, never a mean between a silent and a loud one (which would make a slot half loud),
    and unlike the most probable class not stuck on silence when the probability of sound is
    spread over many neighbouring loud classes. "If it sounds" is the median of the classes
    above silence (class 0 left out): how loud an event is, once one is decided on."""
    outputs = np.asarray(outputs, np.float64)
    band = np.clip(outputs[:, :BANDS], 0.0, 1.0)
    logits = outputs[:, LOUDNESS] - outputs[:, LOUDNESS].max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    loudness = class_db(_median_class(probabilities))
    sounding = class_db(1 + _median_class(probabilities[:, 1:]))
    onset = 0.5 * (1.0 + np.tanh(0.5 * outputs[:, ONSET]))
    return band, loudness, sounding, onset


def _median_class(probabilities: np.ndarray) -> np.ndarray:
    """The class where each row's cumulative (normalised) probability reaches one half."""
    cumulative = np.cumsum(probabilities, axis=1)
    return np.minimum((cumulative < 0.5 * cumulative[:, -1:]).sum(axis=1), probabilities.shape[1] - 1)


# --- the representation ----------------------------------------------------------------------
# library.py copies examples by this module's cue layout, so it is imported where it is used.

def synthesizer_of(output: dict[str, Any], record: bool = False) -> library.Synthesizer:
    """A cue brain's `library.Synthesizer`: its library, its onset threshold and its share of
    onsets events choose among by the bands (LOOKS_SHORTLIST for a brain calibrated before
    the share was; a re-arming drop such brains may hold is no longer used)."""
    from . import library

    return library.Synthesizer(output["library"], output["onset_threshold"], record=record,
                               looks_shortlist=output.get("looks_shortlist", library.LOOKS_SHORTLIST))


class DecodedCues:
    """Network outputs (n, CUES) to samples: `decode`, then example-based synthesis from the
    brain's library (`synthesizer_of`)."""

    def __init__(self, output: dict[str, Any]) -> None:
        self._synthesizer = synthesizer_of(output)

    def push(self, outputs: np.ndarray, looks: np.ndarray | None = None) -> np.ndarray:
        return self._synthesizer.push(*decode(outputs), looks=looks)

    def finish(self) -> np.ndarray:
        return self._synthesizer.finish()


def onset_weight(every_target: np.ndarray, train_rows: np.ndarray) -> float:
    """The onset's weight in the loss: negatives per positive among `train_rows` (so
    both classes weigh alike), at most MAX_ONSET_WEIGHT (a handful of onsets must not make
    every slot an event)."""
    onsets_seen = float(every_target[train_rows, ONSET].sum())
    return float(min(MAX_ONSET_WEIGHT, (len(train_rows) - onsets_seen) / max(onsets_seen, 1.0)))


class Cues(Representation):
    name = "cues"
    kind = KIND
    outputs = CUES
    what = f"{CUES} cues ({BANDS} bands, {LOUDNESS_CLASSES} loudness classes, an onset)"
    loss_text = ("mean squared error over rows and bands, cross-entropy of the loudness class "
                 "and weighted cross-entropy of the onset (cues.Cues.loss)")
    synthesis = "example-based synthesis"
    keeps_looks = True  # the library's onsets, for events to choose by (library.py)
    checked_keys = ("bands", "band_scale", "loudness_classes", "loudness_scale",
                    "samples_per_slot", "rate_hz")
    # Its settings are Settings' defaults, the recommended mode's (learn/settings.py).
    training: dict[str, Any] = {}

    def targets(self, sound_rows: np.ndarray, segments: list[tuple[int, int]]) -> np.ndarray:
        log.info("computing sound cue targets (%d bands, %d loudness classes, onsets)",
                 BANDS, LOUDNESS_CLASSES)
        return unit_targets(sound_rows, segments)

    def initial_bias(self, mean_target: np.ndarray) -> np.ndarray:
        return prior_outputs(mean_target)

    def loss(self, outputs: Any, targets: Any, tensor: Any, every_target: np.ndarray,
             train_rows: np.ndarray) -> Any:
        """E of a cue brain (a row is 40 bands, 64 loudness logits, 1 onset logit):

            E = mean over rows of ( sum_b (y_b - t_b)^2                 bands, squared error
                                    - sum_c t_c log softmax(y_L)_c      loudness class, cross-entropy
                                    - w t_o log s(y_o) - (1 - t_o) log(1 - s(y_o)) )  onset
                / 105

        divided by the 105 outputs so that a learning rate means what it means for the mean
        squared error; w (`onset_weight`) makes the rare onsets weigh as much as the rest.
        """
        weight = np.float32(onset_weight(every_target, train_rows))
        y, pt = outputs, tensor
        band_error = pt.sqr(y[:, :BANDS] - targets[:, :BANDS]).sum(axis=1)
        logits = y[:, LOUDNESS]
        top = logits.max(axis=1, keepdims=True)
        log_softmax = logits - top - pt.log(pt.exp(logits - top).sum(axis=1, keepdims=True))
        loudness = -(targets[:, LOUDNESS] * log_softmax).sum(axis=1)
        z, t = y[:, ONSET], targets[:, ONSET]
        # log s(z) = -softplus(-z), log(1 - s(z)) = -softplus(z): stable for any z
        onset = weight * t * pt.softplus(-z) + (1.0 - t) * pt.softplus(z)
        return ((band_error + loudness + onset) / CUES).mean()

    def calibrate(self, calibration: Calibration) -> dict[str, Any]:
        """The onset threshold, calibrated on rows fine-tuning never fitted so that render's
        events best match the true onsets; the example library, copied from the training
        sound on every row training may use, never a held-out one, with the looks of each of
        its onsets (data/looks.py: events choose their example by them); and the share of
        onsets, nearest by looks, that an event chooses among by the bands, calibrated on
        the library's own onsets (`library.shortlist_calibration`)."""
        from . import library

        rows = calibration.unfitted_rows
        probability = decode(calibration.outputs(rows))[-1]
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1  # contiguous runs: events need neighbours
        runs = list(zip(np.split(probability, breaks),
                        np.split(calibration.targets[rows, ONSET] > 0.5, breaks)))
        threshold = library.onset_calibration(runs)
        examples = library.build(calibration.sound, calibration.targets, calibration.usable_rows,
                                 calibration.segments, calibration.library_seconds, calibration.looks)
        calibrated = {"onset_threshold": threshold, "library": examples}
        if library.has_looks(examples):
            band, _, sounding_db, _ = decode(calibration.outputs(examples["rows"][examples["onset"]]))
            calibrated["looks_shortlist"] = library.shortlist_calibration(examples, band, sounding_db)
        log.info("onset threshold %.2f (on %d rows); example library: %d slots, %.1f MB; an "
                 "event chooses by the bands among the share %s of onsets nearest by looks",
                 threshold, len(rows), len(examples["slot_start"]), library.size_bytes(examples) / 1e6,
                 calibrated.get("looks_shortlist", "-"))
        return calibrated

    def convention(self) -> dict[str, Any]:
        return _convention()

    def check(self, output: dict[str, Any], source: str) -> None:
        from . import library

        super().check(output, source)
        library.check(output.get("library"), source)
        if not isinstance(output.get("onset_threshold"), float):
            raise UserError(f"{source}: the cue brain lacks its onset threshold; retrain it")
        share = output.get("looks_shortlist", library.LOOKS_SHORTLIST)
        if not isinstance(share, float) or not 0.0 <= share <= 1.0:
            raise UserError(f"{source}: the cue brain's share of onsets to choose among is not "
                            "a number from 0 to 1; retrain it")

    def uses_looks(self, output: dict[str, Any]) -> bool:
        from . import library

        return library.has_looks(output.get("library"))

    def synthesizer(self, output: dict[str, Any], mode: str) -> Synthesizer:
        del mode  # the sound is copied examples: no join
        return DecodedCues(output)


REPRESENTATION = Cues()
