"""Small scenes whose motion is known, for the flow tests: a ball bouncing on a floor over a
textured backdrop, and the same pictures on twos."""

from __future__ import annotations

import numpy as np

SIDE = 64
GRAVITY = 0.35  # px per slot^2
FLOOR = 52.0


def backdrop(seed: int = 0) -> np.ndarray:
    """A smooth random texture in [0.2, 0.6], so flow has something to hold on to."""
    noise = np.random.default_rng(seed).random((SIDE // 8, SIDE // 8))
    return 0.2 + 0.4 * np.kron(noise, np.ones((8, 8)))


def bouncing_ball(slots: int = 75, x: float = 20.0) -> tuple[np.ndarray, list[int]]:
    """A bright disc dropped onto a floor, bouncing (restitution 0.8): frames (slots, 4096)
    in [0, 1] and the slots of its three impacts (the later, softer ones are cut off)."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    y, velocity, impacts, frames = 8.0, 0.0, [], []
    for slot in range(slots):
        picture = backdrop()
        disc = np.clip(4.5 - np.hypot(ys - y, xs - x), 0, 1)
        frames.append(picture * (1 - disc) + 0.95 * disc)
        velocity += GRAVITY
        y += velocity
        if y > FLOOR:
            y, velocity = FLOOR - (y - FLOOR), -0.8 * velocity
            impacts.append(slot + 1)  # the first picture after the hit shows it rising
    return np.asarray(frames, np.float32).reshape(slots, -1), impacts


def on_twos(frames: np.ndarray) -> np.ndarray:
    return held_for(frames, 2)


def held_for(frames: np.ndarray, slots: int) -> np.ndarray:
    """Each picture held for `slots` slots (animation on twos, on threes for 12 fps)."""
    return frames[np.arange(len(frames)) // slots * slots]


def drops(seconds: float, x_range: tuple[float, float], seed: int) -> tuple[np.ndarray, list[int], list[float]]:
    """Balls dropped one after another over the backdrop, each at a random place across
    `x_range` (pixels of the 64-pixel picture) and height, bouncing up to three times:
    pictures (slots, 64, 64) uint8, the slots of the impacts (the first picture after each
    hit) and their strengths (speed at the hit over the fastest possible, in (0, 1])."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    slots = int(round(seconds * 30))
    fastest = np.sqrt(2 * GRAVITY * FLOOR)
    pictures, impacts, strengths = [], [], []
    x = y = velocity = 0.0
    bounces, waiting = 3, 0
    for slot in range(slots):
        if bounces == 3:  # the ball leaves; a new one appears after a pause
            if waiting == 0:
                waiting = int(rng.integers(5, 20))
            waiting -= 1
            if waiting == 0:
                x, y, velocity, bounces = rng.uniform(*x_range), rng.uniform(4, 24), 0.0, 0
        picture = backdrop()
        if bounces < 3 and not waiting:
            disc = np.clip(4.5 - np.hypot(ys - y, xs - x), 0, 1)
            picture = picture * (1 - disc) + 0.95 * disc
            velocity += GRAVITY
            y += velocity
            if y > FLOOR:
                impacts.append(slot + 1)
                strengths.append(min(1.0, velocity / fastest))
                y, velocity, bounces = FLOOR - (y - FLOOR), -0.6 * velocity, bounces + 1
        pictures.append(np.clip(np.rint(picture * 255), 0, 255).astype(np.uint8))
    return np.asarray(pictures), impacts, strengths
