"""Frame-numbered test videos: every picture shows its own index, so a test can read back
which source frame landed in which slot, and the sound carries a burst at a known frame.

Pictures are 128x128, split into a 4x4 grid of black or white blocks: block b is white when
bit b of (index + 1) is set (index 0 is not all black, so a black slot means "no picture").
Area-shrunk to 64x64 and through any lossy codec at high quality the blocks stay readable.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

SIDE = 128
BITS = 16
BLOCKS_PER_ROW = 4

# container -> (video codec options, audio codec options); FLAC in Matroska and PCM in AVI
# add no encoder delay, so their pictures start at zero (the case that round-up got wrong).
CODECS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mkv": (("-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "12"), ("-c:a", "flac")),
    "webm": (("-c:v", "libvpx-vp9", "-crf", "20", "-b:v", "0", "-deadline", "realtime",
              "-cpu-used", "8"), ("-c:a", "libopus")),
    "mp4": (("-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "12"), ("-c:a", "aac")),
    "ts": (("-c:v", "mpeg2video", "-q:v", "2"), ("-c:a", "mp2")),
    "avi": (("-c:v", "mpeg4", "-q:v", "2"), ("-c:a", "pcm_s16le")),
    "mpg": (("-c:v", "mpeg1video", "-q:v", "2"), ("-c:a", "mp2")),
}
BURST_FRAME = 20  # the sound is silent but for a tone that starts with this source frame
BURST_SECONDS = 0.3


def picture(index: int) -> np.ndarray:
    """The 128x128 gray picture of source frame `index`."""
    image = np.zeros((SIDE, SIDE), np.uint8)
    block = SIDE // BLOCKS_PER_ROW
    for bit in range(BITS):
        if (index + 1) >> bit & 1:
            row, column = divmod(bit, BLOCKS_PER_ROW)
            image[row * block:(row + 1) * block, column * block:(column + 1) * block] = 255
    return image


def read_index(frame: np.ndarray) -> int:
    """The source frame index a (side*side) uint8 slot picture shows; -1 for black."""
    side = int(np.sqrt(frame.size))
    block = side // BLOCKS_PER_ROW
    means = frame.reshape(BLOCKS_PER_ROW, block, BLOCKS_PER_ROW, block).mean(axis=(1, 3)).reshape(-1)
    return sum(1 << bit for bit in range(BITS) if means[bit] > 127) - 1


def read_indices(frames: np.ndarray) -> np.ndarray:
    return np.array([read_index(frame) for frame in frames])


@dataclass(frozen=True)
class Numbered:
    path: Path
    fps: Fraction
    frames: int


def make(path: Path, fps: str, frames: int, video_delay_s: float = 0.0,
         audio_delay_s: float = 0.0) -> Numbered:
    """A frame-numbered video at `fps` with a sound track, its container from the suffix;
    the delays move each stream's first timestamp later (a late-starting stream)."""
    video_codec, audio_codec = CODECS[path.suffix[1:]]
    rate = Fraction(fps)
    # The tone starts when frame BURST_FRAME is shown, in the sound track's own time.
    burst_s = float(BURST_FRAME / rate) + video_delay_s - audio_delay_s
    seconds = float(frames / rate)
    assert burst_s >= 0, "the burst must fall inside the sound track"
    tone = (f"aevalsrc='if(between(t,{burst_s},{burst_s + BURST_SECONDS}),"
            f"0.5*sin(2*PI*440*t),0)':s=44100:d={seconds}")
    command = ["ffmpeg", "-y", "-nostdin", "-hide_banner", "-loglevel", "error",
               "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{SIDE}x{SIDE}", "-r", fps, "-i", "-",
               "-f", "lavfi", "-i", tone,
               "-vf", f"setpts=PTS+{video_delay_s}/TB", "-af", f"asetpts=PTS+{audio_delay_s}/TB",
               "-fps_mode", "passthrough", *video_codec, *audio_codec, str(path)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    stdin = b"".join(picture(index).tobytes() for index in range(frames))
    _, stderr = process.communicate(stdin)
    assert process.returncode == 0, stderr.decode()
    return Numbered(path, rate, frames)


def stream_starts_s(path: Path) -> dict[str, float]:
    """The first picture and sound streams' start times, as ffprobe reads them."""
    streams = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_streams", str(path)],
        capture_output=True, text=True, check=True).stdout)["streams"]
    starts: dict[str, float] = {}
    for stream in streams:
        if stream["codec_type"] in ("video", "audio") and stream.get("start_time", "N/A") != "N/A":
            starts.setdefault(stream["codec_type"], float(stream["start_time"]))
    return starts


def first_picture_s(path: Path) -> float:
    """When the pictures start on the grid: after time zero, the earlier stream's start."""
    starts = stream_starts_s(path)
    return starts["video"] - min(starts.values())


def frame_times_s(path: Path) -> np.ndarray:
    """Each decoded picture's time on the grid: its own timestamp minus time zero (the
    earlier start of the first picture and sound streams), as ffprobe reads them."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_frames", "-select_streams", "V:0",
         "-show_entries", "frame=best_effort_timestamp_time", str(path)],
        capture_output=True, text=True, check=True)
    frames = json.loads(result.stdout)["frames"]
    origin_s = min(stream_starts_s(path).values())
    return np.array([float(f["best_effort_timestamp_time"]) for f in frames]) - origin_s


def nearest_errors_s(indices: np.ndarray, times_s: np.ndarray, slots_per_second: int) -> np.ndarray:
    """For each slot, how much farther its picture is from the slot's time than the nearest
    source frame is (0 where the slot shows the nearest frame)."""
    slot_times = np.arange(len(indices)) / slots_per_second
    nearest = np.abs(times_s[None, :] - slot_times[:, None]).min(axis=1)
    shown = np.abs(times_s[indices] - slot_times)
    return shown - nearest
