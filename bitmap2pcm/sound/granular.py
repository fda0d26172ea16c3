"""The granular score: the original's cloud of grains over out.wav, as a Csound score.

`granular.csd` (the orchestra, beside this module: `ORCHESTRA`) loads out.wav into a table
and plays one instrument, "grain", for every line of this score; this module decides where
the grains go (docs/original.md, after the 2015 out-2-csound.py). For every 735-sample
block of out.wav, starting at sample b:

- 1 to 19 "parent" grains (the original's int(uniform(1, 20))); parent j starts at
  b + int(uniform(-735, (j + 1) * 735)) samples, lasts 735 samples, amplitude 1;
- each parent is followed by 1 to 19 "child" grains, child i starting
  int(uniform(0, 735 * (rate // 1000))) samples after its parent (rate // 1000 is 22 at
  22050 Hz: the original's Python 2 integer division), each shorter than the one before by a
  factor uniform(0.25, 0.99), with amplitude 1 / (i + 1); children stop once a grain is no
  longer than 100 samples.

The original's instrument applied a grain's amplitude twice, to the Bartlett window and to
the oscillator reading the sound, so a grain's peak gain is amplitude squared; the score
states that gain directly.

Two readings of the sound table (`READINGS`):

- "faithful": the original's. Every grain starts reading at its block's position and moves
  through the table at a fixed 0.5 passes per second, whatever the sound's length: a 60 s
  sound plays 30 times too fast (high pitched, and faster still for longer videos), and a
  grain scheduled up to 19 blocks late plays its block's sound late. Gains as the original
  (peak amp^2 against 0dbfs 4), so loud passages can clip as they did in 2015.
- "ontime" (the default): every grain plays the sound at natural speed from its own moment,
  so whatever a grain plays is what the brain made for that instant of the picture. All the
  grains over an instant then play the same samples and add in phase, so the cloud becomes a
  moving gain on the sound rather than a smear; the gains are scaled so that the loudest
  point of that gain is full scale, and the result cannot clip.

Both readings share the deviations needed to make a sound track of the video's length: a
grain scored before 0 s starts at 0 s (what Csound did with the original's negative start
times), and a grain that would run past the end of the sound is left out (the original let
Csound play on past the video).

`score` is a pure function of the sound's length, the seed and the reading: the same seed
gives the same text, and Csound the same sound; `write_score` writes it.
"""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..core import grid
from ..core.files import atomic_open

log = logging.getLogger("bitmap2pcm")

# Package data, so that an installed bitmap2pcm has it too (the checkout's granular.csd is a
# link to it).
ORCHESTRA = Path(__file__).with_name("granular.csd")

READINGS = ("ontime", "faithful")
DEFAULT_READING = "ontime"
ORCHESTRA_DBFS = 4.0  # granular.csd's 0dbfs, the original's
ORCHESTRA_RATE_HZ = 44100  # granular.csd's sr: two output samples per sample of out.wav
FAITHFUL_PASSES_PER_SECOND = 0.5  # the original's poscil frequency over the whole table
GRAIN_COUNT = (1, 20)  # parents per block, children per parent: int(uniform(1, 20))
CHILD_SHRINK = (0.25, 0.99)
SHORTEST_GRAIN = 100  # samples: no more children once a grain is this short


@dataclass(frozen=True)
class Grain:
    """One grain, in samples of out.wav (22050 Hz): where it starts (may be negative before
    `place`), how long it lasts, its amplitude, and the start of the block it belongs to."""

    start: int
    length: int
    amplitude: float
    block: int


def grain_cloud(n_samples: int, seed: int, block: int = grid.SAMPLES_PER_SLOT,
                rate_hz: int = grid.RATE_HZ) -> list[Grain]:
    """The original's grains for a sound of `n_samples` samples (see the module notes).

    Drawn with Python's Mersenne Twister seeded with `seed`, in the original's order: the
    same seed gives the same grains on every platform and Python version.
    """
    rng = random.Random(seed)
    child_spread = block * (rate_hz // 1000)
    grains: list[Grain] = []
    for block_start in range(0, n_samples, block):
        for j in range(int(rng.uniform(*GRAIN_COUNT))):
            start = block_start + int(rng.uniform(-block, (j + 1) * block))
            grains.append(Grain(start, block, 1.0, block_start))
            length = block
            for i in range(int(rng.uniform(*GRAIN_COUNT))):
                if length <= SHORTEST_GRAIN:
                    break
                child_start = start + int(rng.uniform(0, child_spread))
                length = int(length * rng.uniform(*CHILD_SHRINK))
                grains.append(Grain(child_start, length, 1.0 / (i + 1), block_start))
    return grains


def place(grains: list[Grain], n_samples: int) -> list[Grain]:
    """Fit grains to a sound track of `n_samples`: starts before 0 move to 0, grains that
    would end after the sound are dropped, empty grains are dropped."""
    placed = (Grain(max(g.start, 0), g.length, g.amplitude, g.block) for g in grains)
    return [g for g in placed if g.length > 0 and g.start + g.length <= n_samples]


def window_sum(grains: list[Grain], n_samples: int) -> np.ndarray:
    """Sum of every grain's Bartlett window times its peak gain (amplitude squared), on the
    orchestra's 44100 Hz grid: 2 * n_samples values, dimensionless gain.

    With the on-time reading every grain plays the same samples at the same instant, so the
    output is the sound times this sum (over 0dbfs). Computed exactly from second
    differences: a triangle rising over L output samples and falling over L more has slope
    steps +g/L, -2g/L, +g/L at its start, middle and end, and two running sums rebuild it.
    """
    steps = np.zeros(2 * n_samples + 2)
    for g in grains:
        gain, start, half = g.amplitude**2, 2 * g.start, g.length  # half the grain, at 44100 Hz
        steps[start] += gain / half
        steps[start + half] -= 2.0 * gain / half
        steps[start + 2 * half] += gain / half
    return np.cumsum(np.cumsum(steps))[: 2 * n_samples]


def ontime_scale(grains: list[Grain], n_samples: int) -> float:
    """Factor on every grain's gain that puts the loudest point of `window_sum` at full scale
    (0dbfs), so an on-time render peaks at most at the sound's own peak and never clips.
    Csound's table load normalises the sound to a peak of 1 (GEN01), so that is full scale."""
    peak = float(window_sum(grains, n_samples).max(initial=0.0))
    return ORCHESTRA_DBFS / peak if peak > 0 else 1.0


def score(n_samples: int, seed: int = 0, reading: str = DEFAULT_READING,
          rate_hz: int = grid.RATE_HZ) -> str:
    """The Csound score for granular.csd over a sound of `n_samples` samples at `rate_hz`.

    One `i "grain"` line per grain: p2 start and p3 duration in seconds, p4 peak gain in
    0dbfs units, p5 the sample of out.wav where the grain starts reading, p6 the reading
    speed in samples of out.wav per second (`rate_hz` is natural speed). It ends with
    `f 0 <seconds>` so that Csound renders the whole length even where the last grains are
    missing.
    """
    if reading not in READINGS:
        raise ValueError(f"unknown reading {reading!r} (choose {', '.join(READINGS)})")
    if ORCHESTRA_RATE_HZ != 2 * rate_hz:
        raise ValueError(f"granular.csd plays at {ORCHESTRA_RATE_HZ} Hz, twice {rate_hz} Hz")
    grains = place(grain_cloud(n_samples, seed, rate_hz=rate_hz), n_samples)
    seconds = n_samples / rate_hz
    lines = [
        f"; granular score for granular.csd, bitmap2pcm {__version__}",
        f"; reading {reading}, seed {seed}, {n_samples} samples at {rate_hz} Hz "
        f"({seconds:.3f} s), {len(grains)} grains",
        "; p2 start (s), p3 duration (s), p4 peak gain (0dbfs units), "
        "p5 first sample read, p6 reading speed (samples/s)",
    ]
    if reading == "faithful":
        speed = FAITHFUL_PASSES_PER_SECOND * n_samples
        for g in grains:
            lines.append(_line(g, rate_hz, g.amplitude**2, g.block, speed))
    else:
        scale = ontime_scale(grains, n_samples)
        for g in grains:
            lines.append(_line(g, rate_hz, scale * g.amplitude**2, g.start, rate_hz))
    lines += [f"f 0 {seconds:.6f}", "e", ""]
    return "\n".join(lines)


def _line(grain: Grain, rate_hz: int, gain: float, first_sample: int, speed: float) -> str:
    return (f'i "grain" {grain.start / rate_hz:.6f} {grain.length / rate_hz:.6f} '
            f"{gain:.8f} {first_sample} {speed:.10g}")  # no exponents: plain score numbers


def write_score(path: str | os.PathLike, n_samples: int, seed: int = 0,
                reading: str = DEFAULT_READING) -> None:
    """`score` for a sound of `n_samples` samples at 22050 Hz, written atomically to `path`."""
    with atomic_open(path, "w") as stream:
        stream.write(score(n_samples, seed, reading))
    log.info("wrote %s (%s reading, seed %d)", path, reading, seed)
