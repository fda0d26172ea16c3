"""Training pairs: a video becomes frames.pkl + audio.pkl (SPEC §3) and a JSON sidecar.

Row i of frames.pkl is slot i's picture (4096 float32 values in [0, 1]); row i of audio.pkl
is the 735 samples heard during that slot, stored as (s + 1) / 2. One ffmpeg pass decodes
both: the pictures stream through a pipe into a preallocated array, the sound track goes to
a temporary raw file beside the outputs.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from . import __version__, audio, grid, video
from .errors import UserError
from .files import atomic_path, check_writable_dir, save_json

log = logging.getLogger(__name__)

FRAMES_FILE = "frames.pkl"
AUDIO_FILE = "audio.pkl"
SIDECAR_FILE = "dataset.json"
SIDECAR_FORMAT = "bitmap2pcm-dataset"
TOLERATED_SHORTFALL_SLOTS = grid.SLOTS_PER_SECOND  # a second less than promised is a warning


@dataclass
class Dataset:
    """Aligned training pairs: frames (N, 4096) and audio rows (N, 735), both float32 in [0, 1]."""

    frames: np.ndarray
    audio: np.ndarray
    provenance: dict[str, Any]

    @property
    def slots(self) -> int:
        return len(self.frames)


def decode(path: str | Path, interpolation: str = video.DEFAULT_INTERPOLATION,
           scratch_dir: str | Path | None = None, progress: bool = True) -> Dataset:
    """Decode a video with sound into aligned slot pairs (no silence anchors)."""
    info = video.probe(path)
    video.require_video(info)
    if not info.has_audio:
        raise UserError(f"{info.path}: has no sound track, so there is nothing to learn from")

    capacity = max(info.expected_slots + grid.SLOTS_PER_SECOND, 1)
    frames = np.empty((capacity, grid.PIXELS_PER_FRAME), dtype=np.float32)
    handle, raw_sound = tempfile.mkstemp(prefix=".sound.", suffix=".f32", dir=scratch_dir)
    os.close(handle)
    started = time.perf_counter()
    try:
        stream = video.FrameStream(info.path, interpolation=interpolation,
                                   extra_outputs=audio.sound_output_args(raw_sound))
        filled = 0
        with tqdm(total=info.expected_slots or None, unit="slot", disable=not progress,
                  desc="decoding", leave=False) as bar:
            for batch in stream:
                if filled + len(batch) > len(frames):  # the container understated its length
                    frames = _grown(frames, filled + len(batch))
                video.frames_to_unit(batch, out=frames[filled: filled + len(batch)])
                filled += len(batch)
                bar.update(len(batch))
        samples = audio.read_raw_samples(raw_sound)
    finally:
        os.unlink(raw_sound)

    if filled == 0:
        raise UserError(f"{info.path}: no picture could be decoded")
    _warn_about_shortfalls(info, filled, len(samples), stream.stderr)
    seconds = time.perf_counter() - started
    provenance = {
        "format": SIDECAR_FORMAT,
        "version": 1,
        "software": f"bitmap2pcm {__version__}",
        "source": str(info.path.resolve()),
        "source_duration_s": round(info.duration_s, 3),
        "source_fps": info.fps,
        "source_size": [info.width, info.height],
        "source_audio": {"rate_hz": info.audio_rate_hz, "channels": info.audio_channels},
        "slots": filled,
        "video_slots": filled,
        "silence_seconds": 0,
        "picture": {"side": grid.FRAME_SIDE, "interpolation": interpolation,
                    "color": "gray (decoder luma, full range)", "value_range": [0, 1]},
        "sound": {"rate_hz": grid.RATE_HZ, "samples_per_slot": grid.SAMPLES_PER_SLOT,
                  "mapping": "stored = (pcm + 1) / 2"},
        "decode_seconds": round(seconds, 2),
    }
    return Dataset(frames[:filled], audio.to_slots(samples, filled), provenance)


def _grown(frames: np.ndarray, needed: int) -> np.ndarray:
    bigger = np.empty((max(needed, int(len(frames) * 1.25)), frames.shape[1]), dtype=frames.dtype)
    bigger[: len(frames)] = frames
    return bigger


def _warn_about_shortfalls(info: video.MediaInfo, slots: int, samples: int, ffmpeg_log: str) -> None:
    """Truncated or damaged files keep what decodes; say how much that is."""
    if ffmpeg_log.strip():
        log.warning("%s: ffmpeg reported decoding problems: %s", info.path,
                    ffmpeg_log.strip().splitlines()[-1])
    if slots + TOLERATED_SHORTFALL_SLOTS < info.expected_slots:
        log.warning("%s: kept the %d slots (%.1f s) that decode; the file claims %.1f s "
                    "(truncated or damaged?)", info.path, slots,
                    slots / grid.SLOTS_PER_SECOND, info.duration_s)
    sound_slots = samples / grid.SAMPLES_PER_SLOT
    if sound_slots + TOLERATED_SHORTFALL_SLOTS < slots:
        log.warning("%s: the sound track covers %.1f s of %.1f s of pictures; the rest is "
                    "paired with silence", info.path, sound_slots / grid.SLOTS_PER_SECOND,
                    slots / grid.SLOTS_PER_SECOND)


def with_silence_anchors(data: Dataset, seconds: float) -> Dataset:
    """Append `seconds` of black frames, then of white frames, all paired with silence.

    The original author's suggestion: a network that has seen dark and blank pictures
    paired with silence learns to keep them quiet.
    """
    slots = grid.slots_in(seconds)
    if slots == 0:
        return data
    anchors = np.zeros((2 * slots, grid.PIXELS_PER_FRAME), dtype=np.float32)
    anchors[slots:] = 1.0
    silence = np.full((2 * slots, grid.SAMPLES_PER_SLOT), grid.pcm_to_unit(0.0), np.float32)
    provenance = dict(data.provenance, slots=data.slots + 2 * slots, silence_seconds=seconds,
                      silence_slots={"black": [data.slots, data.slots + slots],
                                     "white": [data.slots + slots, data.slots + 2 * slots]})
    return Dataset(np.concatenate([data.frames, anchors]), np.concatenate([data.audio, silence]),
                   provenance)


def save(data: Dataset, folder: str | Path) -> tuple[Path, Path]:
    """Write frames.pkl, audio.pkl and dataset.json into `folder`, each atomically.

    Both pickles are complete on disk before either is renamed into place, so a failure
    never pairs new frames with old audio.
    """
    folder = Path(folder)
    frames_path, audio_path = folder / FRAMES_FILE, folder / AUDIO_FILE
    with atomic_path(frames_path) as frames_tmp, atomic_path(audio_path) as audio_tmp:
        for array, temporary in ((data.frames, frames_tmp), (data.audio, audio_tmp)):
            with open(temporary, "wb") as stream:
                pickle.dump(np.ascontiguousarray(array, dtype=np.float32), stream, protocol=5)
                stream.flush()
                os.fsync(stream.fileno())
    save_json(data.provenance, folder / SIDECAR_FILE)
    return frames_path, audio_path


def make(video_path: str | Path, folder: str | Path = ".", silence_seconds: float = 0.0,
         interpolation: str = video.DEFAULT_INTERPOLATION, progress: bool = True) -> Dataset:
    """pickler.py's job: decode `video_path` and write the training pair into `folder`."""
    folder = check_writable_dir(folder)
    if silence_seconds < 0:
        raise UserError(f"--silence must be zero or more seconds, not {silence_seconds}")
    data = decode(video_path, interpolation, scratch_dir=folder, progress=progress)
    data = with_silence_anchors(data, silence_seconds)
    save(data, folder)
    return data

