"""Training pairs: load frames.pkl and audio.pkl, check them, and split off validation data.

Contract (README, File formats): frames are (N, pixels) and audio (N, 735) float32 arrays with values in
[0, 1], row i of each belonging to the same 1/30 s slot. Every check here fails with a
`UserError` naming the file and the problem, before any model is built.
"""

from __future__ import annotations

import functools
import json
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import UserError
from ..core.files import load_pickle
from ..media import video
from . import dataset, gathered

log = logging.getLogger("bitmap2pcm")

# Validation chunks: 3 s of video each (90 slots at 30 fps), about 10% of the data, with a
# 1 s gap dropped from training on both sides of each chunk, because neighbouring frames are
# near-duplicates and would otherwise let the validation loss see its own training data.
# 3 s rather than 10 s so that short data still get several chunks spread over their clips:
# the stft target's level calibration is measured on these rows, and with 10 s chunks the
# Planet Blupi cutscenes (about 100 s in the first 80%) had a single chunk, in one clip, whose
# gain was 10 dB off the held-out one.
VALIDATION_FRACTION = 0.1
VALIDATION_CHUNK = 90
VALIDATION_GAP = 30


@dataclass
class TrainingPairs:
    """Frames (N x pixels) and audio rows (N x samples), float32, checked and trimmed (the
    trainer's pairs hold the input rows, an array or `gathered.GatheredRows`, and targets
    instead: learn/pairs.py)."""

    frames: np.ndarray | gathered.GatheredRows
    audio: np.ndarray
    frames_path: str
    audio_path: str

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @functools.cached_property
    def provenance(self) -> dict | None:
        """pickler's sidecar for these rows (see `provenance_of`)."""
        return _read_provenance(self)

    @functools.cached_property
    def digest(self) -> int:
        """A CRC-32 of both arrays, so a resumed run can tell it is given the same data.
        Computed once: every epoch's snapshot records it, and over two hours of frames it
        takes seconds (the arrays are never changed in place)."""
        crc = gathered.crc32(self.frames)
        return zlib.crc32(memoryview(self.audio).cast("B"), crc)


def check_matrix(array: object, path: str | Path, what: str) -> np.ndarray:
    """Return `array` as a C-contiguous float32 matrix with values in [0, 1], or raise UserError.

    Any floating dtype is accepted and converted (the contract says float32, but float64 data
    is unambiguous); integers, booleans, objects and complex numbers are refused, since pixel
    values 0..255 or PCM integers would silently train on the wrong scale.
    """
    if not isinstance(array, np.ndarray):
        raise UserError(f"{path}: holds a {type(array).__name__}, expected a numpy array of {what}")
    if array.dtype.kind != "f":
        raise UserError(f"{path}: {what} have dtype {array.dtype}, expected float32 in [0, 1]")
    if array.ndim != 2:
        raise UserError(f"{path}: {what} array has shape {array.shape}, expected 2 dimensions "
                        f"(one row per slot)")
    if array.shape[0] == 0:
        raise UserError(f"{path}: no {what} (zero rows)")
    if array.shape[1] == 0:
        raise UserError(f"{path}: {what} rows are empty (shape {array.shape})")
    array = np.ascontiguousarray(array, dtype=np.float32)
    # min and max see every value without a temporary as big as the data, and a NaN or an
    # infinity turns up in one of them.
    low, high = float(array.min()), float(array.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        kind = "NaN" if np.isnan(low) or np.isnan(high) else "infinity"
        row = int(np.nonzero(~np.isfinite(array).all(axis=1))[0][0])
        raise UserError(f"{path}: {what} contain {kind} (first in row {row})")
    if low < 0.0 or high > 1.0:
        raise UserError(f"{path}: {what} range from {low:g} to {high:g}, expected values in [0, 1]")
    return array


def load_pairs(frames_path: str | Path, audio_path: str | Path) -> TrainingPairs:
    """Load and check both pickles; unequal row counts are trimmed to the shorter, with a warning."""
    frames = check_matrix(load_pickle(frames_path), frames_path, "frames")
    audio = check_matrix(load_pickle(audio_path), audio_path, "audio rows")
    if len(frames) != len(audio):
        keep = min(len(frames), len(audio))
        log.warning("%s has %d frames but %s has %d audio rows; training on the first %d",
                    frames_path, len(frames), audio_path, len(audio), keep)
        frames, audio = frames[:keep], audio[:keep]
    return TrainingPairs(frames, audio, str(frames_path), str(audio_path))


def check_layers(layer_sizes: list[int], pairs: TrainingPairs) -> None:
    """The first layer must be the frame size and the last the audio row size."""
    if len(layer_sizes) < 2:
        raise UserError(f"layers {layer_sizes}: need at least an input and an output layer")
    if min(layer_sizes) < 1:
        raise UserError(f"layers {layer_sizes}: every layer needs at least one unit")
    pixels, samples = pairs.frames.shape[1], pairs.audio.shape[1]
    if layer_sizes[0] != pixels:
        raise UserError(f"layers {_dashed(layer_sizes)}: input layer has {layer_sizes[0]} units but "
                        f"{pairs.frames_path} has {pixels} pixels per frame")
    if layer_sizes[-1] != samples:
        raise UserError(f"layers {_dashed(layer_sizes)}: output layer has {layer_sizes[-1]} units "
                        f"but {pairs.audio_path} has {samples} samples per row")


def _dashed(sizes: list[int]) -> str:
    return "-".join(str(size) for size in sizes)


def validation_split(count: int, fraction: float = VALIDATION_FRACTION,
                     chunk: int = VALIDATION_CHUNK, gap: int = VALIDATION_GAP
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers (train, validation) for `count` consecutive slots.

    Validation takes round(count * fraction / chunk) contiguous chunks (at least one), spread
    evenly over the timeline so that every part of the video is represented; short data get
    one shorter chunk. `gap` rows on each side of a chunk go to neither set (shrunk for short
    data so training keeps most rows). With fewer than 2 rows there is nothing to hold out and
    validation is empty.
    """
    if count < 2 or fraction <= 0:
        return np.arange(count), np.arange(0)
    wanted = max(1, int(round(count * fraction)))
    chunks = max(1, int(round(wanted / chunk)))
    length = max(1, wanted // chunks)
    gap = min(gap, length // 3)
    starts = [int(np.clip(round((j + 0.5) * count / chunks - length / 2), 0, count - length))
              for j in range(chunks)]
    role = np.zeros(count, np.int8)  # 0 train, 1 validation, 2 gap (neither)
    for start in starts:
        role[max(0, start - gap):start + length + gap] = 2
    for start in starts:
        role[start:start + length] = 1
    train, validation = np.nonzero(role == 0)[0], np.nonzero(role == 1)[0]
    if train.size == 0:  # tiny data: never leave training empty
        return np.arange(count), np.arange(0)
    return train, validation


def provenance_of(pairs: TrainingPairs) -> dict | None:
    """pickler's sidecar next to frames.pkl, when there is one that describes these rows.

    A sidecar with another row count (the pickles were replaced or edited) is ignored with a
    warning, as is one that cannot be read. Read once per `pairs`: clips, hold-out, targets,
    history and every checkpoint's record all ask, and the warning should be said once.
    """
    return pairs.provenance


def _read_provenance(pairs: TrainingPairs) -> dict | None:
    sidecar = sidecar_path(pairs)
    if sidecar is None:
        return None
    try:
        provenance = json.loads(Path(sidecar).read_text())
    except (OSError, ValueError) as error:
        log.warning("%s: unreadable sidecar (%s); ignoring it", sidecar, error)
        return None
    if not isinstance(provenance, dict) or provenance.get("slots") != len(pairs):
        log.warning("%s does not describe %s (other row count); ignoring it", sidecar, pairs.frames_path)
        return None
    return provenance


def clip_segments(pairs: TrainingPairs) -> list[tuple[int, int]]:
    """(first_row, stop_row) of every clip (`clips_of`): the runs a target is analysed in."""
    return [(clip["first_row"], clip["first_row"] + clip["slots"]) for clip in clips_of(pairs)]


def clips_of(pairs: TrainingPairs) -> list[dict]:
    """The clips the rows came from, per pickler's sidecar next to frames.pkl.

    Without a sidecar that matches the data, all rows are one clip of unknown source. Rows
    after the last clip (silence anchors) belong to no clip.
    """
    provenance = provenance_of(pairs) or {}
    try:
        if provenance.get("clips"):
            return [{"source": c["source"], "first_row": int(c["first_row"]),
                     "slots": int(c["slots"])} for c in provenance["clips"]]
    except (KeyError, TypeError, ValueError) as error:
        log.warning("sidecar of %s lists unreadable clips (%s); treating all rows as one clip",
                    pairs.frames_path, error)
    return [{"source": None, "first_row": 0, "slots": len(pairs)}]


def picture_interpolation(pairs: TrainingPairs) -> str:
    """How the frames were shrunk (pickler --interpolation), so render can do the same."""
    interpolation = ((provenance_of(pairs) or {}).get("picture") or {}).get("interpolation")
    if interpolation is None:
        log.info("no dataset.json beside %s says how its frames were shrunk; assuming '%s'",
                    pairs.frames_path, video.DEFAULT_INTERPOLATION)
        return video.DEFAULT_INTERPOLATION
    return interpolation


def picture_channels(pairs: TrainingPairs) -> int:
    """Planes of each frame, 3 for colour (pickler --color), as pickler's sidecar says; frames
    without a sidecar that says so are gray."""
    return video.channels_of((provenance_of(pairs) or {}).get("picture") or {})


def sidecar_path(pairs: TrainingPairs) -> str | None:
    """pickler's dataset.json beside frames.pkl, if there is one."""
    candidate = Path(pairs.frames_path).resolve().parent / dataset.SIDECAR_FILE
    return str(candidate) if candidate.is_file() else None


def split_rows(pairs: TrainingPairs, holdout_tail: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """Row numbers (train, validation) of a run, and its hold-out record: the tails go first
    (`hold_out_tails`), validation chunks come from the rest (`validation_split`)."""
    usable, holdout = hold_out_tails(pairs, holdout_tail)
    train, validation = validation_split(len(usable))
    return usable[train], usable[validation], holdout


def hold_out_tails(pairs: TrainingPairs, fraction: float) -> tuple[np.ndarray, dict]:
    """Rows training may use, and the record of what was held out for evaluation.

    The last `fraction` of every clip is never seen in training (neither fitted nor used for
    early stopping), so evaluate.py can score the brain on those slots. The record gives each
    clip's held-out slots in the clip's own numbering (slot 0 = the video's first slot).
    """
    if not 0.0 <= fraction < 1.0:
        raise UserError(f"--holdout-tail must be at least 0 and below 1, not {fraction}")
    usable = np.ones(len(pairs), dtype=bool)
    held = []
    for clip in clips_of(pairs):
        tail = int(round(clip["slots"] * fraction))
        if tail == 0:
            continue
        end = clip["first_row"] + clip["slots"]
        usable[end - tail:end] = False
        held.append({"source": clip["source"], "from_slot": clip["slots"] - tail,
                     "to_slot": clip["slots"]})
    if fraction and not usable.any():
        raise UserError(f"--holdout-tail {fraction} leaves no rows to train on")
    return np.nonzero(usable)[0], {"fraction": fraction, "clips": held}
