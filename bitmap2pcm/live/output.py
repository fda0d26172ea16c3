"""Where live sound goes: the sound device, a WAV, a pipe, a recording with the pictures.

Every output is a context manager that yields a `write(samples)` function taking runs of
22050 Hz mono float32 samples. Leaving the block (a stop or Ctrl-C included) completes the
output: the WAV is renamed into place, the recording muxed; an exception leaves neither.

- `device`: the sound server when there is one (PulseAudio, or PipeWire's PulseAudio
  service, as laptops have them), through libpulse-simple (`pulse`), written to directly by
  the session, with `buffer_ms` of margin against the loop's jitter: the source's clock
  paces the loop. Measured here, a feeder thread taking 128-sample blocks from a ring lost
  half the sound to the GIL's scheduling (the server ran dry, the ring overflowed), and
  PortAudio reaches the server only through ALSA's pulse plugin, whose callbacks stalled for
  seconds (9 callbacks in 2 s at 256 samples). Without a server: PortAudio through
  `sounddevice`, fed from a small ring buffer in blocks of 128 by its callback, with a
  margin of `buffer_ms`. Either way: when the brain falls behind, the device plays silence
  (an underrun, counted, and the margin is rebuilt); when sound piles up beyond the margin
  (the source's clock running ahead of the sound card's, or a stall), the oldest samples
  are skipped, so latency stays bounded.
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
DRAINED_MS = 1.0          # a server holding this much less than after the last write has played
NO_DEVICE = ("install the 'sounddevice' package (pip install 'bitmap2pcm[live]') and PortAudio "
             "('apt-get install -y libportaudio2'), or write the sound with -o FILE.wav or -o -")


class _Ring:
    """Samples waiting for the device: written by the session (a call), taken by the
    callback (`take`). The device plays silence until the first samples come, and after an
    underrun; the samples that come then are preceded by the margin again. Once `closing`
    (the session's end, see `ending`) nothing more is skipped."""

    def __init__(self, margin_samples: int) -> None:
        self._margin = np.zeros(margin_samples, np.float32)
        self._samples = np.zeros(0, np.float32)
        self._lock = threading.Lock()
        self.limit = margin_samples + 2 * grid.SAMPLES_PER_SLOT
        self.underruns = 0
        self.skipped_samples = 0
        self._waiting = True  # for samples: before the first, and after an underrun
        self.closing = False  # the session's end: its sound is played whole, running out is no underrun

    def __call__(self, samples: np.ndarray) -> None:
        with self._lock:
            lead = self._margin if self._waiting else self._samples
            self._samples = np.concatenate([lead, samples])
            self._waiting = False
            excess = len(self._samples) - self.limit
            if excess > 0 and not self.closing:
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


class DeviceStopped(UserError):
    """The sound device stopped taking sound (its server went away): the session ends, and
    its other outputs are completed."""


class _ServerWriter:
    """Writes runs of samples to a `pulse.Playback` (see the module notes).

    Before each write, the server's latency says how long the sound it holds will take to
    play. When that and the run together exceed the margin and two slots (sound piled up:
    the source's clock ahead of the sound card's, a stall, the loop catching up), the oldest
    samples of the run are skipped down to it, so a write never waits longer than about
    a slot; at the session's end (`closing`) the look-ahead's last slots come at once and
    are played whole. An underrun is counted when the time since the last write exceeds the
    latency reported after it (what the server held at most: a lower bound), while the
    server plays: until its pre-buffer has filled (at the start, after an underrun) it holds
    what it is given, and a wait is no underrun. It plays when it holds less than after the
    last write."""

    def __init__(self, playback: pulse.Playback, margin_ms: float) -> None:
        self._playback = playback
        self._limit_ms = margin_ms + 2000 / grid.SLOTS_PER_SECOND
        self._last: tuple[float, float] | None = None  # (when, latency after) of the last write
        self.underruns = 0
        self.skipped_samples = 0
        self._playing = False
        self.closing = False

    def __call__(self, samples: np.ndarray) -> None:
        try:
            self._write(samples)
        except OSError as error:  # the server went away: one line, not a traceback
            raise DeviceStopped(f"the sound server stopped playing ({error})") from None

    def wake(self, silence_ms: float) -> None:
        """Write `silence_ms` of silence, all of it (see `device`): it returns once the sink
        has started playing."""
        try:
            self._playback.write(np.zeros(round(silence_ms * grid.RATE_HZ / 1000), np.float32))
        except OSError as error:
            raise UserError(f"the sound server does not play ({error})") from None

    def _write(self, samples: np.ndarray) -> None:
        now, latency_ms = time.monotonic(), self._playback.latency_ms()
        ran_dry = self._playing and 1000 * (now - self._last[0]) > self._last[1]
        self.underruns += ran_dry
        self._playing = not ran_dry and self._last is not None and latency_ms < self._last[1] - DRAINED_MS
        excess_ms = latency_ms + 1000 * len(samples) / grid.RATE_HZ - self._limit_ms
        if excess_ms > 0 and not self.closing:
            excess = min(len(samples), round(excess_ms * grid.RATE_HZ / 1000))
            samples = samples[excess:]
            self.skipped_samples += excess
        if len(samples):
            self._playback.write(samples)
            self._last = (time.monotonic(), self._playback.latency_ms())


@contextlib.contextmanager
def device(buffer_ms: float = DEFAULT_BUFFER_MS, name: str | int | None = None) -> Iterator[Write]:
    """The sound device: the sound server's default sink (or the one `name`d) when a server
    answers, else PortAudio's default device (or the one `name`d)."""
    slot_ms = 1000 / grid.SLOTS_PER_SECOND
    try:
        playback = pulse.Playback(buffer_ms + 2 * slot_ms, buffer_ms + slot_ms,
                                  None if name is None else str(name))
    except OSError as error:
        log.debug("no sound server (%s): trying PortAudio", error)
        with portaudio(buffer_ms, name) as write:
            yield write
        return
    writer = _ServerWriter(playback, buffer_ms)
    try:
        # A slot more silence than the server's buffer holds: the write returns once the
        # sink plays. A sink that was idle may take a second to start (measured on a null
        # sink), which would otherwise fall on the first pictures and skip their sound.
        writer.wake(buffer_ms + 3 * slot_ms)
        log.info("playing on the sound server (%.0f ms buffer asked)", buffer_ms)
        yield writer
    finally:
        playback.close()
    _report(writer)


def ending(writes: list[Write]) -> None:
    """Tell the sound device, if it is among `writes`, that what comes now is the session's
    end: the look-ahead's last slots, which come at once without being late. It plays
    them whole instead of skipping them as piled-up sound."""
    for write in writes:
        if isinstance(write, (_Ring, _ServerWriter)):
            write.closing = True


def _report(counts: _Ring | _ServerWriter) -> None:
    if counts.underruns or counts.skipped_samples:
        log.warning("sound device: %d underruns (the brain fell behind), %.0f ms skipped (the source "
                    "ran ahead)", counts.underruns, 1000 * counts.skipped_samples / grid.RATE_HZ)


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
        yield ring
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
