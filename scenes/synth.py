"""Synthetic data whose sound follows its pictures: an example video and a test fixture.

`write_video` makes the "seeing a sound" example: shapes flash and move, and each makes its
own tone.

The mapping is one a brain can actually learn from single frames: the shape picks the
timbre, its height picks the pitch (higher on screen, higher in pitch), its size picks the
loudness, and an empty black screen is silent. Everything is drawn from a seeded random
generator, so the same seed gives the same video, bit for bit.

`shapes_dataset` makes slot-level training pairs directly (no video) for the trainer's tests
and benchmark: each frame shows one of a few shapes at a jittered position on a dark noisy
background, and its audio row is the waveform that belongs to its shape (a tone with a
harmonic, its own pitch per shape). Shapes come in "scenes" of consecutive frames, as a real
video holds a shot for a while, so contiguous validation chunks behave as on real data. A
network that recognises the shape can predict the row exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bitmap2pcm.core import grid
from bitmap2pcm.media import encode

SIDE_PX = 128
SHAPES = ("disc", "square", "bar")
LOWEST_HZ, HIGHEST_HZ = 220.0, 880.0
RAMP_S = 0.01  # attack and release, long enough not to click


@dataclass(frozen=True)
class Event:
    """One shape on screen from `start_s` for `duration_s`, drifting horizontally."""

    shape: str
    start_s: float
    duration_s: float
    height: float  # 0 = bottom of the screen, 1 = top
    size: float    # radius as a fraction of the picture side
    x_from: float
    x_to: float

    @property
    def pitch_hz(self) -> float:
        return LOWEST_HZ * (HIGHEST_HZ / LOWEST_HZ) ** self.height

    @property
    def amplitude(self) -> float:
        return 0.15 + 2.0 * self.size


def events(seconds: float, seed: int) -> list[Event]:
    """A random score: events of 0.2-1.5 s separated by 0-0.6 s of black silence."""
    rng = np.random.default_rng(seed)
    found, now = [], float(rng.uniform(0, 0.5))
    while now < seconds:
        duration = float(min(rng.uniform(0.2, 1.5), seconds - now))
        found.append(Event(SHAPES[rng.integers(len(SHAPES))], now, duration,
                           float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.06, 0.2)),
                           float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8))))
        now += duration + float(rng.uniform(0.0, 0.6))
    return found


def draw(event: Event, t_s: float) -> np.ndarray:
    """The event's picture at time t_s: a white shape on black, SIDE_PX square, float32."""
    progress = (t_s - event.start_s) / event.duration_s
    cx = (event.x_from + (event.x_to - event.x_from) * progress) * SIDE_PX
    cy = (1.0 - event.height) * SIDE_PX
    r = event.size * SIDE_PX
    y, x = np.mgrid[0:SIDE_PX, 0:SIDE_PX] + 0.5
    if event.shape == "disc":
        mask = (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    elif event.shape == "square":
        mask = (abs(x - cx) <= r) & (abs(y - cy) <= r)
    else:
        mask = (abs(x - cx) <= r * 1.6) & (abs(y - cy) <= r * 0.35)
    return mask.astype(np.float32)


def tone(event: Event, rate_hz: int) -> np.ndarray:
    """The event's sound: a timbre per shape at its pitch and loudness, ramped at both ends."""
    t = np.arange(int(round(event.duration_s * rate_hz))) / rate_hz
    phase = 2 * np.pi * event.pitch_hz * t
    if event.shape == "disc":
        wave = np.sin(phase)
    elif event.shape == "square":
        wave = np.tanh(4 * np.sin(phase)) * 0.7
    else:
        wave = sum(np.sin(k * phase) / k for k in range(1, 6)) * 0.6
    ramp = np.clip(np.minimum(t, t[-1] - t) / RAMP_S, 0, 1) if len(t) else t
    return (event.amplitude * wave * ramp).astype(np.float32)


def render_arrays(seconds: float, seed: int, rate_hz: int = grid.RATE_HZ):
    """Pictures (slots, SIDE_PX, SIDE_PX) uint8 at 30 fps and sound (samples,) float32."""
    score = events(seconds, seed)
    slots = grid.slots_in(seconds)
    pictures = np.zeros((slots, SIDE_PX, SIDE_PX), dtype=np.uint8)
    sound = np.zeros(int(round(seconds * rate_hz)), dtype=np.float32)
    for event in score:
        first = grid.slots_in(event.start_s)
        last = min(grid.slots_in(event.start_s + event.duration_s), slots)
        for slot in range(first, last):
            pictures[slot] = np.maximum(pictures[slot], draw(event, grid.slot_seconds(slot)) * 255)
        start = int(round(event.start_s * rate_hz))
        wave = tone(event, rate_hz)[: len(sound) - start]
        sound[start: start + len(wave)] += wave
    return pictures, np.clip(sound, -1, 1)


def write_video(destination: str | Path, seconds: float = 60.0, seed: int = 0) -> Path:
    """Write the synthetic video (H.264 picture, FLAC sound, MKV) atomically."""
    return encode.write_mkv(destination, *render_arrays(seconds, seed))


# --- slot-level training pairs for tests and benchmarks -------------------------------------

FIXTURE_SHAPES = 5  # disc, square, horizontal bar, vertical bar, cross


def _shape_mask(kind: int, side: int, centre: tuple[float, float], radius: float) -> np.ndarray:
    y, x = np.mgrid[0:side, 0:side].astype(np.float32)
    dy, dx = y - centre[0], x - centre[1]
    if kind == 0:
        return dy ** 2 + dx ** 2 <= radius ** 2                           # disc
    if kind == 1:
        return (np.abs(dy) <= radius) & (np.abs(dx) <= radius)           # square
    if kind == 2:
        return np.abs(dy) <= radius / 3                                  # horizontal bar
    if kind == 3:
        return np.abs(dx) <= radius / 3                                  # vertical bar
    return (np.abs(dy) <= radius / 4) | (np.abs(dx) <= radius / 4)       # cross


def waveforms(shapes: int, samples: int = grid.SAMPLES_PER_SLOT) -> np.ndarray:
    """(shapes, samples) rows in the [0, 1] audio convention, one tone per shape."""
    t = np.arange(samples) / grid.RATE_HZ
    rows = []
    for k in range(shapes):
        pitch = 110.0 * 2 ** (k * 7 / 12)  # a fifth apart
        pcm = 0.5 * np.sin(2 * np.pi * pitch * t) + 0.2 * np.sin(2 * np.pi * 3 * pitch * t + k)
        rows.append(grid.pcm_to_unit(pcm))
    return np.asarray(rows, dtype=np.float32)


def shapes_dataset(count: int, side: int = grid.FRAME_SIDE, samples: int = grid.SAMPLES_PER_SLOT,
                   shapes: int = 4, scene: int = 12, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`count` (frames, audio, labels): frames (count, side*side) and audio (count, samples),
    float32 in [0, 1]; labels say which shape each frame shows."""
    if not 1 <= shapes <= FIXTURE_SHAPES:
        # more labels than pictures would pair one picture with several sounds: unlearnable
        raise ValueError(f"shapes must be 1..{FIXTURE_SHAPES}, not {shapes}")
    rng = np.random.default_rng(seed)
    labels = np.empty(count, np.int64)
    position = 0
    while position < count:  # scenes of 1..2*scene frames, each showing one shape
        length = int(rng.integers(1, 2 * scene + 1))
        labels[position:position + length] = rng.integers(shapes)
        position += length
    frames = np.empty((count, side * side), np.float32)
    for index, kind in enumerate(labels):
        centre = (side / 2 + rng.uniform(-side / 8, side / 8), side / 2 + rng.uniform(-side / 8, side / 8))
        mask = _shape_mask(int(kind), side, centre, side * rng.uniform(0.22, 0.3))
        picture = np.where(mask, rng.uniform(0.7, 1.0), 0.0) + rng.uniform(0, 0.15, (side, side))
        frames[index] = np.clip(picture, 0.0, 1.0).ravel()
    audio = waveforms(shapes, samples)[labels]
    return frames, np.ascontiguousarray(audio), labels
