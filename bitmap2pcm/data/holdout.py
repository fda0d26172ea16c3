"""Which slots evaluate scores, and which training rows baselines may learn from.

A brain trained with `theanet.py --holdout-tail F` records, in its training record:

    holdout  {"fraction": F, "clips": [{"source": "/abs/video.mkv", "from_slot": a,
                                        "to_slot": b}, ...]}   clip-local slots [a, b)
    data     {"frames": "/abs/frames.pkl", "audio": "/abs/audio.pkl",
              "sidecar": "/abs/dataset.json"}

and the pickler's sidecar (dataset.json) lists the clips the rows came from:

    clips    [{"source": "/abs/video.mkv", "first_row": r, "slots": n}, ...]

A video is matched to these records by its resolved absolute path, and failing that by its
file name (a data set made on another machine, or the video moved). Rows after the last clip
(silence anchors) belong to no clip but are training rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import numpy as np

from ..core import grid
from ..core.errors import UserError
from ..core.files import load_pickle
from .dataset import SIDECAR_FILE

Entry = TypeVar("Entry")
SlotRange = tuple[int, int]  # [start, stop) in slots of one video


def matching(entries: Iterable[Entry], video: str | Path,
             source_of: Callable[[Entry], Any] = lambda e: e["source"]) -> list[Entry]:
    """The entries whose source is `video`: those with the same resolved path if any,
    otherwise those with the same file name."""
    entries = list(entries)
    wanted = Path(video).resolve()
    same_path = [e for e in entries if source_of(e) and Path(source_of(e)).resolve() == wanted]
    if same_path:
        return same_path
    return [e for e in entries if source_of(e) and Path(source_of(e)).name == wanted.name]


def held_out_ranges(training: dict[str, Any], video: str | Path) -> list[SlotRange]:
    """The slot ranges of `video` the brain never trained on, by its holdout record; empty
    when the brain records no holdout or held out nothing of this video."""
    holdout = training.get("holdout") or {}
    return [(int(e["from_slot"]), int(e["to_slot"]))
            for e in matching(holdout.get("clips", []), video)]


def held_out_videos(training: dict[str, Any]) -> list[Path]:
    """Every video the brain held part of out, in the order recorded (each once). A holdout
    of rows whose video was never recorded (trained without a matching dataset.json) is a
    UserError: there is no video to find."""
    holdout = training.get("holdout") or {}
    entries = holdout.get("clips", [])
    unknown = [e for e in entries if not e.get("source")]
    if unknown:
        raise UserError(_unknown_source(unknown[0]) + "; name the video and score that part "
                        "with --from/--to")
    return list(dict.fromkeys(Path(e["source"]) for e in entries))


def _unknown_source(entry: dict[str, Any]) -> str:
    return (f"the brain held out rows {entry['from_slot']}-{entry['to_slot']} of training data "
            f"that recorded no source video (no dataset.json matched frames.pkl)")


def seconds_to_slots(start_s: float | None, stop_s: float | None, slots: int,
                     video: str | Path) -> SlotRange:
    """--from/--to in seconds to a slot range [start, stop) of a `slots`-slot video: the slots
    that overlap the interval. A range that is empty or reaches outside the video is a
    UserError naming the video's length."""
    length_s = slots / grid.SLOTS_PER_SECOND
    start = 0.0 if start_s is None else start_s
    stop = length_s if stop_s is None else stop_s
    if start < 0 or stop > length_s + 1e-9 or start >= stop:
        raise UserError(f"{video}: range {start:g}-{stop:g} s is outside the video "
                        f"(0-{length_s:.2f} s, {slots} slots) or empty")
    first = int(np.floor(start * grid.SLOTS_PER_SECOND + 1e-9))
    last = int(np.ceil(stop * grid.SLOTS_PER_SECOND - 1e-9))
    return first, min(max(last, first + 1), slots)


def scored_ranges(training: dict[str, Any], video: str | Path, slots: int,
                  start_s: float | None = None, stop_s: float | None = None) -> tuple[list[SlotRange], str]:
    """Which slots of `video` to score, and why: --from/--to when given; otherwise the part
    the brain held out of this video; otherwise (a video the brain held nothing out of) all
    of it. A holdout that reaches past the video's end means the brain was trained on another
    cut of the file: a UserError, not a silent truncation."""
    if start_s is not None or stop_s is not None:
        return [seconds_to_slots(start_s, stop_s, slots, video)], "--from/--to"
    ranges = held_out_ranges(training, video)
    if not ranges:
        holdout = training.get("holdout") or {}
        if any(not e.get("source") for e in holdout.get("clips", [])):
            # It may be this very video: scoring all of it would score training slots too.
            return [(0, slots)], "whole video (the brain held out slots of an unrecorded video; " \
                                 "if it is this one, score them with --from/--to)"
        return [(0, slots)], "whole video"
    for start, stop in ranges:
        if not 0 <= start < stop <= slots:
            raise UserError(f"{video}: brain/video mismatch: the brain held out slots "
                            f"{start}-{stop} of a video of this name, but this one has {slots} slots")
    return ranges, "held out in training"


@dataclass(frozen=True)
class Clip:
    """One video's rows in a data set: rows [first_row, first_row + slots)."""

    source: str | None
    first_row: int
    slots: int


def dataset_clips(sidecar: dict[str, Any], rows: int) -> list[Clip]:
    """The clips of a data set from its sidecar. A sidecar without "clips" (one video, made
    before several were allowed) is one clip: its "source", "video_slots" rows long. A sidecar
    that counts other rows than the data has describes other data: then, as theanet.py does
    (`trainset.clips_of`), all rows are one clip of unknown source."""
    if sidecar.get("slots") is not None and int(sidecar["slots"]) != rows:
        return [Clip(None, 0, rows)]
    if sidecar.get("clips"):
        return [Clip(c.get("source"), int(c["first_row"]), int(c["slots"])) for c in sidecar["clips"]]
    return [Clip(sidecar.get("source"), 0, int(sidecar.get("video_slots", rows)))]


@dataclass
class TrainingData:
    """The rows a brain could learn from: frames (N, pixels) and audio rows (N, 735) in
    [0, 1], with `trained` marking rows not held out, and the clips they came from."""

    frames: np.ndarray
    audio: np.ndarray
    clips: list[Clip]
    trained: np.ndarray
    origin: str

    def clip_rows(self, video: str | Path) -> np.ndarray | None:
        """Training rows (held-out rows excluded) of `video`'s clip, or None when the data
        set holds no clip of that video."""
        clips = matching(self.clips, video, source_of=lambda c: c.source)
        if not clips:
            return None
        rows = np.concatenate([np.arange(c.first_row, c.first_row + c.slots) for c in clips])
        return rows[self.trained[rows]]


class NoTrainingData(UserError):
    """The brain's training data is not to be had here, which is no fault of the input: the
    brain records none, or the files it records are not on this machine (a shipped brain's
    always). The message is for a listener: plain words, no paths."""


def load_training_data(training: dict[str, Any], pixels: int, frames_path: str | Path | None = None,
                       audio_path: str | Path | None = None) -> TrainingData:
    """The brain's training rows (`training`: its training record; `pixels`: values per
    frame), from the paths it records or those given; held-out rows
    are marked. Raises NoTrainingData when the brain's own data is not to be had, and
    UserError saying what is wrong with the data found (then no baselines either)."""
    recorded = training.get("data") or {}
    given = frames_path is not None or audio_path is not None
    frames_path = frames_path or recorded.get("frames")
    audio_path = audio_path or recorded.get("audio")
    if not frames_path or not audio_path:
        raise NoTrainingData("the brain records no training data; pass --train-frames and --train-audio")
    if not given and not (Path(frames_path).exists() and Path(audio_path).exists()):
        raise NoTrainingData("this brain's training data is not on this machine (the baselines "
                             "are learned from it)")
    frames, audio = load_pickle(frames_path), load_pickle(audio_path)
    for array, path, width in ((frames, frames_path, pixels),
                               (audio, audio_path, grid.SAMPLES_PER_SLOT)):
        if not isinstance(array, np.ndarray) or array.ndim != 2 or array.shape[1] != width:
            raise UserError(f"{path}: expected an N x {width} array")
    if len(frames) != len(audio):
        raise UserError(f"{frames_path} and {audio_path} hold {len(frames)} and {len(audio)} rows")
    sidecar_path = _sidecar_path(recorded.get("sidecar"), frames_path)
    sidecar = _read_json(sidecar_path) if sidecar_path else {}
    clips = dataset_clips(sidecar, len(frames))
    trained = np.ones(len(frames), dtype=bool)
    holdout = (training.get("holdout") or {}).get("clips", [])
    if holdout and not sidecar_path:
        raise UserError(f"the brain held slots out but there is no {SIDECAR_FILE} beside {frames_path} "
                        "to say which rows they are")
    for entry in holdout:
        if not entry.get("source"):
            # theanet.py held out the tail of all rows taken as one clip (no matching sidecar):
            # its slots are row numbers.
            trained[int(entry["from_slot"]): int(entry["to_slot"])] = False
            continue
        found = matching(clips, entry["source"], source_of=lambda c: c.source)
        if not found:
            raise UserError(f"{sidecar_path}: lists no clip of {entry['source']}, which the brain "
                            "held slots out of")
        for clip in found:
            trained[clip.first_row + int(entry["from_slot"]): clip.first_row + int(entry["to_slot"])] = False
    return TrainingData(np.asarray(frames), np.asarray(audio), clips, trained,
                        origin=f"{frames_path} + {audio_path}")


def _sidecar_path(recorded: str | None, frames_path: str | Path) -> Path | None:
    for candidate in (recorded, Path(frames_path).with_name(SIDECAR_FILE)):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: not a readable dataset sidecar ({error})") from None
