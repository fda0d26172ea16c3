"""Render: a video's pictures through a brain into a sound track (out.wav).

One streaming pass: ffmpeg puts the pictures on the 30 fps grid exactly as the brain's input
convention says (side, interpolation), numpy runs the network on a batch of slots at a time,
the chosen join (`join`) turns the blocks into samples and they go straight into the WAV.
Frames are read in a thread a couple of batches ahead (`Prefetch`), so decoding and inference
overlap. Memory stays at a few batches however long the video is, and PyTensor is never
imported: a brain is plain numpy (`brain`).

The WAV is 22050 Hz mono float32, exactly 735 samples per slot of the video, clamped to
[-1, 1]; it appears under its name only when complete (`files.atomic_path`).

What the network sees and what it says are the brain's own: its input layout
(`brain.layout`, data/layouts.py: the frame, its history of differences, the movement around
it, its eigen-frames) turns the frames into rows, a batch at a time and in constant memory (a
layout that looks ahead, like movement's three frames, holds those back), and its sound
representation (`brain.representation`, sound/registry.py) gives the synthesizer its outputs
go through: PCM blocks joined raw or smooth (`mode`), spectra, overlap-added frames, or
copies of the training sound the brain carries. The mode applies to PCM blocks only.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from ..core import cli, grid
from ..core.errors import UserError
from ..core.files import atomic_path, check_writable_dir
from ..data import looks
from ..learn import brain as brains
from ..learn.brain import Brain
from ..media import audio, video
from ..sound import pcm

log = logging.getLogger("bitmap2pcm")

# The shipped brains (shipped/ says how each is made) are package data, so that an installed
# bitmap2pcm renders with them too; the checkout's brains/NAME.pkl are links to these.
BRAINS_DIR = Path(__file__).resolve().parents[1] / "brains"
DEFAULT_BRAIN = BRAINS_DIR / "cues.pkl"  # the one render uses when no brain is named
FAITHFUL_BRAIN = BRAINS_DIR / "shallow.pkl"  # the original's network: the 2015 sound (--faithful)
MODES = pcm.MODES
# Smooth is the default: same predictions, same timing, none of the edge clicks; "raw" gives
# the 2015 sound bit for bit.
DEFAULT_MODE = "smooth"
BATCH_SLOTS = 256  # 8.5 s of video: a 4096x1000 product large enough for BLAS to run at speed


def shipped_names() -> list[str]:
    """The names of the shipped brains there are: 'shallow' for BRAINS_DIR/shallow.pkl."""
    return sorted(path.stem for path in BRAINS_DIR.glob("*.pkl"))


def resolve_brain(given: str | Path | None) -> Path:
    """The brain file a --brain value names: a file (a brain or a checkpoint), else a shipped
    brain's name ('shallow'), and without a value the shipped default. A UserError says how
    to get a brain when there is none."""
    if given is None:
        if DEFAULT_BRAIN.is_file():
            return DEFAULT_BRAIN
        raise UserError(
            f"no brain given and the default brain {DEFAULT_BRAIN} is not there: pass "
            f"--brain FILE (a trained brain or a checkpoint, e.g. {brains.DEFAULT_BRAIN_FILE}), "
            f"or train one with theanet.py ('make brains' retrains the shipped brains)"
        )
    path = Path(given)
    if path.exists() or path.name != str(given):  # a file, or a path: brain.load says what is wrong
        return path
    shipped = BRAINS_DIR / f"{given}.pkl"
    if shipped.is_file():
        return shipped
    raise UserError(f"{given}: no such file, and no shipped brain has that name (shipped: "
                    f"{', '.join(shipped_names()) or 'none'})")


def load_brain(path: str | Path) -> Brain:
    """Load a brain or checkpoint and check that render can use it on video frames (its
    picture convention, input layout and sound representation: `brain.check`); brain.load
    refuses pickles that would run code and unknown format versions."""
    return brains.check(brains.load(path))


def frame_stream(network: Brain, path: str | Path, batch_slots: int = BATCH_SLOTS,
                 origin_s: float | None = None) -> video.FrameStream:
    """The video's frames prepared the way `network` was trained (same side, interpolation,
    gray or colour), on the grid from time zero `origin_s` (probed when not given)."""
    convention = network.input
    return video.FrameStream(path, side=convention["side"],
                             interpolation=convention["interpolation"], batch_slots=batch_slots,
                             origin_s=origin_s, channels=video.channels_of(convention))


def slot_batches(network: Brain, batches: Iterable[np.ndarray],
                 with_looks: bool) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """(input rows, looks) of a stream of uint8 frame batches (n, channels*side*side) of one
    video: the rows the brain's input layer sees, by its layout's `stream` (which runs across
    the batches, and gives what it held back at the end), and `with_looks` the same slots'
    looks (data/looks.py), else None. Every frame gets one row, in order."""
    slots = looks.WithLooks(network.layout.stream(), looks.STEP_FRAMES if with_looks else None)
    for batch in batches:
        rows, seen = slots.push(video.frames_to_unit(batch))
        if len(rows):
            yield rows, seen
    rows, seen = slots.finish()
    if len(rows):
        yield rows, seen


def input_rows(network: Brain, batches: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The input rows alone of `slot_batches`."""
    for rows, _ in slot_batches(network, batches, with_looks=False):
        yield rows


def whole_rows(network: Brain, frames: np.ndarray) -> np.ndarray:
    """`input_rows` of a whole video's frames at once."""
    rows = list(input_rows(network, [frames]))
    return np.concatenate(rows) if rows else np.zeros((0, network.layer_sizes[0]), np.float32)


def sound_stream(network: Brain, batches: Iterable[np.ndarray],
                 mode: str) -> Iterator[np.ndarray]:
    """Runs of samples for a stream of uint8 frame batches of one video: its input rows
    (`slot_batches`, which run across the batches) through the network and its
    representation's synthesizer (`mode` names the join of PCM blocks), with the slots' looks
    for a synthesizer that chooses by them."""
    synthesizer, outputs = network.synthesizer(mode), brains.OutputStream(network)
    for rows, seen in slot_batches(network, batches, network.chooses_by_looks):
        yield synthesizer.push(outputs.push(rows), seen)
    yield synthesizer.finish()


@dataclass(frozen=True)
class RenderSummary:
    """What a render produced: slots covered, samples written, how long it took, and the
    grid's time zero in the video's own timestamps (the sound's first sample plays then)."""

    slots: int
    samples: int
    wall_seconds: float
    origin_s: float

    @property
    def seconds(self) -> float:
        return self.samples / grid.RATE_HZ


def render(video_path: str | Path, out_path: str | Path, brain_path: str | Path | None = None,
           mode: str = DEFAULT_MODE, batch_slots: int = BATCH_SLOTS,
           progress: bool = False) -> RenderSummary:
    """Render `video_path` through a brain into the WAV `out_path` (see the module notes).

    Every check that can fail fast (mode, brain, output folder, video) runs before the first
    frame is used.
    """
    started = time.perf_counter()
    if mode not in MODES:
        raise UserError(f"unknown mode '{mode}' (choose {', '.join(MODES)})")
    brain_file = resolve_brain(brain_path)
    network = load_brain(brain_file)
    out_path = Path(out_path)
    check_writable_dir(out_path.parent)
    info = video.probe(video_path)  # first: it gives the grid's time zero
    video.require_video(info)
    frames = frame_stream(network, video_path, batch_slots, info.origin_s)
    with Prefetch(frames) as batches:
        representation = network.representation
        log.info("rendering %s with %s (%s)", video_path, brain_file,
                 f"{mode} join" if representation.joins else representation.synthesis)
        runs = sound_stream(network, cli.progress(batches, info.expected_slots, progress), mode)
        samples = _write_wav(out_path, runs,
                             if_empty=f"{video_path}: no frames could be decoded")
    summary = RenderSummary(frames.slots_read, samples, time.perf_counter() - started, info.origin_s)
    log.info("wrote %s: %d slots, %.2f s of sound in %.1f s", out_path, summary.slots,
             summary.seconds, summary.wall_seconds)
    return summary


def _write_wav(destination: Path, runs: Iterable[np.ndarray], if_empty: str) -> int:
    """Stream runs of samples into a 22050 Hz mono float32 WAV that appears only when
    complete; returns the number of samples. No samples at all is a UserError (`if_empty`)
    and writes nothing."""
    with atomic_path(destination, suffix=".wav") as temporary:
        samples = audio.write_wav_stream(temporary, runs)
        if samples == 0:
            raise UserError(if_empty)
    return samples


class Prefetch:
    """Iterate `items` in a background thread, up to `depth` items ahead.

    Without it ffmpeg stalls while numpy works: the pipe holds only 64 KiB (16 frames), so
    decoding and inference would take turns. Reading a pipe and BLAS products both release
    the GIL, so in a thread they overlap. The thread starts at once, so work done before the
    first item is taken (checking the video) overlaps decoding too. Exceptions from `items`
    are raised to the consumer; `close` (or leaving the `with` block) stops the thread and
    closes `items`, which ends ffmpeg.
    """

    _FINISHED = object()

    def __init__(self, items: Iterable[Any], depth: int = 2):
        self._handoff: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, args=(items,), name="prefetch",
                                        daemon=True)
        self._thread.start()

    def _offer(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, items: Iterable[Any]) -> None:
        source = iter(items)
        try:
            for item in source:
                if not self._offer(item):
                    return
            self._offer(self._FINISHED)
        except BaseException as error:  # handed over; the consumer re-raises it
            self._offer(error)
        finally:
            getattr(source, "close", lambda: None)()

    def __iter__(self) -> Iterator[Any]:
        while True:
            item = self._handoff.get()
            if item is self._FINISHED:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> "Prefetch":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

