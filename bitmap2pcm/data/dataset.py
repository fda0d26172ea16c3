"""Training pairs: videos become frames.pkl + audio.pkl (README, File formats) and a JSON sidecar.

Row i of frames.pkl is slot i's picture (4096 float32 values in [0, 1]; with colour, pickler
--color, 3 * 4096: the R, G and B planes, see media/video.py); row i of audio.pkl
is the 735 samples heard during that slot, stored as (s + 1) / 2. One ffmpeg pass decodes
both: the pictures stream through a pipe into a preallocated array, the sound track goes to
a temporary raw file beside the outputs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import __version__
from ..core import cli, grid
from ..core.errors import UserError
from ..core.files import atomic_path, check_writable_dir
from ..media import audio, video

log = logging.getLogger(__name__)

FRAMES_FILE = "frames.pkl"
AUDIO_FILE = "audio.pkl"
SIDECAR_FILE = "dataset.json"
SIDECAR_FORMAT = "bitmap2pcm-dataset"
TOLERATED_SHORTFALL_SLOTS = grid.SLOTS_PER_SECOND  # a second less than promised is a warning


@dataclass
class Dataset:
    """Aligned training pairs: frames (N, 4096), or (N, 3 * 4096) in colour, and audio rows
    (N, 735), both float32 in [0, 1]."""

    frames: np.ndarray
    audio: np.ndarray
    provenance: dict[str, Any]

    @property
    def slots(self) -> int:
        return len(self.frames)


class RowBuffer:
    """A float32 (rows, width) array filled batch by batch, preallocated from an estimate.

    Decoding writes straight into it, so peak memory stays near the final array's size; it
    grows (rarely: only when a container understates its length) by a quarter at a time.
    """

    def __init__(self, width: int, capacity: int):
        self._array = np.empty((max(capacity, 1), width), dtype=np.float32)
        self.rows = 0

    def reserve(self, count: int) -> np.ndarray:
        """The next `count` rows, to be written by the caller."""
        if self.rows + count > len(self._array):
            bigger = np.empty((max(self.rows + count, int(len(self._array) * 1.25)),
                               self._array.shape[1]), dtype=np.float32)
            bigger[: self.rows] = self._array[: self.rows]
            self._array = bigger
        block = self._array[self.rows: self.rows + count]
        self.rows += count
        return block

    def view(self) -> np.ndarray:
        return self._array[: self.rows]


def inspect(path: str | Path) -> video.MediaInfo:
    """Probe a training video; refuse it now, before any decoding, if it cannot be used."""
    info = video.probe(path)
    video.require_video(info)
    if not info.has_audio:
        raise UserError(f"{info.path}: has no sound track, so there is nothing to learn from")
    return info


class ClipDecoder:
    """One ffmpeg pass over a video: pictures through a pipe, the sound track into a scratch
    file beside the outputs. `start` launches ffmpeg early; `close` always cleans up."""

    def __init__(self, info: video.MediaInfo, interpolation: str, scratch_dir: str | Path | None,
                 channels: int = 1):
        handle, self.raw_sound = tempfile.mkstemp(prefix=".sound.", suffix=".f32", dir=scratch_dir)
        os.close(handle)
        self.stream = video.FrameStream(
            info.path, interpolation=interpolation, origin_s=info.origin_s,
            extra_outputs=audio.sound_output_args(self.raw_sound, info.origin_s), channels=channels)

    def start(self) -> "ClipDecoder":
        self.stream.start()
        return self

    def close(self) -> None:
        self.stream.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.raw_sound)


def decode_clip(info: video.MediaInfo, decoder: ClipDecoder, frames: RowBuffer, rows: RowBuffer,
                progress: bool = True) -> dict[str, Any]:
    """Decode one video into the buffers and close `decoder`.

    Returns the clip's provenance: source, first row, slots, and the source's format.
    """
    first_row = frames.rows
    started = time.perf_counter()
    try:
        for batch in cli.progress(decoder.stream, info.expected_slots, progress,
                                  f"decoding {info.path.name}"):
            video.frames_to_unit(batch, out=frames.reserve(len(batch)))
        samples = audio.read_raw_samples(decoder.raw_sound)
    finally:
        decoder.close()

    _raise_if_scratch_failed(decoder)
    slots = frames.rows - first_row
    if slots == 0:
        raise UserError(f"{info.path}: no picture could be decoded")
    _warn_about_shortfalls(info, slots, len(samples), decoder.stream.stderr)
    rows.reserve(slots)[:] = audio.to_slots(samples, slots)
    return {
        "source": str(info.path.resolve()),
        "first_row": first_row,
        "slots": slots,
        "duration_s": round(info.duration_s, 3),
        "fps": info.fps,
        "size": [info.width, info.height],
        "audio": {"rate_hz": info.audio_rate_hz, "channels": info.audio_channels},
        "decode_seconds": round(time.perf_counter() - started, 2),
    }


def _raise_if_scratch_failed(decoder: ClipDecoder) -> None:
    """A sound track that could not be written beside the outputs is a failing system, not a
    damaged video: one error naming the folder, not warnings about a short sound track."""
    reason = video.write_failure(decoder.stream.stderr)
    if reason:
        raise UserError(f"{Path(decoder.raw_sound).parent}: cannot write the decoded sound "
                        f"track ({reason.rsplit(': ', 1)[-1]})")


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


def add_silence_anchors(frames: RowBuffer, rows: RowBuffer, seconds: float) -> dict[str, list[int]]:
    """Append `seconds` of black frames, then of white frames, all paired with silence.

    The original author's suggestion: a network that has seen dark and blank pictures
    paired with silence learns to keep them quiet. Returns the rows each kind occupies.
    """
    slots = grid.slots_in(seconds)
    placed = {}
    for kind, brightness in (("black", 0.0), ("white", 1.0)):
        placed[kind] = [frames.rows, frames.rows + slots]
        frames.reserve(slots)[:] = brightness
        rows.reserve(slots)[:] = grid.pcm_to_unit(0.0)
    return placed


def make(video_paths: Sequence[str | Path], folder: str | Path = ".", silence_seconds: float = 0.0,
         interpolation: str = video.DEFAULT_INTERPOLATION, progress: bool = True,
         channels: int = 1) -> Dataset:
    """pickler.py's job: decode the videos, one clip after another, add silence anchors, and
    write frames.pkl, audio.pkl and dataset.json into `folder`. `channels` 3 keeps the
    pictures in colour (three planes per row), 1 in gray."""
    folder = check_writable_dir(folder)
    if not video_paths:
        raise UserError("no video given")
    if silence_seconds < 0:
        raise UserError(f"--silence must be zero or more seconds, not {silence_seconds}")
    # The first ffmpeg starts while the other files are checked: each ffprobe call takes
    # 0.1 s or more (0.12-0.14 s measured on a 720p MP4), which would otherwise come on top of
    # the decoding. (It needs its own file's probe first: that gives the grid's time zero.)
    infos = [inspect(video_paths[0])]
    first = ClipDecoder(infos[0], interpolation, folder, channels).start()
    try:
        infos += [inspect(path) for path in video_paths[1:]]
    except BaseException:
        first.close()
        raise
    anchor_slots = 2 * grid.slots_in(silence_seconds)
    capacity = sum(info.expected_slots + grid.SLOTS_PER_SECOND for info in infos) + anchor_slots
    frames = RowBuffer(channels * grid.PIXELS_PER_FRAME, capacity)
    rows = RowBuffer(grid.SAMPLES_PER_SLOT, capacity)
    decoders = [first] + [ClipDecoder(info, interpolation, folder, channels) for info in infos[1:]]
    try:
        clips = [decode_clip(info, decoder, frames, rows, progress)
                 for info, decoder in zip(infos, decoders)]
    finally:
        for decoder in decoders:
            decoder.close()
    video_slots = frames.rows
    provenance: dict[str, Any] = {
        "format": SIDECAR_FORMAT,
        "version": 1,
        "software": f"bitmap2pcm {__version__}",
        "slots": video_slots + anchor_slots,
        "video_slots": video_slots,
        "clips": clips,
        "silence_seconds": silence_seconds,
        "picture": {"side": grid.FRAME_SIDE, "interpolation": interpolation,
                    "color": video.color_name(channels), "value_range": [0, 1]},
        "sound": {"rate_hz": grid.RATE_HZ, "samples_per_slot": grid.SAMPLES_PER_SLOT,
                  "mapping": "stored = (pcm + 1) / 2"},
    }
    if anchor_slots:
        provenance["silence_slots"] = add_silence_anchors(frames, rows, silence_seconds)
    data = Dataset(frames.view(), rows.view(), provenance)
    save(data, folder)
    return data


def save(data: Dataset, folder: str | Path) -> tuple[Path, Path]:
    """Write frames.pkl, audio.pkl and dataset.json into `folder`, each atomically.

    All three are complete on disk before any is renamed into place, so a failure never
    pairs new frames with old audio or an old sidecar.
    """
    folder = Path(folder)
    frames_path, audio_path = folder / FRAMES_FILE, folder / AUDIO_FILE
    with atomic_path(frames_path) as frames_tmp, atomic_path(audio_path) as audio_tmp, \
            atomic_path(folder / SIDECAR_FILE) as sidecar_tmp:
        for array, temporary in ((data.frames, frames_tmp), (data.audio, audio_tmp)):
            with open(temporary, "wb") as stream:
                pickle.dump(np.ascontiguousarray(array, dtype=np.float32), stream, protocol=5)
                stream.flush()
                os.fsync(stream.fileno())
        sidecar_tmp.write_text(json.dumps(data.provenance, indent=2, sort_keys=True) + "\n")
    return frames_path, audio_path

