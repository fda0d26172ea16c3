"""Sound in and out: decode a sound track onto the grid's 22050 Hz mono timeline, cut it
into 735-sample slot rows, and read WAV files back.

Sound is placed by timestamp like the pictures, from the same time zero (`MediaInfo.origin_s`):
`aresample`'s async mode pads a late start with silence (and fills gaps), so sample 735*i is
heard at i/30 s even when the audio stream starts after the video. Channels are mixed down by
ffmpeg's standard downmix matrix.
"""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path
from typing import Iterable

import numpy as np
import soundfile

from ..core import grid
from ..core.errors import UserError
from .video import ffmpeg_input_args, origin_shift, probe


def sound_filter(origin_s: float) -> str:
    """The ffmpeg filter chain that puts the sound track on the grid: from time zero, at
    22050 Hz, mono float samples."""
    return (f"asettb=1/1000000,asetpts='PTS{origin_shift(origin_s)}',"
            f"aresample={grid.RATE_HZ}:async=1:first_pts=0,"
            "aformat=sample_fmts=flt:channel_layouts=mono")


def sound_output_args(destination: str | Path, origin_s: float) -> list[str]:
    """ffmpeg output options that write the first sound track as raw float32 mono samples."""
    return ["-map", "0:a:0", "-af", sound_filter(origin_s), "-vn", "-sn", "-dn",
            "-f", "f32le", "-y", str(destination)]


def read_raw_samples(path: str | Path) -> np.ndarray:
    """Samples written by `sound_output_args`, as float32 in [-1, 1]."""
    samples = np.fromfile(path, dtype="<f4")
    return np.clip(samples, -1.0, 1.0, out=samples)


def read_sound(path: str | Path, origin_s: float | None = None) -> np.ndarray:
    """The first sound track of any media file on the grid (from time zero `origin_s`, probed
    when not given), at 22050 Hz mono, float32 in [-1, 1]."""
    if origin_s is None:
        origin_s = probe(path).origin_s
    command = ffmpeg_input_args(Path(path)) + sound_output_args("pipe:1", origin_s)
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0 and not result.stdout:
        reason = (result.stderr.decode(errors="replace").strip().splitlines() or ["no sound"])[-1]
        raise UserError(f"{path}: could not decode the sound track ({reason})")
    samples = np.frombuffer(result.stdout[: len(result.stdout) // 4 * 4], "<f4").copy()
    return np.clip(samples, -1.0, 1.0, out=samples)


def to_slots(samples: np.ndarray, n_slots: int) -> np.ndarray:
    """Cut PCM samples into (n_slots, 735) rows in the stored [0, 1] convention.

    A sound track shorter than the pictures is padded with silence (0.5); a longer one is
    cut at the last slot.
    """
    rows = np.full((n_slots, grid.SAMPLES_PER_SLOT), 0.5, dtype=np.float32)
    flat = rows.reshape(-1)
    used = min(len(samples), flat.size)
    flat[:used] = grid.pcm_to_unit(samples[:used].astype(np.float32, copy=False))
    return rows


def from_slots(rows: np.ndarray) -> np.ndarray:
    """Join (n, 735) rows in [0, 1] back into one PCM signal in [-1, 1]."""
    return grid.unit_to_pcm(np.asarray(rows, dtype=np.float32)).reshape(-1)


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A WAV (or FLAC) file as mono float32 samples and its rate in Hz."""
    try:
        samples, rate_hz = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise UserError(f"{path}: not a readable sound file ({error})") from None
    return samples.mean(axis=1), rate_hz


# A float WAV's header: RIFF, a format chunk for IEEE float (18 bytes: the extended format
# that non-PCM data needs), a fact chunk (the sample count), then the data chunk.
_WAV_FLOAT = 3
_WAV_HEADER = struct.Struct("<4sI4s4sIHHIIHHH4sII4sI")


def _wav_header(samples: int, rate_hz: int) -> bytes:
    data_bytes = 4 * samples
    return _WAV_HEADER.pack(b"RIFF", _WAV_HEADER.size - 8 + data_bytes, b"WAVE",
                            b"fmt ", 18, _WAV_FLOAT, 1, rate_hz, 4 * rate_hz, 4, 32, 0,
                            b"fact", 4, samples, b"data", data_bytes)


def write_wav_stream(path: str | Path, runs: Iterable[np.ndarray], rate_hz: int = grid.RATE_HZ) -> int:
    """Stream runs of samples into a mono float32 WAV at `path`; returns the sample count.

    Written with Python's own file calls (not libsndfile), so a full disk or a failing
    device raises an OSError that says why (libsndfile reports only "System error").
    """
    samples = 0
    with open(path, "wb") as stream:
        stream.write(_wav_header(0, rate_hz))
        for run in runs:
            stream.write(np.ascontiguousarray(run, dtype="<f4").tobytes())
            samples += run.size
        stream.seek(0)
        stream.write(_wav_header(samples, rate_hz))
        stream.flush()
        os.fsync(stream.fileno())
    return samples
