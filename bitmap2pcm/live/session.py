"""One live session: a source's pictures through a brain into the chosen outputs, until the
source ends or the user stops it (Ctrl-C or SIGTERM: the outputs are completed either way).

The loop takes the pictures that arrived since its last turn (`LiveSource.take`): one
usually, more when the brain fell behind and pictures were dropped. Each dropped picture is
replaced by the last one kept, so the grid keeps its 30 slots a second and the sound its
735 samples a slot, with no gap; the pictures that piled up go through the network as one
batch, which is cheaper per slot and lets the loop catch up. Drops are logged at most once
a second.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..core import grid
from ..data import looks
from ..learn import brain as brains
from ..media import video
from ..render import stream
from ..sound.representation import Synthesizer
from . import output
from .lookahead import LookaheadRows
from .source import Arrival, LiveSource, picture_of

log = logging.getLogger("bitmap2pcm")

REPORT_EVERY_S = 1.0  # drops are reported at most this often
READY = "Ctrl-C stops"  # ends the line saying the session waits for pictures (live/latency.py waits for it)


@dataclass(frozen=True)
class Plan:
    """What a live session does: the source, the brain and how it is heard, and the outputs
    (`outputs`: WAV paths and "-" for standard output; `play`: the sound device too)."""

    source: str
    brain: str | None = None
    mode: str = stream.DEFAULT_MODE
    lookahead: int | None = None
    outputs: tuple[str, ...] = ()
    play: bool = False
    record: Path | None = None
    input_format: str | None = None
    buffer_ms: float = output.DEFAULT_BUFFER_MS
    device: str | int | None = None  # PortAudio's name or index


@dataclass(frozen=True)
class Summary:
    """What a session did: slots of sound given, pictures received and dropped, how long,
    the CPU it used (this process and its ffmpeg, in percent of one core), and why the source
    or the sound device ended it ("" for a normal end or a stop)."""

    slots: int
    received: int
    dropped: int
    wall_s: float
    cpu_percent: float
    ending: str


class _Stopper:
    """Ctrl-C and SIGTERM stop the source (which closes a recording properly) instead of
    interrupting the loop wherever it is; the handlers are restored afterwards."""

    def __init__(self, source: LiveSource) -> None:
        self._source = source
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> "_Stopper":
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._saved[signum] = signal.signal(signum, self._stop)
        return self

    def _stop(self, signum: int, frame: Any) -> None:
        self._source.stop()

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)


def _outputs(plan: Plan, stack: contextlib.ExitStack) -> tuple[list[output.Write], Path | None]:
    """The outputs' write functions, entered on `stack`, and where a recording's pictures go."""
    writes = [stack.enter_context(output.pipe() if name == "-" else output.wav_file(Path(name)))
              for name in plan.outputs]
    pictures_path = None
    if plan.record is not None:
        recording = stack.enter_context(output.recording_scratch(plan.record))
        writes.append(stack.enter_context(recording.sound()))
        pictures_path = recording.pictures_path
    if plan.play or not (plan.outputs or plan.record):
        writes.insert(0, stack.enter_context(output.device(plan.buffer_ms, plan.device)))
    return writes, pictures_path


def _frames(arrivals: list[Arrival], last: Arrival | None) -> np.ndarray:
    """The arrived pictures with the dropped ones before each replaced by the last one kept."""
    frames = []
    for arrival in arrivals:
        missed = arrival.index - (last.index + 1 if last else 0)
        frames += [(last or arrival).frame] * missed + [arrival.frame]
        last = arrival
    return np.stack(frames)


def _cpu_s() -> float:
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def run(plan: Plan) -> Summary:
    """Run a live session (see the module notes); every check that can fail fast (brain,
    look-ahead, outputs, source file) runs before the first picture."""
    network = stream.load_brain(stream.resolve_brain(plan.brain))
    picture = picture_of(network)
    rows = LookaheadRows(network, plan.lookahead)
    synthesizer = network.synthesizer(plan.mode)
    started_s, cpu_started_s = time.monotonic(), _cpu_s()
    with contextlib.ExitStack() as stack:
        writes, pictures_path = _outputs(plan, stack)
        source = LiveSource(plan.source, picture, plan.input_format, pictures_path)

        device_stopped: list[str] = []

        def write(samples: np.ndarray) -> None:
            for each in list(writes):
                try:
                    each(samples)
                except output.DeviceStopped as error:  # the rest go on until the source stops
                    device_stopped.append(str(error))
                    writes.remove(each)
                    source.stop()

        stack.callback(source.close)  # before the outputs complete: ffmpeg closes the pictures
        stack.enter_context(_Stopper(source))
        log.info("live: %s through %s, %d frames of look-ahead (the brain's: %d); %s",
                 plan.source, Path(stream.resolve_brain(plan.brain)).stem, rows.frames,
                 rows.brain_frames, READY)
        # the looks wait no longer than the rows (live's look-ahead), so neither is held back
        slot_rows = looks.WithLooks(rows, rows.frames if network.chooses_by_looks else None)
        slots = _play(source.start(), slot_rows, brains.OutputStream(network), synthesizer, write,
                      lambda: output.ending(writes))
    wall_s = time.monotonic() - started_s
    cpu_percent = 100 * (_cpu_s() - cpu_started_s) / max(wall_s, 1e-9)
    ending = device_stopped[0] if device_stopped else source.ending()
    return Summary(slots, source.received, source.dropped, wall_s, cpu_percent, ending)


def _play(source: LiveSource, rows: looks.WithLooks, outputs: brains.OutputStream,
          synthesizer: Synthesizer, write: Callable[[np.ndarray], None],
          ending: Callable[[], None]) -> int:
    """The loop: pictures in, sound out, until the source ends or is stopped (`ending` is
    called before the last slots); the slots given."""
    slots = 0
    last: Arrival | None = None
    reported_s, reported_drops = time.monotonic(), 0
    for arrivals in _turns(source):
        frames = _frames(arrivals, last)
        last = arrivals[-1]
        slots += _sound(rows.push(video.frames_to_unit(frames)), outputs, synthesizer, write)
        if source.dropped > reported_drops and time.monotonic() - reported_s >= REPORT_EVERY_S:
            log.warning("live: %d pictures dropped in %.1f s: the machine cannot keep up (%d of %d "
                        "in all)", source.dropped - reported_drops, time.monotonic() - reported_s,
                        source.dropped, source.received)
            reported_s, reported_drops = time.monotonic(), source.dropped
    if source.received == 0 and source.error is not None:
        raise source.error  # nothing came: no output is left behind
    ending()
    slots += _sound(rows.finish(), outputs, synthesizer, write)
    write(synthesizer.finish())
    return slots


def _turns(source: LiveSource) -> Iterator[list[Arrival]]:
    while arrivals := source.take():
        yield arrivals


def _sound(slots: tuple[np.ndarray, np.ndarray | None], outputs: brains.OutputStream,
           synthesizer: Synthesizer, write: Callable[[np.ndarray], None]) -> int:
    """The sound of the next input rows (with their slots' looks), written; the number of slots."""
    rows, seen = slots
    if len(rows):
        write(synthesizer.push(outputs.push(rows), seen))
    return len(rows)


def describe(summary: Summary) -> str:
    """A session's closing line."""
    seconds = summary.slots / grid.SLOTS_PER_SECOND
    return (f"live: {summary.received} pictures in {summary.wall_s:.1f} s, {summary.dropped} dropped; "
            f"{seconds:.1f} s of sound; CPU {summary.cpu_percent:.0f} % of one core (with ffmpeg)")
