"""Where live sound goes: the sound device, a WAV, a pipe, a recording with the pictures.

Every output is a context manager that yields a `write(samples)` function taking runs of
22050 Hz mono float32 samples. Leaving the block (a stop or Ctrl-C included) completes the
output: the WAV is renamed into place, the recording muxed; an exception leaves neither.

- `device`: the sound server when there is one (PulseAudio, or PipeWire's PulseAudio
  service, as laptops have them), through libpulse-simple (`pulse`) asking for a buffer of
  `buffer_ms`: measured here, PortAudio reaches the server only through ALSA's pulse plugin,
  whose callbacks stalled for seconds (9 callbacks in 2 s at 256 samples). Otherwise PortAudio
  through `sounddevice`, with a margin of `buffer_ms`. Either takes samples from a small ring
  buffer in blocks of 128: when the brain falls behind, the device plays silence (an
  underrun, counted, and the margin is rebuilt); when samples pile up beyond the margin and
  two slots (the source running faster than the device's clock), the oldest are skipped,
  so latency stays bounded.
- `wav_file`: written by a thread, so that the disk never holds up the sound.
- `pipe`: raw float32 little-endian samples (`f32le`, 22050 Hz, mono) on standard output,
  the format players read without a header: `ffplay -f f32le -ar 22050 -ch_layout mono -`.
- `recording`: the pictures (written by the source's ffmpeg on the same grid) and the sound
  muxed into Matroska (H.264 and FLAC) once the source has stopped.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..core import grid
from ..core.errors import UserError
from ..core.files import atomic_path, check_writable_dir
from ..media import audio, video
from . import pulse

log = logging.getLogger("bitmap2pcm")

Write = Callable[[np.ndarray], None]

DEFAULT_BUFFER_MS = 30.0  # the device's jitter margin (see the module notes)
BLOCK_SAMPLES = 128       # samples per device callback: 5.8 ms
NO_DEVICE = ("install the 'sounddevice' package (pip install 'bitmap2pcm[live]') and PortAudio "
             "('apt-get install -y libportaudio2'), or write the sound with -o FILE.wav or -o -")


class _Ring:
    """Samples waiting for the device: `put` from the session, `take` from the callback.
    The device plays silence until the first samples come, and after an underrun; the
    samples that come then are preceded by the margin again."""

    def __init__(self, margin_samples: int) -> None:
        self._margin = np.zeros(margin_samples, np.float32)
        self._samples = np.zeros(0, np.float32)
        self._lock = threading.Lock()
        self.limit = margin_samples + 2 * grid.SAMPLES_PER_SLOT
        self.underruns = 0
        self.skipped_samples = 0
        self._waiting = True  # for samples: before the first, and after an underrun
        self.closing = False  # the last samples are playing: running out is no underrun

    def put(self, samples: np.ndarray) -> None:
        with self._lock:
            lead = self._margin if self._waiting else self._samples
            self._samples = np.concatenate([lead, samples])
            self._waiting = False
            excess = len(self._samples) - self.limit
            if excess > 0:
                self._samples = self._samples[excess:]
                self.skipped_samples += excess

    def take(self, out: np.ndarray) -> None:
        with self._lock:
            n = 0 if self._waiting else min(len(out), len(self._samples))
            out[:n] = self._samples[:n]
            out[n:] = 0.0
            self._samples = self._samples[n:]
            if n < len(out) and not self._waiting:
                self.underruns += 0 if self.closing else 1
                self._waiting = True

    def drain(self, timeout_s: float = 1.0) -> None:
        """Wait (a bounded time) for the device to play the samples waiting."""
        self.closing = True
        deadline = time.monotonic() + timeout_s
        while len(self._samples) and time.monotonic() < deadline:
            time.sleep(0.005)


@contextlib.contextmanager
def device(buffer_ms: float = DEFAULT_BUFFER_MS, name: str | int | None = None) -> Iterator[Write]:
    """The sound device: the sound server's default sink (or the one `name`d) when a server
    answers, else PortAudio's default device (or the one `name`d)."""
    try:
        playback = pulse.Playback(buffer_ms, None if name is None else str(name))
    except OSError as error:
        log.debug("no sound server (%s): trying PortAudio", error)
        with portaudio(buffer_ms, name) as write:
            yield write
        return
    ring = _Ring(0)  # the server's own buffer is the margin
    playing = threading.Event()
    playing.set()
    failure: list[BaseException] = []

    def feed() -> None:
        block = np.zeros(BLOCK_SAMPLES, np.float32)
        try:
            while playing.is_set():
                ring.take(block)
                playback.write(block)  # blocks while the server's buffer is full
        except OSError as error:
            failure.append(error)

    feeder = threading.Thread(target=feed, name="live-sound-server", daemon=True)
    feeder.start()
    log.info("playing on the sound server (%.0f ms buffer asked)", buffer_ms)
    try:
        yield ring.put
        ring.drain()
    finally:
        playing.clear()
        feeder.join()
        playback.close()
    if failure:
        raise UserError(f"the sound server stopped playing ({failure[0]})")
    _report(ring)


def _report(ring: _Ring) -> None:
    if ring.underruns or ring.skipped_samples:
        log.warning("sound device: %d underruns (the brain fell behind), %.0f ms skipped (the source "
                    "ran ahead)", ring.underruns, 1000 * ring.skipped_samples / grid.RATE_HZ)


@contextlib.contextmanager
def portaudio(buffer_ms: float, name: str | int | None = None) -> Iterator[Write]:
    """PortAudio's default device (or the one `name`d), through `sounddevice`."""
    try:
        import sounddevice
    except (ImportError, OSError) as error:  # OSError: the package is there, PortAudio is not
        raise UserError(f"no sound device ({error}): {NO_DEVICE}") from None
    ring = _Ring(round(buffer_ms * grid.RATE_HZ / 1000))

    def callback(outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        ring.take(outdata[:, 0])

    try:
        player = sounddevice.OutputStream(samplerate=grid.RATE_HZ, channels=1, dtype="float32",
                                          blocksize=BLOCK_SAMPLES, latency="low", device=name,
                                          callback=callback)
    except (sounddevice.PortAudioError, ValueError) as error:
        raise UserError(f"no sound device ({error}): {NO_DEVICE}") from None
    with player:
        log.info("playing on %s (%.0f ms device latency, %.0f ms margin)",
                 sounddevice.query_devices(player.device)["name"], player.latency * 1000, buffer_ms)
        yield ring.put
        ring.drain()
    _report(ring)


def _until_none(runs: queue.SimpleQueue) -> Iterator[np.ndarray]:
    while (run := runs.get()) is not None:
        yield run


@contextlib.contextmanager
def wav_file(path: Path) -> Iterator[Write]:
    """A 22050 Hz mono float32 WAV that appears at `path` when the block ends, complete."""
    check_writable_dir(path.parent if str(path.parent) else Path("."))
    runs: queue.SimpleQueue[np.ndarray | None] = queue.SimpleQueue()
    failure: list[BaseException] = []

    def write_all(temporary: Path) -> None:
        try:
            audio.write_wav_stream(temporary, _until_none(runs))
        except BaseException as error:  # raised in the session's thread below
            failure.append(error)

    with atomic_path(path, suffix=".wav") as temporary:
        writer = threading.Thread(target=write_all, args=(temporary,), name="live-wav")
        writer.start()
        try:
            yield runs.put
        finally:
            runs.put(None)
            writer.join()
        if failure:
            raise failure[0]


@contextlib.contextmanager
def pipe() -> Iterator[Write]:
    """Raw f32le samples on standard output (see the module notes)."""
    stdout = sys.stdout.buffer

    def write(samples: np.ndarray) -> None:
        stdout.write(np.ascontiguousarray(samples, dtype="<f4").tobytes())
        stdout.flush()

    yield write


class Recording:
    """A recording of the pictures with their new sound (`--record out.mkv`): the source's
    ffmpeg writes the pictures to `pictures_path`, `sound` takes the sound and joins them
    into `path`."""

    def __init__(self, path: Path, scratch: Path) -> None:
        if path.suffix.lower() != ".mkv":
            raise UserError(f"{path}: a recording is a Matroska file: name it .mkv")
        self.path = path
        self.pictures_path = scratch / "pictures.mkv"
        self._sound_path = scratch / "sound.wav"

    @contextlib.contextmanager
    def sound(self) -> Iterator[Write]:
        """The sound's writer; when the block ends (after the source has stopped, so that
        its pictures are complete) both are muxed into the recording."""
        with wav_file(self._sound_path) as write:
            yield write
        self._mux()

    def _mux(self) -> None:
        if not (self.pictures_path.is_file() and self._sound_path.is_file()):
            raise UserError(f"{self.path}: nothing was recorded")
        with atomic_path(self.path, suffix=".mkv") as temporary:
            video.run_ffmpeg_writing(
                [video.require_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error",
                 "-i", str(self.pictures_path), "-i", str(self._sound_path), "-map", "0:v:0",
                 "-map", "1:a:0", "-c:v", "copy", "-c:a", "flac", "-f", "matroska", "-y",
                 str(temporary)], self.path)


@contextlib.contextmanager
def recording_scratch(path: Path) -> Iterator[Recording]:
    """A `Recording` of `path` with its parts in a scratch folder beside it (removed after)."""
    folder = path.parent if str(path.parent) else Path(".")
    check_writable_dir(folder)
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=folder) as scratch:
        yield Recording(path, Path(scratch))
