"""Render: a video's pictures through a brain into a sound track (out.wav).

One streaming pass: ffmpeg puts the pictures on the 30 fps grid exactly as the brain's input
convention says (side, interpolation), numpy runs the network on a batch of slots at a time,
the chosen join (`join`) turns the blocks into samples and they go straight into the WAV.
Frames are read in a thread a couple of batches ahead (`Prefetch`), so decoding and inference
overlap. Memory stays at a few batches however long the video is, and PyTensor is never
imported: a brain is plain numpy (`brain`).

The WAV is 22050 Hz mono float32, exactly 735 samples per slot of the video, clamped to
[-1, 1]; it appears under its name only when complete (`files.atomic_path`).

What the blocks are depends on the brain's output convention (`brain["output"]["kind"]`):
"pcm" brains predict 735 samples per slot, joined by the chosen join mode; "stft-magnitude"
brains (theanet.py --target stft) predict a magnitude spectrum per slot, which
`spectral.Synthesizer` turns into continuous sound by overlap-add; "pcm-overlap" brains
(--target ola) predict a windowed 1470-sample frame per slot, which `overlap.Synthesizer`
overlap-adds; "sound-cues" brains (--target cues, the recommended mode) predict each slot's
bands, loudness class and onset, and `library.Synthesizer` copies the training sound the
brain carries to match them (example-based synthesis). The raw and smooth joins do not
apply to those three, and the mode is ignored. A movement brain (--input movement) sees a
window of frames around the slot: `movement.MovementStream` holds three frames back.

A brain trained with history (theanet.py --history K, `brain["input"]["history"]`) sees each
frame with its K previous frame differences: `history.HistoryStream` builds those inputs batch
by batch, carrying the last K frames across batches, so memory stays bounded; the video's first
frame stands for the frames before it. A spacetime brain (theanet.py --input spacetime) also
sees the frame after the slot: `motion.SpacetimeStream` holds one frame back (look-ahead of one
slot, constant memory) and gives the last one when the video ends.

A colour brain (pickler.py --color, `brain["input"]["color"]`) is given colour frames, three
planes each; an eigen-frame brain (theanet.py --eigen-frames K) sees each frame's projection
onto the K components stored in it (`eigen.project`, the same function its training used).
Brains without these entries see gray pixels, as before.
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
from ..data import eigen, history, motion, movement
from ..learn import brain as brains
from ..learn.settings import input_units
from ..media import audio, video
from ..sound import cues, join, library, overlap, spectral

log = logging.getLogger("bitmap2pcm")

# The shipped brains (shipped/ says how each is made) are package data, so that an installed
# bitmap2pcm renders with them too; the checkout's brains/NAME.pkl are links to these.
BRAINS_DIR = Path(__file__).resolve().parents[1] / "brains"
DEFAULT_BRAIN = BRAINS_DIR / "cues.pkl"  # the one render uses when no brain is named
FAITHFUL_BRAIN = BRAINS_DIR / "shallow.pkl"  # the original's network: the 2015 sound (--faithful)
MODES = tuple(join.JOINS)
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


def load_brain(path: str | Path) -> dict[str, Any]:
    """Load a brain or checkpoint and check that render can use it on video frames.

    Beyond the format checks of `brain.load` (which refuses pickles that would run code and
    unknown format versions): the output must be PCM blocks of one slot, magnitude spectra
    of one slot in the framing and scaling `spectral` synthesizes, or windowed PCM frames in
    the framing `overlap` overlap-adds, and the input size must be what the brain's own
    picture convention produces.
    """
    network = brains.load(path)
    output = network["output"]
    if output.get("kind") == spectral.KIND:
        spectral.check_convention(output, str(path))
        outputs = spectral.BINS
    elif output.get("kind") == overlap.KIND:
        overlap.check_convention(output, str(path))
        outputs = overlap.FRAME
    elif output.get("kind") == cues.KIND:
        cues.check_convention(output, str(path))
        library.check(output.get("library"), str(path))
        if not isinstance(output.get("onset_threshold"), float):
            raise UserError(f"{path}: the cue brain lacks its onset threshold; retrain it")
        outputs = cues.CUES
    elif output.get("kind") == "pcm" and output.get("samples_per_slot") == grid.SAMPLES_PER_SLOT:
        outputs = grid.SAMPLES_PER_SLOT
    else:
        raise UserError(
            f"{path}: brain predicts {output.get('kind')!r} blocks of "
            f"{output.get('samples_per_slot')} samples; render needs 'pcm' blocks of "
            f"{grid.SAMPLES_PER_SLOT}, '{spectral.KIND}' spectra, '{overlap.KIND}' frames or "
            f"'{cues.KIND}'"
        )
    if network["layer_sizes"][-1] != outputs:
        raise UserError(
            f"{path}: brain has {network['layer_sizes'][-1]} outputs, not the {outputs} "
            f"its {output['kind']!r} output convention needs per slot"
        )
    side = network["input"].get("side")
    layout = network["input"].get("layout", "frame")
    if layout not in ("frame", history.LAYOUT, motion.LAYOUT, movement.LAYOUT):
        raise UserError(f"{path}: brain's input layout {layout!r} is unknown (render knows "
                        f"'frame', '{history.LAYOUT}', '{motion.LAYOUT}' and '{movement.LAYOUT}')")
    k = network["input"].get("history", 0) if layout == history.LAYOUT else 0
    if not isinstance(k, int) or k < 0:
        raise UserError(f"{path}: brain records history {k!r}, not a whole number of frames")
    if not isinstance(side, int):
        raise UserError(f"{path}: brain takes {network['layer_sizes'][0]} inputs per frame, which "
                        f"does not fit its {side}x{side} picture convention")
    pixels = video.channels_of(network["input"]) * side * side
    fit = _eigen_fit(network, path, pixels, layout)
    inputs = layout if layout in (motion.LAYOUT, movement.LAYOUT) else "frame"
    if input_units(pixels, k, inputs, len(fit.scale) if fit else 0) != network["layer_sizes"][0]:
        with_what = {motion.LAYOUT: " with its motion (spacetime)",
                     movement.LAYOUT: " as movement rows"}.get(
            layout, f" with {k} frame differences" if k else "")
        with_what += f" as {len(fit.scale)} eigen-frame coefficients" if fit else ""
        raise UserError(f"{path}: brain takes {network['layer_sizes'][0]} inputs per frame, which "
                        f"does not fit its {side}x{side} picture convention{with_what}")
    if network["input"].get("interpolation") not in video.INTERPOLATIONS:
        raise UserError(
            f"{path}: brain was trained with unknown interpolation "
            f"{network['input'].get('interpolation')!r}"
        )
    return network


def _eigen_fit(network: dict[str, Any], path: str | Path, pixels: int,
               layout: str) -> eigen.EigenFit | None:
    """The brain's eigen-frame fit (None without one), checked against its frames of `pixels`
    values and its layout (eigen-frames stand in for the frame of a frame or spacetime row)."""
    try:
        fit = eigen.fit_of(network["input"])
    except ValueError as error:
        raise UserError(f"{path}: brain's eigen-frame fit is unusable: {error}") from None
    if fit is not None and fit.mean.shape[0] != pixels:
        raise UserError(f"{path}: brain's eigen-frames are fitted to frames of {fit.mean.shape[0]} "
                        f"values, but its picture convention makes frames of {pixels}")
    if fit is not None and layout not in ("frame", motion.LAYOUT):
        raise UserError(f"{path}: brain has eigen-frames in a {layout!r} input layout; render "
                        f"projects frames only in the 'frame' and '{motion.LAYOUT}' layouts")
    return fit


def frame_stream(network: dict[str, Any], path: str | Path, batch_slots: int = BATCH_SLOTS,
                 origin_s: float | None = None) -> video.FrameStream:
    """The video's frames prepared the way `network` was trained (same side, interpolation,
    gray or colour), on the grid from time zero `origin_s` (probed when not given)."""
    convention = network["input"]
    return video.FrameStream(path, side=convention["side"],
                             interpolation=convention["interpolation"], batch_slots=batch_slots,
                             origin_s=origin_s, channels=video.channels_of(convention))


def input_stream(network: dict[str, Any]) -> (history.HistoryStream | motion.SpacetimeStream
                                               | movement.MovementStream | eigen.ProjectionStream):
    """The input builder for one video: the frame alone, with the brain's K differences, the
    frame with its motion into and out of the slot (spacetime), or the movement around it;
    with eigen-frames the frame's part is its projection."""
    fit = eigen.fit_of(network["input"])
    if network["input"].get("layout") == motion.LAYOUT:
        return motion.SpacetimeStream(video.channels_of(network["input"]), fit)
    if network["input"].get("layout") == movement.LAYOUT:
        return movement.MovementStream()
    if fit is not None:
        return eigen.ProjectionStream(fit)
    return history.HistoryStream(history.history_of(network["input"]))


def input_rows(network: dict[str, Any], batches: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The rows the brain's input layer sees, for a stream of uint8 frame batches (n,
    channels*side*side) of one video: history inputs run across the batches; spacetime inputs hold
    each batch's last frame back until the next batch shows what follows it, and give it at
    the end. Every frame gets one row, in order."""
    builder = input_stream(network)
    for batch in batches:
        rows = builder.push(video.frames_to_unit(batch))
        if len(rows):
            yield rows
    last = builder.finish()
    if len(last):
        yield last


def whole_rows(network: dict[str, Any], frames: np.ndarray) -> np.ndarray:
    """`input_rows` of a whole video's frames at once."""
    rows = list(input_rows(network, [frames]))
    return np.concatenate(rows) if rows else np.zeros((0, network["layer_sizes"][0]), np.float32)


def blocks_of(network: dict[str, Any], rows: np.ndarray) -> np.ndarray:
    """Input rows to PCM blocks (n, 735): 2y - 1 of the brain's outputs, clamped to [-1, 1]
    (a linear output layer can overshoot), float32."""
    outputs = brains.forward(network, rows)
    return np.clip(grid.unit_to_pcm(outputs), -1.0, 1.0, out=outputs)


def magnitudes_of(network: dict[str, Any], rows: np.ndarray) -> np.ndarray:
    """Input rows to magnitude spectra (n, BINS) in PCM units, through the inverse of the
    brain's [0, 1] scaling (which clips overshooting outputs first) and its level calibration
    (spectral.calibrated)."""
    return spectral.calibrated(spectral.from_unit(brains.forward(network, rows)), network["output"])


def predict_blocks(network: dict[str, Any], frames: np.ndarray) -> np.ndarray:
    """A whole video's uint8 frames (n, side*side) to its PCM blocks (`blocks_of`)."""
    return blocks_of(network, whole_rows(network, frames))


def predict_magnitudes(network: dict[str, Any], frames: np.ndarray) -> np.ndarray:
    """A whole video's uint8 frames (n, side*side) to its magnitude spectra (`magnitudes_of`)."""
    return magnitudes_of(network, whole_rows(network, frames))


class Synthesizer:
    """A brain's sound, pushed a batch of slots at a time: `push(outputs)` takes the network's
    (n, outputs) rows and returns the samples that are final, `finish()` the rest; 735 samples
    per slot in all, float32 in [-1, 1]. PCM blocks are joined by `mode`; spectra, windowed
    frames and cues are synthesized (the mode does not apply to them)."""

    def __init__(self, network: dict[str, Any], mode: str = DEFAULT_MODE) -> None:
        kind = network["output"]["kind"]
        self._network = network
        if kind == spectral.KIND:
            self._convert, self._inner = self._magnitudes, spectral.Synthesizer()
        elif kind == overlap.KIND:
            self._convert, self._inner = overlap.from_unit, overlap.Synthesizer()
        elif kind == cues.KIND:
            self._convert = cues.decode
            self._inner = library.Synthesizer(network["output"]["library"],
                                              network["output"]["onset_threshold"])
        else:
            if mode not in join.JOINS:
                raise UserError(f"unknown mode '{mode}' (choose {', '.join(MODES)})")
            self._convert, self._inner = self._blocks, join.JOINS[mode]()

    def _magnitudes(self, outputs: np.ndarray) -> np.ndarray:
        return spectral.calibrated(spectral.from_unit(outputs), self._network["output"])

    @staticmethod
    def _blocks(outputs: np.ndarray) -> np.ndarray:
        return np.clip(grid.unit_to_pcm(outputs), -1.0, 1.0, out=outputs)

    def push(self, outputs: np.ndarray) -> np.ndarray:
        converted = self._convert(outputs)
        return self._inner.push(*converted) if isinstance(converted, tuple) else self._inner.push(converted)

    def finish(self) -> np.ndarray:
        return self._inner.finish()


def sound_stream(network: dict[str, Any], batches: Iterable[np.ndarray],
                 mode: str) -> Iterator[np.ndarray]:
    """Runs of samples for a stream of uint8 frame batches of one video: its input rows
    (`input_rows`, which run across the batches) through the network and the brain's
    `Synthesizer`."""
    synthesizer = Synthesizer(network, mode)
    for rows in input_rows(network, batches):
        yield synthesizer.push(brains.forward(network, rows))
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
    if mode not in join.JOINS:
        raise UserError(f"unknown mode '{mode}' (choose {', '.join(MODES)})")
    brain_file = resolve_brain(brain_path)
    network = load_brain(brain_file)
    out_path = Path(out_path)
    check_writable_dir(out_path.parent)
    info = video.probe(video_path)  # first: it gives the grid's time zero
    video.require_video(info)
    frames = frame_stream(network, video_path, batch_slots, info.origin_s)
    with Prefetch(frames) as batches:
        log.info("rendering %s with %s (%s)", video_path, brain_file,
                 {spectral.KIND: "spectral synthesis", overlap.KIND: "overlap-add",
                  cues.KIND: "example-based synthesis"}.get(
                     network["output"]["kind"], f"{mode} join"))
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

