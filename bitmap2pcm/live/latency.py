"""Live latency, end to end: a camera of flashes on a pipe into `bitmap2pcm live -`, the sound
it plays on a null sink (nullsink.py), and when each flash's sound reached the sink.

This module is the camera: it writes 64x64 gray pictures (y4m) at 30 a second, on its own
clock, from the moment the command says it is ready; every FLASH_EVERY pictures one shows a
white square (half the picture's side) on black, the others are black, and it notes when
each was written. The command plays to the null sink and writes what it played to a WAV; the
sink's monitor is recorded with the time each piece came. A flash's sound is found in the
recording by normalised cross-correlation: the played sound from BEFORE slots before the
flash's slot to AFTER slots after it, looked for from BEFORE slots before the flash was written
(at a latency shorter than that, the piece's start reached the sink before the flash was
written) to SEARCH_S after. A match must reach MIN_MATCH: the sink plays what was written, so
the true match scores about 1; a flash without one is counted as not found, never timed.
A flash's latency = when the first sample of its slot reached the sink - when its picture
was written. bench/live reports them; tests/test_live.py checks them on a short run.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from scipy import signal as scipy_signal

from ..core import grid
from ..media import audio
from . import nullsink
from .session import READY

SIDE = 64
FLASH_EVERY = 23  # pictures: flashes fall on every phase of the device's blocks
SEARCH_S = 0.6    # a flash's sound is looked for up to this long after the flash
BEFORE, AFTER = 2, 12  # slots of the played sound around a flash matched in the recording
SILENT_WINDOW = 1e-3   # a recording window whose RMS is below this share of the piece's is not matched
MIN_MATCH = 0.9        # the normalised correlation a match needs


@dataclass(frozen=True)
class Flashes:
    """One run's flashes: the latency of each one found (ms, in order), how many were not
    found in the recording, and what the live command said."""

    latencies_ms: list[float]
    not_found: int
    log: str


def camera(stdin: IO[bytes], count: int, written: list[float]) -> None:
    """Write `count` pictures at 30 a second, noting each one's time in `written`."""
    stdin.write(f"YUV4MPEG2 W{SIDE} H{SIDE} F30:1 Ip A1:1 Cmono\n".encode())
    # a white square on black, not a white picture: a brain that takes out what changes over
    # the whole picture (patch inputs: a brightness change) would not hear a white picture
    flash = np.zeros((SIDE, SIDE), np.uint8)
    flash[SIDE // 4:3 * SIDE // 4, SIDE // 4:3 * SIDE // 4] = 235
    black, white = bytes(SIDE * SIDE), flash.tobytes()
    start = time.monotonic() + 0.5
    for k in range(count):
        time.sleep(max(0.0, start + k / grid.SLOTS_PER_SECOND - time.monotonic()))
        stdin.write(b"FRAME\n" + (white if k % FLASH_EVERY == FLASH_EVERY // 2 else black))
        stdin.flush()
        written.append(time.monotonic())
    stdin.close()


def measure(live_command: list[str], env: dict[str, str], scratch: Path, seconds: float,
            cwd: Path | None = None) -> Flashes:
    """Run `live_command` (the live command and its options, without SOURCE and outputs) on
    `seconds` of flashing pictures, playing on the null sink of `env`; its flashes."""
    played = scratch / "played.wav"
    monitor = nullsink.Monitor(env)
    time.sleep(0.3)
    live = subprocess.Popen([*live_command, "-", "--play", "-o", str(played)], env=env, cwd=cwd,
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    written: list[float] = []
    count = int(seconds * grid.SLOTS_PER_SECOND)
    # pictures written while the command loads its brain and wakes the sink would reach it
    # as one late burst: the camera starts when the command says it is ready
    started = b""
    while READY.encode() not in started and (line := live.stderr.readline()):
        started += line
    writer = threading.Thread(target=camera, args=(live.stdin, count, written))
    writer.start()
    writer.join()
    log = (started + live.stderr.read()).decode(errors="replace")  # a few lines: the pipe never fills
    live.wait()
    time.sleep(0.3)
    monitor.stop()
    if live.returncode != 0:
        raise RuntimeError(f"the live command failed:\n{log}")
    sound, _ = audio.read_wav(played)
    heard = monitor.samples
    heard_s = monitor.time_of(np.arange(len(heard)))
    found, not_found = [], 0
    for frame in range(FLASH_EVERY // 2, count - AFTER, FLASH_EVERY):
        slot_start = frame * grid.SAMPLES_PER_SLOT
        piece = sound[slot_start - BEFORE * grid.SAMPLES_PER_SLOT:slot_start + AFTER * grid.SAMPLES_PER_SLOT]
        if len(piece) == 0 or np.std(piece) < 1e-4:
            continue  # a silent piece cannot be found
        lead_s = BEFORE / grid.SLOTS_PER_SECOND
        first = int(np.searchsorted(heard_s, written[frame] - lead_s))
        window = heard[first:first + int((SEARCH_S + lead_s) * grid.RATE_HZ) + len(piece)]
        if len(window) < len(piece):
            continue
        match = scipy_signal.correlate(window, piece, mode="valid", method="fft")
        energy = np.sqrt(np.convolve(window ** 2, np.ones(len(piece)), mode="valid")) * np.linalg.norm(piece)
        # a window that is all but silent matches nothing: the FFT's rounding noise over its
        # near-zero energy would otherwise outscore the true match (r <= 1) by orders of magnitude
        score = match / np.maximum(energy, SILENT_WINDOW * float(piece @ piece))
        lag = int(np.argmax(score))
        if score[lag] < MIN_MATCH:
            not_found += 1
            continue
        arrived = monitor.time_of(first + lag + BEFORE * grid.SAMPLES_PER_SLOT)
        found.append(1000 * (float(arrived) - written[frame]))
    return Flashes(found, not_found, log)
