"""Video in: probe a file and stream its pictures onto the 30 fps grid as 64x64 gray frames
(or colour frames: three planes, see `channels_of`).

ffmpeg does the heavy lifting in one pass: it decodes, places frames on the grid by their
timestamps (slot i shows the frame whose timestamp is nearest i/30, see `frame_filter`), and
shrinks each picture to 64x64 luma with area averaging, so a 4K frame is averaged rather than
sampled at a few pixels (no aliasing). Letting the decoder scale and convert is what makes
this several times faster than decoding full frames into Python.

A colour frame is the picture converted to RGB by the decoder (full range), stored channel-
planar: the R plane, then G, then B, each row-major side x side, 3 * side * side values. A gray
frame is the luma plane alone; every stream, file and brain without a colour mark is gray.

Time zero is the start of the earlier of the two streams the project uses (the first picture
stream and the first sound track), read by ffprobe and applied explicitly (`-copyts`, then
the origin subtracted): ffmpeg's own zero depends on which streams a command maps (an MPEG
program or transport stream decoded without its sound starts at its first picture), and
pickler, render and evaluate must agree whichever they decode.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np

from ..core import grid
from ..core.errors import UserError

# Picture conventions a brain records and render reproduces ("input" in the brain format):
# the name, and ffmpeg's scaler flag for it. "opencv-bilinear" is the 2015 pipeline's resize
# (cv2.resize with its default INTER_LINEAR on the full-size gray picture), done in Python:
# slower, and it aliases on large pictures, but it is what the original brains saw.
OPENCV_BILINEAR = "opencv-bilinear"
INTERPOLATIONS = {"area": "area", "bilinear": "bilinear", "bicubic": "bicubic", OPENCV_BILINEAR: None}
DEFAULT_INTERPOLATION = "area"
# Colour conventions ("color" in the brain's input convention and in dataset.json's picture).
GRAY = "gray (decoder luma, full range)"
RGB = "rgb (decoder's conversion, full range), planes R, G, B"
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux; Python < 3.10 lacks the name
PIPE_BYTES = 1 << 20  # 256 frames of 64x64: Linux's default limit for an unprivileged pipe


# How ffmpeg reports a write the system refused. ffmpeg 5 exits 0 when writing the end of
# its output fails ("Error writing trailer", "Error closing file"), so its words decide.
_WRITE_FAILURE_MARKS = ("Error writing trailer", "Error closing file", "Error muxing",
                        "av_interleaved_write_frame()", "Error opening output")


def write_failure(ffmpeg_log: str) -> str | None:
    """ffmpeg's line saying an output could not be written, if its log has one."""
    for line in ffmpeg_log.splitlines():
        if any(mark in line for mark in _WRITE_FAILURE_MARKS):
            return line.strip()
    return None


def run_ffmpeg_writing(command: list[str], destination: str | Path, stdin: bytes | None = None) -> None:
    """Run an ffmpeg `command` that writes `destination`; any failure, including the write
    failures ffmpeg exits 0 on, is a UserError naming the destination and ffmpeg's reason."""
    result = subprocess.run(command, input=stdin, capture_output=True)
    log = result.stderr.decode(errors="replace")
    reason = write_failure(log)
    if result.returncode != 0 or reason:
        reason = reason or (log.strip().splitlines() or ["unknown error"])[-1]
        raise UserError(f"{destination}: ffmpeg could not write it ({reason})")


def require_tool(name: str) -> str:
    """Path of an external program, or a UserError that names the Debian package."""
    path = shutil.which(name)
    if path is None:
        package = {"ffprobe": "ffmpeg"}.get(name, name)
        raise UserError(f"'{name}' not found: install it with 'apt-get install -y {package}'")
    return path


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file: streams present, duration, picture and sound format."""

    path: Path
    duration_s: float
    has_video: bool
    has_audio: bool
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    audio_rate_hz: int | None = None
    audio_channels: int | None = None
    origin_s: float = 0.0  # time zero of the grid, in the file's own timestamps


    @property
    def expected_slots(self) -> int:
        return grid.slots_in(self.duration_s)


def _describe_file_problem(path: Path) -> None:
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a video")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: file is empty")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise UserError(f"{path}: permission denied") from None


def probe(path: str | Path) -> MediaInfo:
    """Inspect `path` with ffprobe; a file ffmpeg cannot read raises a one-line UserError."""
    path = Path(path)
    _describe_file_problem(path)
    command = [
        require_tool("ffprobe"), "-v", "error", "-print_format", "json",
        "-show_format", "-show_streams", str(path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, errors="replace")
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        reason = reason.replace(str(path) + ": ", "")
        raise UserError(f"{path}: not a media file ffmpeg can read ({reason})")
    info = json.loads(result.stdout or "{}")
    streams = info.get("streams", [])
    # Cover art in audio files shows up as a one-picture "video" stream; it is not a video.
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not s.get("disposition", {}).get("attached_pic")]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    video = videos[0] if videos else {}
    audio = audios[0] if audios else {}
    starts = [_float(s.get("start_time")) for s in (video, audio) if s]
    durations = [_float(info.get("format", {}).get("duration"))]
    durations += [_float(s.get("duration")) for s in (video, audio) if s]
    duration = max((d for d in durations if d is not None), default=0.0)
    return MediaInfo(
        path=path,
        duration_s=duration,
        has_video=bool(videos),
        has_audio=bool(audios),
        fps=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")),
        width=video.get("width"),
        height=video.get("height"),
        video_codec=video.get("codec_name"),
        audio_rate_hz=int(audio["sample_rate"]) if audio.get("sample_rate") else None,
        audio_channels=audio.get("channels"),
        origin_s=min((t for t in starts if t is not None), default=0.0),
    )


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "N/A") else None
    except ValueError:
        return None


def _rate(text: str | None) -> float | None:
    if not text or "/" not in text:
        return None
    numerator, denominator = (float(x) for x in text.split("/"))
    return numerator / denominator if denominator and numerator else None


def require_video(info: MediaInfo) -> None:
    if not info.has_video:
        raise UserError(f"{info.path}: has no video stream (is it an audio file?)")


def origin_shift(origin_s: float) -> str:
    """An ffmpeg expression term that moves timestamps (in microseconds) to the grid's zero."""
    return f"{-round(origin_s * 1e6):+d}"


def channels_of(convention: dict[str, Any]) -> int:
    """Planes of a frame under a picture convention (a brain's input, dataset.json's picture):
    3 for colour, 1 for gray, which is also what conventions written before colour mean."""
    return 3 if convention.get("color") == RGB else 1


def color_name(channels: int) -> str:
    """The colour convention of frames with `channels` planes (1 or 3)."""
    return RGB if channels == 3 else GRAY


def frame_filter(side: int = grid.FRAME_SIDE, interpolation: str = DEFAULT_INTERPOLATION,
                 origin_s: float = 0.0, channels: int = 1, on_grid: bool = True) -> str:
    """The ffmpeg filter chain that puts pictures on the grid as gray frames (or packed RGB
    ones for `channels` 3), side x side (or at full size for the OpenCV resize, which happens
    in Python). With `on_grid` False the pictures keep their own times (a caller that places
    them on the grid as they come: the live command's real-time sources).

    Nearest frame: each frame's timestamp is moved back to the midpoint between it and the
    previous frame, and the `fps` filter then shows in slot i the last frame whose moved
    timestamp is <= i/30 -- which is exactly the frame nearest i/30, for any frame rate,
    constant or variable. (`round=near` alone is not: it fills a slot between two frames
    with the earlier one even when the later one is nearer.) Timestamps are first put in
    microseconds so the midpoint is not rounded to a coarse container time base.
    """
    if interpolation not in INTERPOLATIONS:
        raise UserError(f"unknown interpolation '{interpolation}' (choose {', '.join(INTERPOLATIONS)})")
    midpoint = "if(isnan(PREV_INPTS),PTS,(PTS+PREV_INPTS)/2)"
    nearest = (f"settb=1/1000000,setpts='{midpoint}{origin_shift(origin_s)}',"
               f"fps={grid.SLOTS_PER_SECOND}:start_time=0:round=up,") if on_grid else ""
    # format= sets the scale filter's output format, so one scaler call shrinks and converts.
    pixel_format = "rgb24" if channels == 3 else "gray"
    if INTERPOLATIONS[interpolation] is None:
        return nearest + f"format={pixel_format}"
    return nearest + f"scale={side}:{side}:flags={INTERPOLATIONS[interpolation]},format={pixel_format}"


def ffmpeg_input_args(path: Path) -> list[str]:
    """ffmpeg reading `path` with the file's own timestamps (the filters apply the origin)."""
    return [require_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error",
            "-copyts", "-i", str(path)]


class FrameStream:
    """Gray (or, with `channels` 3, colour) frames of one video on the 30 fps grid, read from
    an ffmpeg pipe in batches.

    Iterating yields uint8 arrays of shape (n, channels*side*side), channel-planar (see the
    module notes), n <= batch_slots; memory stays at
    one batch however long the video is. Extra ffmpeg outputs (such as the sound track) can
    ride along in the same decoding pass through `extra_outputs`. `origin_s` is the grid's
    time zero (`MediaInfo.origin_s`); without it the file is probed for it.
    """

    def __init__(self, path: str | Path, side: int = grid.FRAME_SIDE,
                 interpolation: str = DEFAULT_INTERPOLATION, batch_slots: int = 256,
                 extra_outputs: list[str] | None = None, origin_s: float | None = None,
                 channels: int = 1):
        self.path = Path(path)
        if origin_s is None:
            origin_s = probe(self.path).origin_s
        self.side = side
        self.channels = channels
        self.batch_slots = batch_slots
        self.resize_in_python = INTERPOLATIONS.get(interpolation, "") is None
        # Full-size pictures come as PGM (gray) or PPM (RGB) images, whose headers carry their
        # size (which a rotated phone video would otherwise swap behind our back); small ones
        # as raw bytes.
        image = "ppm" if channels == 3 else "pgm"
        picture_format = ["-f", "image2pipe", "-c:v", image] if self.resize_in_python else ["-f", "rawvideo"]
        self.command = ffmpeg_input_args(self.path) + [
            "-map", "0:V:0", "-vf", frame_filter(side, interpolation, origin_s, channels),
            "-an", "-sn", "-dn", *picture_format, "pipe:1",
        ] + (extra_outputs or [])  # 0:V skips cover art
        self.slots_read = 0
        self.stderr = ""
        self._process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None
        self.returncode: int | None = None

    def start(self) -> "FrameStream":
        """Launch ffmpeg now (iterating does it otherwise), so that it starts up and decodes
        ahead while the caller does other work, such as probing the file."""
        if self._process is None:
            # ffmpeg's messages go to a file: a damaged video can print more than a pipe holds,
            # and a full stderr pipe would stall ffmpeg while we wait on stdout.
            self._log = tempfile.TemporaryFile()
            self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=self._log)
            with contextlib.suppress(OSError):  # a bigger pipe lets ffmpeg run further ahead
                fcntl.fcntl(self._process.stdout, F_SETPIPE_SZ, PIPE_BYTES)
        return self

    def close(self) -> None:
        """Stop ffmpeg (if still running) and keep what it said in `stderr`."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.wait()
        self._log.seek(0)
        self.stderr = self._log.read().decode(errors="replace")
        self._log.close()
        self.returncode = process.returncode

    def __iter__(self) -> Iterator[np.ndarray]:
        process = self.start()._process
        batches = (self._resized_batches if self.resize_in_python else self._raw_batches)(process.stdout)
        try:
            for batch in batches:
                self.slots_read += len(batch)
                yield batch
            process.wait()  # the sound track (an extra output) is complete only after exit
        finally:
            self.close()
        if self.returncode != 0 and self.slots_read == 0:
            reason = (self.stderr.strip().splitlines() or ["unknown error"])[-1]
            raise UserError(f"{self.path}: ffmpeg could not decode the video ({reason})")

    def _raw_batches(self, pipe: IO[bytes]) -> Iterator[np.ndarray]:
        frame_bytes = self.channels * self.side * self.side
        while chunk := pipe.read(frame_bytes * self.batch_slots):
            usable = len(chunk) - len(chunk) % frame_bytes
            if usable:
                packed = np.frombuffer(chunk[:usable], np.uint8)
                yield planar(packed.reshape(-1, self.side, self.side, self.channels))

    def _resized_batches(self, pipe: IO[bytes]) -> Iterator[np.ndarray]:
        import cv2  # only this faithful mode needs OpenCV

        batch: list[np.ndarray] = []
        while (picture := _read_pnm(pipe)) is not None:
            small = cv2.resize(picture, (self.side, self.side), interpolation=cv2.INTER_LINEAR)
            batch.append(planar(small.reshape(1, self.side, self.side, -1))[0])
            if len(batch) == self.batch_slots:
                yield np.stack(batch)
                batch = []
        if batch:
            yield np.stack(batch)


def planar(packed: np.ndarray) -> np.ndarray:
    """(n, side, side, channels) pictures, channels interleaved as decoders give them, to
    channel-planar rows (n, channels*side*side): the layout frames are stored in."""
    n = packed.shape[0]
    return np.ascontiguousarray(packed.reshape(n, -1, packed.shape[-1]).transpose(0, 2, 1)).reshape(n, -1)


def gray_of(frames: np.ndarray, channels: int) -> np.ndarray:
    """The channel mean of channel-planar frames (n, channels*pixels): (n, pixels); gray frames
    (`channels` 1) themselves. Motion inputs are measured on it, so they mean the same for
    gray and colour frames."""
    if channels == 1:
        return frames
    return frames.reshape(frames.shape[0], channels, -1).mean(axis=1, dtype=np.float32)


def _read_pnm(pipe: IO[bytes]) -> np.ndarray | None:
    """The next binary PGM ("P5") or PPM ("P6") picture (width, height, maxval 255) from
    `pipe`, (height, width) or (height, width, 3), or None at the end (a truncated last
    picture counts as the end)."""
    fields: list[bytes] = []
    while len(fields) < 4:
        line = pipe.readline()
        if not line:
            return None
        fields += line.split(b"#")[0].split()
    magic, width, height, _ = fields
    if magic not in (b"P5", b"P6"):
        raise UserError(f"unexpected picture format {magic!r} from ffmpeg")
    shape = (int(height), int(width)) + ((3,) if magic == b"P6" else ())
    size = int(np.prod(shape))
    data = pipe.read(size)
    if len(data) < size:
        return None
    return np.frombuffer(data, np.uint8).reshape(shape)


def frames_to_unit(frames: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """uint8 pixels to float32 in [0, 1] (divided by 255, as the original did)."""
    return np.multiply(frames, np.float32(1.0 / 255.0), out=out, dtype=np.float32)
