"""Generated pictures and sound written as a video file: the project's own examples (the
synthetic "seeing a sound" video, the event benchmark) are made this way."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import soundfile

from ..core import grid
from ..core.files import atomic_path
from .video import require_tool, run_ffmpeg_writing


def write_mkv(destination: str | Path, pictures: np.ndarray, sound: np.ndarray,
              rate_fps: int = grid.SLOTS_PER_SECOND) -> Path:
    """Write gray pictures (n, height, width) uint8, `rate_fps` a second (one per slot by
    default), and sound (float32 at grid.RATE_HZ) as H.264 + FLAC in Matroska, atomically.
    Bit-exact encoder flags and one thread make the same arrays give the same file on every
    run."""
    destination = Path(destination)
    _, height, width = pictures.shape
    with tempfile.TemporaryDirectory() as scratch:
        wav = Path(scratch) / "sound.wav"
        soundfile.write(wav, sound, grid.RATE_HZ, subtype="PCM_16")
        with atomic_path(destination, suffix=".mkv") as temporary:
            command = [
                require_tool("ffmpeg"), "-nostdin", "-loglevel", "error", "-y",
                "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}",
                "-r", str(rate_fps), "-i", "pipe:0", "-i", str(wav),
                "-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p",
                "-threads", "1", "-c:a", "flac", "-shortest", "-fflags", "+bitexact",
                "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-f", "matroska", str(temporary),
            ]
            run_ffmpeg_writing(command, destination,
                               stdin=np.ascontiguousarray(pictures, dtype=np.uint8).tobytes())
    return destination
