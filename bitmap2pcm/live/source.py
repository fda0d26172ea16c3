"""Live pictures: ffmpeg decoding a source as it arrives onto render's 30 fps grid, and a
reader thread that keeps only the newest pictures for the brain.

What SOURCE means (`input_args`): "-" is this process's standard input (any format ffmpeg
detects, e.g. y4m or NUT); /dev/videoN a V4L2 camera; ":0" (":0.0+X,Y", ...) the X11 screen;
"lavfi:GRAPH" a synthetic lavfi source played in real time; anything with "://" a network
stream; an existing file is played at its own speed (`-re`). `--format` forces ffmpeg's
input format for anything else.

A file or a lavfi source gets the frames render decodes (`video.frame_filter`, the same
time zero for a file), so a file played live gets render's sound; that grid (the `fps`
filter: the nearest picture to each slot) places a picture once it has seen the next one,
one frame interval of latency. A source that comes in real time (a camera, the screen, a
pipe, a stream: `SourceInput.paced`) has no render to agree with, so ffmpeg's output-side
constant frame rate places each picture on the grid as it comes (a picture late by more
than a slot fills the slots before it with the last one, one that comes within the same
slot as another is dropped): measured on a y4m pipe, 3 ms from a picture's write to its
frame instead of 36. The frames' encoder runs on one thread: with its default frame
threads ffmpeg held each picture two frame intervals more (100 ms against 33, on the pipe
through the `fps` filter).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import grid
from ..media import video
from ..learn.brain import Brain

log = logging.getLogger("bitmap2pcm")

KEEP_FRAMES = 2  # pictures waiting for the brain at most: the newest replaces the oldest
STOP_WAIT_S = 5.0  # how long ffmpeg may take to close its outputs after being asked to stop


@dataclass(frozen=True)
class Picture:
    """A brain's picture convention, as ffmpeg must produce it."""

    side: int
    interpolation: str
    channels: int

    @property
    def frame_values(self) -> int:
        return self.channels * self.side * self.side


def picture_of(network: Brain) -> Picture:
    """The picture convention a brain was trained with (render's `frame_stream` reads the same)."""
    convention = network.input
    return Picture(convention["side"], convention["interpolation"], video.channels_of(convention))


@dataclass(frozen=True)
class SourceInput:
    """How ffmpeg opens a source: its input options, the grid's time zero in the source's
    timestamps, and whether ffmpeg reads this process's standard input."""

    args: list[str]
    origin_s: float = 0.0
    reads_stdin: bool = False
    paced: bool = True  # comes in real time: each picture is placed on the grid as it comes


def input_args(source: str, input_format: str | None = None) -> SourceInput:
    """ffmpeg's input options for SOURCE (see the module notes); a file that is not a video
    is a UserError before anything starts."""
    live = ["-fflags", "nobuffer"]  # hand each packet on as it comes
    forced = ["-f", input_format] if input_format else []
    if source == "-":
        return SourceInput([*live, *forced, "-i", "pipe:0"], reads_stdin=True)
    if input_format:
        return SourceInput([*live, *forced, "-i", source])
    if source.startswith("/dev/video"):
        return SourceInput([*live, "-f", "v4l2", "-i", source])
    if source.startswith(":"):
        return SourceInput([*live, "-f", "x11grab", "-framerate", str(grid.SLOTS_PER_SECOND), "-i", source])
    if source.startswith("lavfi:"):
        return SourceInput(["-re", "-f", "lavfi", "-i", source.removeprefix("lavfi:")], paced=False)
    if "://" in source:
        return SourceInput([*live, "-i", source])
    info = video.probe(source)  # a file: one line if it is missing or unreadable
    video.require_video(info)
    # render's time zero, from the file's own timestamps, so that the grids agree
    return SourceInput(["-re", "-copyts", "-i", source], origin_s=info.origin_s, paced=False)


def decoder_command(source: SourceInput, picture: Picture, pictures_path: Path | None = None) -> list[str]:
    """The ffmpeg command that writes the brain's frames to its standard output, one frame
    per write, and with `pictures_path` also the pictures themselves on the same grid
    (full size, H.264 in Matroska) for a recording."""
    full_size = video.INTERPOLATIONS[picture.interpolation] is None
    frames = (["-f", "image2pipe", "-c:v", "ppm" if picture.channels == 3 else "pgm"] if full_size
              else ["-f", "rawvideo"])
    # a real-time source is placed on the grid as it comes, by ffmpeg's output frame rate
    as_it_comes = ["-fps_mode", "cfr", "-r", str(grid.SLOTS_PER_SECOND)] if source.paced else []
    command = [video.require_tool("ffmpeg"), "-hide_banner", "-loglevel", "error",
               *([] if source.reads_stdin else ["-nostdin"]), *source.args,
               "-map", "0:V:0", "-vf",
               video.frame_filter(picture.side, picture.interpolation, source.origin_s, picture.channels,
                                  on_grid=not source.paced),
               *as_it_comes, "-an", "-sn", "-dn", "-threads", "1", "-flush_packets", "1", *frames, "pipe:1"]
    if pictures_path is not None:
        # the grid at full size: the filter of the OpenCV resize, which leaves the size alone
        on_grid = video.frame_filter(picture.side, video.OPENCV_BILINEAR, source.origin_s, 3,
                                     on_grid=not source.paced)
        command += ["-map", "0:V:0", "-vf", on_grid + ",pad=ceil(iw/2)*2:ceil(ih/2)*2,format=yuv420p",
                    *as_it_comes, "-an", "-sn", "-dn", "-c:v", "libx264", "-preset", "ultrafast",
                    "-tune", "zerolatency", "-crf", "18", "-f", "matroska", "-y", str(pictures_path)]
    return command


class _Decoder(video.FrameStream):
    """render's FrameStream, one frame at a time, with the live command. ffmpeg runs in its
    own session, so a Ctrl-C reaches only this process, which asks ffmpeg to stop once
    (`stop`): it then closes a recording properly instead of being killed."""

    def __init__(self, command: list[str], picture: Picture, label: str) -> None:
        super().__init__(label, picture.side, picture.interpolation, batch_slots=1, origin_s=0.0,
                         channels=picture.channels)
        self.command = command
        self._asked_to_stop = False

    def start(self) -> "_Decoder":
        if self._process is None:
            self._log = tempfile.TemporaryFile()
            self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=self._log,
                                             start_new_session=True)
        return self

    def stop(self) -> None:
        """Ask ffmpeg to stop, once: a second signal would interrupt the writing of its
        outputs' ends (ffmpeg then aborts its I/O), leaving a recording unreadable."""
        process = self._process
        if process is not None and process.poll() is None and not self._asked_to_stop:
            self._asked_to_stop = True
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)  # ffmpeg's clean stop: outputs closed


@dataclass(frozen=True)
class Arrival:
    """A picture from the source: its number (counting the dropped ones), its uint8 frame
    and when it arrived (time.monotonic seconds)."""

    index: int
    frame: np.ndarray
    arrived_s: float


class LiveSource:
    """The source's pictures for the brain (see the module notes). `take` waits for the
    pictures that arrived since the last call (KEEP_FRAMES at most; the older ones are
    dropped and counted in `dropped`); an empty list means the source has ended (`error`
    then holds what stopped it, if it failed)."""

    def __init__(self, source: str, picture: Picture, input_format: str | None = None,
                 pictures_path: Path | None = None) -> None:
        self.label = source
        command = decoder_command(input_args(source, input_format), picture, pictures_path)
        self._decoder = _Decoder(command, picture, source)
        self._kept: collections.deque[Arrival] = collections.deque()
        self._changed = threading.Condition()
        self._ended = False
        self._stopped = False
        self.received = 0
        self.dropped = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="live-source", daemon=True)

    def start(self) -> "LiveSource":
        self._decoder.start()
        self._thread.start()
        return self

    def _read(self) -> None:
        try:
            for batch in self._decoder:
                for frame in batch:
                    self._keep(frame, time.monotonic())
        except BaseException as error:  # handed to the session, which says it in one line
            self.error = error
        finally:
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    def _keep(self, frame: np.ndarray, arrived_s: float) -> None:
        with self._changed:
            if len(self._kept) == KEEP_FRAMES:
                self._kept.popleft()
                self.dropped += 1
            self._kept.append(Arrival(self.received, frame, arrived_s))
            self.received += 1
            self._changed.notify_all()

    def take(self) -> list[Arrival]:
        with self._changed:
            self._changed.wait_for(lambda: self._kept or self._ended or self._stopped)
            if self._stopped:
                return []
            taken = list(self._kept)
            self._kept.clear()
            return taken

    def stop(self) -> None:
        """Ask ffmpeg to stop (a recording is closed properly); `take` returns nothing from now."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        self._decoder.stop()

    def close(self) -> None:
        """Wait for ffmpeg to end, asking it to stop first; kill it only if it will not."""
        self.stop()
        if self._thread.ident is None:  # never started
            return
        self._thread.join(STOP_WAIT_S)
        if self._thread.is_alive():
            self._decoder.close()  # a stuck ffmpeg is killed: its recording may be incomplete
            self._thread.join()

    @property
    def stopped_by_us(self) -> bool:
        return self._stopped

    def ending(self) -> str:
        """Why the source stopped, in a few words: ffmpeg's last line when it failed."""
        if self.error is not None:
            return str(self.error)
        if self._decoder.returncode not in (0, None) and not self._stopped:
            lines = self._decoder.stderr.strip().splitlines()
            return f"ffmpeg: {lines[-1]}" if lines else f"ffmpeg exited with {self._decoder.returncode}"
        return ""
