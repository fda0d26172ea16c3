"""A second event generator, unlike the benchmark's room: balls rain into a box over a textured
backdrop whose brightness drifts, as sparse or as dense as asked, their sounds overlapping.

It exists so that a brain trained on one kind of scene can be scored on another: the event
benchmark (`scenes.events`) plans one act at a time with pauses, a plain backdrop and
distinct, separate impacts; here any number of objects fly at once (`density_per_s` new ones
a second on average, each bouncing until it has hit `BOUNCES` times), impacts may fall in the
same slot, and the backdrop's brightness and contrast drift with no sound of their own. Each
object's impacts play its kind's recording (examples/sounds: ball, block, ring), louder for
harder hits (the speed into the floor or wall over FULL_SPEED_PX_S), as in the benchmark.

    pictures, sound, impacts = render(plan(seconds=30, seed=1, density_per_s=2.0), recordings)

Pure: the same arguments give the same scene. Pictures are SIDE_PX square, gray uint8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from bitmap2pcm.core import grid

from .events.benchmark import mix_sound

SIDE_PX = 128
KINDS = ("ball", "block", "ring")
GRAY = {"ball": 235.0, "block": 60.0, "ring": 200.0}
RADIUS_PX = (3.0, 8.0)
RESTITUTION = {"ball": 0.75, "block": 0.35, "ring": 0.55}
GRAVITY_PX_S2 = 900.0
FULL_SPEED_PX_S = 500.0
SIDEWAYS_PX_S = 120.0       # horizontal speed at most, either way
BOUNCES = 4                 # impacts before an object leaves (it fades out between slots)
MIN_STRENGTH = 0.08         # softer contacts make no sound (and end the object's life)
SUBSTEPS = 20               # physics steps per slot
TEXTURE_CELLS = 12          # the backdrop: a smooth random texture of this many cells a side
DRIFT_GRAY = 45.0           # brightness drifts this far either way ...
DRIFT_CONTRAST = 0.35       # ... and contrast by this factor either way
DRIFT_PERIOD_S = (4.0, 12.0)


@dataclass(frozen=True)
class Impact:
    sample: int       # where the sound starts, at grid.RATE_HZ
    kind: str
    strength: float   # in (0, 1]
    x_px: float       # where it hit

    @property
    def sounds(self) -> tuple[str, ...]:
        """The recordings it plays (as the event benchmark's impacts say): its kind's."""
        return (self.kind,)


@dataclass
class Scene:
    slots: int
    backdrop: np.ndarray               # (SIDE_PX, SIDE_PX) gray before the drift
    drift: np.ndarray                  # (slots, 2): brightness offset, contrast factor
    objects: list[list[tuple[str, float, float, float]]]  # per slot: (kind, x, y, radius)
    impacts: list[Impact]


def _backdrop(rng: np.random.Generator) -> np.ndarray:
    cells = rng.uniform(70.0, 150.0, size=(TEXTURE_CELLS + 1, TEXTURE_CELLS + 1))
    t = np.linspace(0.0, TEXTURE_CELLS, SIDE_PX)
    i = np.minimum(t.astype(int), TEXTURE_CELLS - 1)
    f = t - i
    rows = cells[i] * (1 - f)[:, None] + cells[i + 1] * f[:, None]           # (SIDE, cells+1)
    return rows[:, i] * (1 - f)[None, :] + rows[:, i + 1] * f[None, :]       # bilinear


def plan(seconds: float, seed: int, density_per_s: float = 1.0, drift: bool = True,
         region_px: tuple[float, float] | None = None) -> Scene:
    """The scene's objects in every slot, its impacts, backdrop and drift (see the module
    notes). With `region_px` (x from, to) objects fall straight down within it, so every
    impact is there: a brain trained on one region can be scored on another."""
    rng = np.random.default_rng([seed, 7919])
    slots = grid.slots_in(seconds)
    dt = 1.0 / (grid.SLOTS_PER_SECOND * SUBSTEPS)
    t_s = np.arange(slots) / grid.SLOTS_PER_SECOND
    periods = rng.uniform(*DRIFT_PERIOD_S, size=2)
    phases = rng.uniform(0, 2 * np.pi, size=2)
    amount = 1.0 if drift else 0.0
    waves = np.sin(2 * np.pi * t_s[:, None] / periods + phases)
    drifts = np.stack([amount * DRIFT_GRAY * waves[:, 0],
                       1.0 + amount * DRIFT_CONTRAST * waves[:, 1]], axis=1)
    flying: list[dict] = []
    objects, impacts = [], []
    for slot in range(slots):
        for _ in range(rng.poisson(density_per_s / grid.SLOTS_PER_SECOND)):
            radius = rng.uniform(*RADIUS_PX)
            flying.append({"kind": str(rng.choice(KINDS)), "r": radius,
                           "x": rng.uniform(*(region_px or (radius, SIDE_PX - radius))),
                           "y": rng.uniform(-radius, SIDE_PX * 0.4),
                           "vx": 0.0 if region_px else rng.uniform(-SIDEWAYS_PX_S, SIDEWAYS_PX_S),
                           "vy": rng.uniform(-100.0, 100.0),
                           "hits": 0})
        objects.append([(o["kind"], o["x"], o["y"], o["r"]) for o in flying])
        for step in range(SUBSTEPS):
            time_s = (slot * SUBSTEPS + step + 1) * dt
            for o in flying:
                o["vy"] += GRAVITY_PX_S2 * dt
                o["x"] += o["vx"] * dt
                o["y"] += o["vy"] * dt
                hit = None
                if o["y"] > SIDE_PX - o["r"] and o["vy"] > 0:
                    o["y"], hit = 2 * (SIDE_PX - o["r"]) - o["y"], o["vy"]
                    o["vy"] *= -RESTITUTION[o["kind"]]
                if (o["x"] < o["r"] and o["vx"] < 0) or (o["x"] > SIDE_PX - o["r"] and o["vx"] > 0):
                    wall = o["r"] if o["vx"] < 0 else SIDE_PX - o["r"]
                    o["x"], hit = 2 * wall - o["x"], abs(o["vx"])
                    o["vx"] *= -RESTITUTION[o["kind"]]
                if hit is not None:
                    strength = min(1.0, hit / FULL_SPEED_PX_S)
                    o["hits"] += 1
                    if strength >= MIN_STRENGTH:
                        impacts.append(Impact(int(round(time_s * grid.RATE_HZ)), o["kind"], strength, o["x"]))
                    else:
                        o["hits"] = BOUNCES
        flying = [o for o in flying if o["hits"] < BOUNCES]
    return Scene(slots, _backdrop(rng), drifts, objects, impacts)


def _pictures(scene: Scene) -> np.ndarray:
    centres = np.arange(SIDE_PX) + 0.5
    out = np.empty((scene.slots, SIDE_PX, SIDE_PX), np.uint8)
    for slot, (things, (offset, contrast)) in enumerate(zip(scene.objects, scene.drift)):
        picture = (scene.backdrop - 110.0) * contrast + 110.0 + offset
        for kind, x, y, r in things:
            distance = np.hypot(centres[:, None] - y, centres[None, :] - x)
            cover = np.clip(r + 0.5 - distance, 0.0, 1.0)
            if kind == "ring":
                cover = np.minimum(cover, np.clip(distance - (r - 2.5) + 0.5, 0.0, 1.0))
            picture += (GRAY[kind] - picture) * cover
        out[slot] = np.clip(np.rint(picture), 0, 255).astype(np.uint8)
    return out


def render(scene: Scene, recordings: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(pictures (slots, SIDE_PX, SIDE_PX) uint8, sound float32 at grid.RATE_HZ)."""
    return _pictures(scene), mix_sound(scene.impacts, scene.slots * grid.SAMPLES_PER_SLOT, recordings)
