"""Sound in and out: decode a sound track onto the grid's 22050 Hz mono timeline, cut it
into 735-sample slot rows, and read WAV files back.

Sound is placed by timestamp like the pictures: `aresample`'s async mode pads a late start
with silence (and fills gaps), so sample 735*i is heard at i/30 s even when the audio stream
starts after the video. Channels are mixed down by ffmpeg's standard downmix matrix.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile

from . import grid
from .errors import UserError
from .video import ffmpeg_input_args

SOUND_FILTER = (
    f"aresample={grid.RATE_HZ}:async=1:first_pts=0,"
    "aformat=sample_fmts=flt:channel_layouts=mono"
)


def sound_output_args(destination: str | Path) -> list[str]:
    """ffmpeg output options that write the first sound track as raw float32 mono samples."""
    return ["-map", "0:a:0", "-af", SOUND_FILTER, "-vn", "-sn", "-dn",
            "-f", "f32le", "-y", str(destination)]


def read_raw_samples(path: str | Path) -> np.ndarray:
    """Samples written by `sound_output_args`, as float32 in [-1, 1]."""
    samples = np.fromfile(path, dtype="<f4")
    return np.clip(samples, -1.0, 1.0, out=samples)


def read_sound(path: str | Path) -> np.ndarray:
    """The first sound track of any media file, at 22050 Hz mono, float32 in [-1, 1]."""
    command = ffmpeg_input_args(Path(path)) + sound_output_args("pipe:1")
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
