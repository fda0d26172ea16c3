"""An event benchmark: scenes where what happens on screen causes the sound, with the truth.

Does a model's sound follow the action, or merely the picture's motion or brightness? The
scenes here answer that: objects of a few kinds (a ball, a block, a ring, each drawn its own
way) fall into a room, bounce, slide, hit the floor, the walls and each other, and come to
rest. Every impact plays its kind's *recorded* sound (excerpts committed in
`examples/sounds/`), starting at the exact sample of the impact, at a gain proportional to
the impact's speed (harder hits are louder). Distractors move the picture without any sound:
a slow drift of the background's brightness, a camera pan (the whole scene shifts), an
object that glides through the air touching nothing, and an object lifted silently out of
the room. Between events the picture is still and the sound is exactly zero.

Everything is a pure function of a seed: `plan_scene` runs the physics and writes the score
(`Scene`: what is drawn in every slot, and every impact); `draw_frames` and `mix_sound` turn
it into pictures and sound; `truth` is the JSON record a benchmark scores against. Seeds are
numpy `SeedSequence` entropies `(seed, stream)`, so the training scene and each test scene
come from independent streams: different layouts (room size, floor, walls, colours),
different objects, different events.

Physics, in picture pixels (y grows downwards) and seconds: gravity while in the air, a
constant friction deceleration on the floor, restitution per kind, one-dimensional
collisions (with restitution, masses from the drawn area) between objects on the floor.
Between the simulation's steps (SUBSTEPS_PER_SLOT a slot) contacts are found exactly (the
roots of the motion's quadratic), so an impact's time is exact, not rounded to a step. A
drawn layout that would make an impact too soft to hear, two impacts too close to tell apart
(MIN_IMPACT_GAP_S), an object hitting another in the air, or a wall's top corner, is
redrawn: every impact of the truth is a clear, separate event.

The timeline comes from `grid`: pictures are the state at each slot's start, sound is
`grid.RATE_HZ` mono float32, an impact at sample n lies in slot n // grid.SAMPLES_PER_SLOT.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import soundfile

from ..core import grid
from ..core.errors import UserError
from ..core.files import atomic_path
from ..media.video import require_tool, run_ffmpeg_writing

# ---- settings --------------------------------------------------------------------------------

FORMAT = "bitmap2pcm-events"
FORMAT_VERSION = 1
SIDE_PX = 128  # pictures are SIDE_PX square; pickler shrinks them to grid.FRAME_SIDE
KINDS = ("ball", "block", "ring")
SOUND_FILES = {kind: f"{kind}.flac" for kind in KINDS}  # in the recordings folder
LONGEST_SOUND_S = 0.3  # no recording is longer: the planner leaves this much for a sound's tail
SOUND_LEVEL = 0.5  # a strength-1 impact plays its recording (peak 0.9) at this gain

SUBSTEPS_PER_SLOT = 20  # physics steps per slot; contacts between steps are found exactly
GRAVITY_PX_S2 = 700.0
FULL_SPEED_PX_S = 500.0  # an impact at this speed or faster has strength 1
MIN_STRENGTH = 0.12  # softer contacts would be barely audible: a layout making one is redrawn
MIN_IMPACT_GAP_S = 0.15  # any two impacts at least this far apart (4.5 slots), so each is an onset
RESTITUTION = {"ball": 0.7, "block": 0.25, "ring": 0.5}
FRICTION_PX_S2 = {"ball": 100.0, "block": 300.0, "ring": 150.0}  # deceleration on the floor
DENSITY = {"ball": 1.0, "block": 1.0, "ring": 3.0}  # mass = density * drawn area
SIZE_PX = {"ball": (5.0, 8.0), "block": (5.0, 7.0), "ring": (6.5, 9.0)}  # radius or half side
RING_WIDTH_PX = 2.5
STRIPE_WIDTH, STRIPE_SHADE = 1 / 3, 0.7  # the floor's stripes: a third of each period, darker
OBJECT_GRAY = {"ball": 235.0, "block": 200.0, "ring": 245.0}
BLOCK_CORE_GRAY = 120.0  # the block's inner square, half its side
REST_GAP_PX = 2.0  # objects at rest keep this far from each other and from the walls
INITIAL_OBJECTS = 1  # at rest in the room when a scene starts
MAX_OBJECTS = 3  # in the room at once; a drop into a full room first lifts one out ...
FULL_ROOM_PUSH = 0.7  # ... or, this often (not in the agenda), becomes a push
ACT_MAX_S = 5.0  # a drop or push that has not come to rest by then is redrawn
MAX_TRIES = 100  # draws of an act's parameters before the planner does something else

DROP_ABOVE_PX = (0.0, 50.0)  # objects enter from above the picture, this far above its top
DROP_SPEED_PX_S = 40.0  # horizontal speed of a drop, at most
PUSH_SPEED_PX_S = (150.0, 420.0)
PUSH_AT_OBJECT = 0.7  # this often a push aims at another object (when there is one to aim at)
PUSH_RUN_S = 0.1  # a pushed object moves at least this long before its first impact
LIFT_S = (0.8, 1.2)
GLIDE_S = (1.2, 2.0)
PAN_S = (1.0, 1.5)
PAN_MAX_PX = 14.0  # the camera moves at most this far from the start, and both walls stay in view
PAN_MIN_PX = 6.0  # a pan moves at least this far
DRIFT_S = (1.5, 2.5)
BACKGROUND_GRAY = (20.0, 90.0)
DRIFT_MIN_GRAY = 20.0  # a drift changes the background by at least this much
PAUSE_S = (0.3, 0.6)  # still and silent time between two things happening
START_PAUSE_S = 0.5
END_PAUSE_S = 0.5  # at least this much still silence closes every scene

# what each scene does first, acts and distractors in turn (each list shuffled), so that even a
# short scene has every kind of event, and every kind of object falls
AGENDA_ACTS = ("drop", "drop", "drop", "push")
AGENDA_DISTRACTORS = ("drift", "pan", "glide", "lift")
# then each next thing is drawn with these weights
WEIGHTS = {"drop": 0.35, "push": 0.35, "drift": 0.08, "pan": 0.08, "glide": 0.08, "lift": 0.06}
ACTS = ("drop", "push")  # what makes sounds
DISTRACTORS = ("drift", "pan", "glide", "lift")  # what moves the picture and makes none
SHORTEST_EVENT_S = 1.0  # the planner stops when less time than this (and END_PAUSE_S) is left ...
MAX_FAILURES = 20  # ... or when this many things in a row could not be done

assert set(WEIGHTS) == set(ACTS) | set(DISTRACTORS)
# a collision of two objects plays two recordings (peak 0.9 each): at full strength they still
# fit the grid's [-1, 1] without clipping
assert 2 * SOUND_LEVEL * 0.9 <= 1.0


# ---- the score ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    """A scene's room, in picture pixels of the world (the camera at 0 shows x in [0, SIDE_PX)).

    The floor is everything below `floor_px` (with darker stripes every `stripe_period_px`),
    the walls are posts from `wall_top_px` down to the floor just outside the room's inside,
    [`wall_left_px`, `wall_right_px`]."""

    floor_px: float
    wall_left_px: float
    wall_right_px: float
    wall_top_px: float
    wall_width_px: float
    floor_gray: float
    wall_gray: float
    stripe_period_px: float
    background_gray: float  # at the start; drifts change it

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Shape:
    """One object as drawn: its kind, centre (world pixels) and size (radius or half side)."""

    kind: str
    x_px: float
    y_px: float
    size_px: float


@dataclass(frozen=True)
class View:
    """What one slot's picture shows: the camera's offset, the background's gray, the objects."""

    camera_px: float
    background_gray: float
    shapes: tuple[Shape, ...]


@dataclass(frozen=True)
class Impact:
    """One impact: when (`sample` at grid.RATE_HZ), which object (`kind`) hit what (`surface`:
    "floor", "wall" or the other object's kind), which recordings play (`sounds`) and how
    hard (`strength` in (0, 1]: the impact speed over FULL_SPEED_PX_S, clipped, rounded to 4
    digits; each recording plays at gain SOUND_LEVEL * strength)."""

    sample: int
    kind: str
    surface: str
    sounds: tuple[str, ...]
    strength: float
    speed_px_s: float

    @property
    def slot(self) -> int:
        return self.sample // grid.SAMPLES_PER_SLOT

    @property
    def time_s(self) -> float:
        return self.sample / grid.RATE_HZ

    def as_dict(self) -> dict[str, Any]:
        return {"slot": self.slot, "sample": self.sample, "time_s": round(self.time_s, 6),
                "kind": self.kind, "surface": self.surface, "sounds": list(self.sounds),
                "strength": self.strength, "speed_px_s": round(self.speed_px_s, 3)}


@dataclass(frozen=True)
class Interval:
    """Slots [first_slot, end_slot) during which something happens (`kind`: an act, "drop" or
    "push", a distractor, or "still"), with what it concerns (`detail`)."""

    kind: str
    first_slot: int
    end_slot: int
    detail: tuple[tuple[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start_s": round(grid.slot_seconds(self.first_slot), 6),
                "end_s": round(grid.slot_seconds(self.end_slot), 6), "first_slot": self.first_slot,
                "end_slot": self.end_slot, **dict(self.detail)}


@dataclass(frozen=True)
class Scene:
    """A planned scene: its seed, room, one `View` per slot, its impacts and its intervals."""

    seed: int
    stream: int
    duration_s: float
    layout: Layout
    views: tuple[View, ...]
    impacts: tuple[Impact, ...]
    acts: tuple[Interval, ...]
    distractors: tuple[Interval, ...]
    still: tuple[Interval, ...]

    @property
    def slots(self) -> int:
        return len(self.views)

    @property
    def samples(self) -> int:
        return self.slots * grid.SAMPLES_PER_SLOT


# ---- physics ---------------------------------------------------------------------------------

class _Rejected(Exception):
    """A drawn act breaks a rule of the benchmark (see the module notes): draw it again."""


@dataclass
class Body:
    """An object's state in the simulation (world pixels, pixels per second)."""

    kind: str
    size_px: float
    x_px: float
    y_px: float
    vx_px_s: float = 0.0
    vy_px_s: float = 0.0
    grounded: bool = True

    @property
    def mass(self) -> float:
        r = self.size_px
        if self.kind == "block":
            area = 4.0 * r * r
        elif self.kind == "ring":
            area = math.pi * (r * r - (r - RING_WIDTH_PX) ** 2)
        else:
            area = math.pi * r * r
        return DENSITY[self.kind] * area

    @property
    def friction_px_s2(self) -> float:
        """Horizontal acceleration now: friction against the motion on the floor, else 0."""
        if not self.grounded or self.vx_px_s == 0.0:
            return 0.0
        return -math.copysign(FRICTION_PX_S2[self.kind], self.vx_px_s)

    def shape(self) -> Shape:
        return Shape(self.kind, self.x_px, self.y_px, self.size_px)

    def at_rest(self) -> bool:
        return self.grounded and self.vx_px_s == 0.0


def _strength(speed_px_s: float) -> float:
    """An impact's strength: its speed over FULL_SPEED_PX_S, at most 1, rounded to 4 digits
    (the rounded value is the one the sound uses, so the record describes it exactly)."""
    return round(min(speed_px_s / FULL_SPEED_PX_S, 1.0), 4)


def _contact_time(gap: float, rate: float, accel: float, limit: float) -> float | None:
    """Earliest time in (0, limit] at which gap + rate*t + accel*t^2/2 closes to 0 while
    closing, or 0 when it is already closed and closing; None when it does not close."""
    if gap <= 0.0 and rate < 0.0:
        return 0.0
    if accel == 0.0:
        if rate >= 0.0:
            return None
        t = -gap / rate
        return t if 0.0 < t <= limit else None
    disc = rate * rate - 2.0 * accel * gap
    if disc < 0.0:
        return None
    root = math.sqrt(disc)
    for t in sorted(((-rate - root) / accel, (-rate + root) / accel)):
        if 1e-12 < t <= limit and rate + accel * t < 0.0:
            return t
    return None


def _contact_distance(a: Body, b: Body) -> float:
    """How far apart the centres of two objects on the floor are when they touch: the sum of
    half widths, except for two round ones, which touch above the floor's line when their
    sizes differ (2 sqrt(r1 r2) apart horizontally)."""
    if a.kind != "block" and b.kind != "block":
        return 2.0 * math.sqrt(a.size_px * b.size_px)
    return a.size_px + b.size_px


def _advance(body: Body, dt_s: float) -> None:
    """Move a body on for dt_s under its current acceleration (no contact within dt_s)."""
    if body.grounded:
        ax = body.friction_px_s2
        if ax != 0.0:
            stop_s = abs(body.vx_px_s / ax)
            if dt_s >= stop_s:
                body.x_px += body.vx_px_s * stop_s / 2.0
                body.vx_px_s = 0.0
                return
        body.x_px += body.vx_px_s * dt_s + ax * dt_s * dt_s / 2.0
        body.vx_px_s += ax * dt_s
    else:
        body.x_px += body.vx_px_s * dt_s
        body.y_px += body.vy_px_s * dt_s + GRAVITY_PX_S2 * dt_s * dt_s / 2.0
        body.vy_px_s += GRAVITY_PX_S2 * dt_s


def _boxes_touch(a: Body, b: Body, margin_px: float = 0.5) -> bool:
    reach = a.size_px + b.size_px + margin_px
    return abs(a.x_px - b.x_px) < reach and abs(a.y_px - b.y_px) < reach


def _next_event(bodies: list[Body], layout: Layout, limit_s: float) -> tuple[float, str, int, int] | None:
    """The earliest thing within limit_s that changes how the bodies move: (time, what, i, j)
    with what one of "floor", "left", "right", "pair" (i left of j) or "stop"."""
    best: tuple[float, str, int, int] | None = None

    def consider(t: float | None, what: str, i: int, j: int = -1) -> None:
        nonlocal best
        if t is not None and (best is None or t < best[0]):
            best = (t, what, i, j)

    for i, b in enumerate(bodies):
        ax = b.friction_px_s2
        horizon = limit_s
        if ax != 0.0:
            stop_s = abs(b.vx_px_s / ax)
            horizon = min(limit_s, stop_s)
            if stop_s <= limit_s:
                consider(stop_s, "stop", i)
        if not b.grounded:
            consider(_contact_time(layout.floor_px - b.y_px - b.size_px, -b.vy_px_s, -GRAVITY_PX_S2,
                                   limit_s), "floor", i)
        consider(_contact_time(b.x_px - b.size_px - layout.wall_left_px, b.vx_px_s, ax, horizon), "left", i)
        consider(_contact_time(layout.wall_right_px - b.x_px - b.size_px, -b.vx_px_s, -ax, horizon),
                 "right", i)
    grounded = sorted((b.x_px, i) for i, b in enumerate(bodies) if b.grounded)
    for (_, i), (_, j) in zip(grounded, grounded[1:]):
        a, b = bodies[i], bodies[j]
        horizons = [limit_s] + [abs(c.vx_px_s / c.friction_px_s2) for c in (a, b) if c.friction_px_s2]
        consider(_contact_time(b.x_px - a.x_px - _contact_distance(a, b), b.vx_px_s - a.vx_px_s,
                               b.friction_px_s2 - a.friction_px_s2, min(horizons)), "pair", i, j)
    return best


Hit = tuple[str, str, tuple[str, ...], float]  # an impact's kind, surface, sounds and speed


def _collide(bodies: list[Body], layout: Layout, what: str, i: int, j: int) -> Hit | None:
    """Resolve a contact found by `_next_event`: new velocities; the impact it makes as
    (kind, surface, sounds, speed), or None for a stop."""
    b = bodies[i]
    if what == "stop":
        b.vx_px_s = 0.0
        return None
    if what == "floor":
        speed = b.vy_px_s
        b.y_px = layout.floor_px - b.size_px
        rebound = RESTITUTION[b.kind] * speed  # it lands again at this speed, after 2 rebound / g
        if 2.0 * rebound / GRAVITY_PX_S2 < MIN_IMPACT_GAP_S or _strength(rebound) < MIN_STRENGTH:
            b.vy_px_s, b.grounded = 0.0, True  # the next bounce would be too soon or too soft to
        else:                                  # hear: it stays down (inelastic at low speed)
            b.vy_px_s = -rebound
        return b.kind, "floor", (b.kind,), speed
    if what in ("left", "right"):
        if b.y_px - b.size_px < layout.wall_top_px:
            raise _Rejected("an object meets a wall's top")
        speed = abs(b.vx_px_s)
        b.x_px = (layout.wall_left_px + b.size_px if what == "left" else layout.wall_right_px - b.size_px)
        b.vx_px_s = -RESTITUTION[b.kind] * b.vx_px_s
        return b.kind, "wall", (b.kind,), speed
    a, c = bodies[i], bodies[j]  # a is on the left
    speed = a.vx_px_s - c.vx_px_s  # closing speed
    striker, struck = (a, c) if abs(a.vx_px_s) >= abs(c.vx_px_s) else (c, a)  # the faster one hits
    e = math.sqrt(RESTITUTION[a.kind] * RESTITUTION[c.kind])
    momentum = a.mass * a.vx_px_s + c.mass * c.vx_px_s
    total = a.mass + c.mass
    a.vx_px_s, c.vx_px_s = (momentum - c.mass * e * speed) / total, (momentum + a.mass * e * speed) / total
    c.x_px = a.x_px + _contact_distance(a, c)
    return striker.kind, struck.kind, (striker.kind, struck.kind), speed


def _check_rest(bodies: Sequence[Body], layout: Layout) -> None:
    """Objects at rest keep REST_GAP_PX from each other and the walls (so no push starts in
    contact), or the act is redrawn."""
    placed = sorted(bodies, key=lambda b: b.x_px)
    for b in placed:
        if (b.x_px - b.size_px - layout.wall_left_px < REST_GAP_PX
                or layout.wall_right_px - b.x_px - b.size_px < REST_GAP_PX):
            raise _Rejected("an object rests against a wall")
    for a, b in zip(placed, placed[1:]):
        if b.x_px - a.x_px - _contact_distance(a, b) < REST_GAP_PX:
            raise _Rejected("two objects rest against each other")


def simulate(bodies: Sequence[Body], layout: Layout,
             first_slot: int) -> tuple[list[tuple[Shape, ...]], list[Impact], list[Body]]:
    """Run an act from the start of `first_slot` until every body is at rest.

    Returns the shapes at each slot's start from `first_slot` until the first slot at whose
    start all is still (that slot excluded), the impacts (samples on the scene's timeline)
    and the bodies at rest. Raises _Rejected when the act breaks a rule (module notes).
    """
    bodies = [Body(**vars(b)) for b in bodies]
    step_s = 1.0 / (grid.SLOTS_PER_SECOND * SUBSTEPS_PER_SLOT)
    frames: list[tuple[Shape, ...]] = []
    impacts: list[Impact] = []
    max_steps = int(ACT_MAX_S * grid.SLOTS_PER_SECOND) * SUBSTEPS_PER_SLOT
    for step in range(max_steps + 1):
        if step % SUBSTEPS_PER_SLOT == 0:
            if all(b.at_rest() for b in bodies):
                _check_rest(bodies, layout)
                return frames, impacts, bodies
            frames.append(tuple(b.shape() for b in bodies))
        elapsed_s, contacts = 0.0, 0
        while elapsed_s < step_s:
            event = _next_event(bodies, layout, step_s - elapsed_s)
            if event is None:
                for b in bodies:
                    _advance(b, step_s - elapsed_s)
                break
            t, what, i, j = event
            for b in bodies:
                _advance(b, t)
            elapsed_s += t
            hit = _collide(bodies, layout, what, i, j)
            contacts += 1
            if contacts > 8:
                raise _Rejected("contacts pile up")
            if hit is not None:
                kind, surface, sounds, speed = hit
                strength = _strength(speed)
                if strength < MIN_STRENGTH:
                    raise _Rejected("an inaudible contact")
                time_s = (first_slot * SUBSTEPS_PER_SLOT + step) * step_s + elapsed_s
                sample = int(round(time_s * grid.RATE_HZ))
                if impacts and sample - impacts[-1].sample < MIN_IMPACT_GAP_S * grid.RATE_HZ:
                    raise _Rejected("two impacts too close together")
                impacts.append(Impact(sample, kind, surface, sounds, strength, speed))
        for b in bodies:
            if not b.grounded and any(_boxes_touch(b, other) for other in bodies if other is not b):
                raise _Rejected("objects touch in the air")
        placed = sorted((b for b in bodies if b.grounded), key=lambda b: b.x_px)
        if any(b.x_px - a.x_px - _contact_distance(a, b) < -1e-6 for a, b in zip(placed, placed[1:])):
            raise _Rejected("an object lands on or in another")
    raise _Rejected("no rest within ACT_MAX_S")


# ---- planning a scene --------------------------------------------------------------------------

def draw_layout(rng: np.random.Generator) -> Layout:
    """A random room: floor height, wall positions and height, grays."""
    floor = float(rng.uniform(100.0, 112.0))
    return Layout(
        floor_px=floor,
        wall_left_px=float(rng.uniform(16.0, 22.0)),
        wall_right_px=float(SIDE_PX - rng.uniform(16.0, 22.0)),
        wall_top_px=float(floor - rng.uniform(44.0, 60.0)),
        wall_width_px=float(rng.uniform(4.0, 6.0)),
        floor_gray=float(rng.uniform(120.0, 165.0)),
        wall_gray=float(rng.uniform(95.0, 135.0)),
        stripe_period_px=float(rng.uniform(10.0, 16.0)),
        background_gray=float(rng.uniform(*BACKGROUND_GRAY)),
    )


def _pan_range(layout: Layout) -> tuple[float, float]:
    """Where the camera may be: within PAN_MAX_PX of the start, with both walls in the picture
    (a wall out of view would make its impacts look like hitting nothing)."""
    return (max(-PAN_MAX_PX, layout.wall_right_px + layout.wall_width_px - SIDE_PX),
            min(PAN_MAX_PX, layout.wall_left_px - layout.wall_width_px))


def _smoothstep(u: float) -> float:
    """0 at u <= 0, 1 at u >= 1, smooth in between (zero speed at both ends)."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


def _slots(rng: np.random.Generator, range_s: tuple[float, float]) -> int:
    """A random whole number of slots, at least one, within range_s seconds."""
    return max(1, int(round(rng.uniform(*range_s) * grid.SLOTS_PER_SECOND)))


def _new_body(rng: np.random.Generator, kind: str) -> Body:
    size = float(rng.uniform(*SIZE_PX[kind]))
    return Body(kind, size, 0.0, 0.0)


def _initial_bodies(rng: np.random.Generator, layout: Layout) -> list[Body]:
    """INITIAL_OBJECTS objects already at rest on the floor, clear of the walls and each other."""
    for _ in range(MAX_TRIES):
        bodies = []
        for kind in rng.choice(KINDS, size=INITIAL_OBJECTS, replace=False):
            body = _new_body(rng, str(kind))
            body.x_px = float(rng.uniform(layout.wall_left_px + body.size_px + REST_GAP_PX,
                                          layout.wall_right_px - body.size_px - REST_GAP_PX))
            body.y_px = layout.floor_px - body.size_px
            bodies.append(body)
        try:
            _check_rest(bodies, layout)
            return bodies
        except _Rejected:
            continue
    return []


def _free_spot(rng: np.random.Generator, layout: Layout, bodies: Sequence[Body],
               size_px: float) -> float | None:
    """Where to drop an object of `size_px`: a random place in the widest stretch of floor
    between the walls and the objects at rest, keeping clear of both; None when none fits."""
    edges = [(layout.wall_left_px, layout.wall_left_px)]
    edges += sorted((b.x_px - b.size_px, b.x_px + b.size_px) for b in bodies)
    edges.append((layout.wall_right_px, layout.wall_right_px))
    clearance = size_px + 2.0 * REST_GAP_PX
    low, high = max(((a[1] + clearance, b[0] - clearance) for a, b in zip(edges, edges[1:])),
                    key=lambda span: span[1] - span[0])
    if high < low:
        return None
    return float(rng.uniform(low, high))


# what `_Planner.drop` and `push` plan: the shapes of each slot, the impacts, the bodies at
# rest afterwards and the act's interval
_Act = tuple[list[tuple[Shape, ...]], list[Impact], list[Body], Interval]


@dataclass
class _Planner:
    """The state a scene's plan carries from one event to the next."""

    rng: np.random.Generator
    layout: Layout
    total_slots: int
    bodies: list[Body]
    camera_px: float = 0.0
    background_gray: float = 0.0
    views: list[View] = field(default_factory=list)
    impacts: list[Impact] = field(default_factory=list)
    acts: list[Interval] = field(default_factory=list)
    distractors: list[Interval] = field(default_factory=list)
    still: list[Interval] = field(default_factory=list)
    kind_cycle: list[str] = field(default_factory=list)

    def view(self, shapes: Sequence[Shape] | None = None, camera_px: float | None = None,
             background_gray: float | None = None) -> View:
        return View(self.camera_px if camera_px is None else camera_px,
                    self.background_gray if background_gray is None else background_gray,
                    tuple(b.shape() for b in self.bodies) if shapes is None else tuple(shapes))

    def hold(self, until_slot: int) -> None:
        """Keep the picture still until `until_slot` and record it as still."""
        first = len(self.views)
        if until_slot > first:
            self.views.extend([self.view()] * (until_slot - first))
            self.still.append(Interval("still", first, until_slot))

    def next_kind(self) -> str:
        """The kind of the next dropped object: each kind in turn, in a shuffled order."""
        if not self.kind_cycle:
            self.kind_cycle = [str(k) for k in self.rng.permutation(KINDS)]
        return self.kind_cycle.pop(0)

    def drop(self, start: int) -> _Act | None:
        """A new object (the next kind) falls in from above the picture at slot `start`, onto
        the widest free stretch of floor, with a small sideways speed. None when no draw of
        MAX_TRIES keeps the rules. Changes nothing but the random stream and the kind cycle."""
        kind = self.next_kind()
        for _ in range(MAX_TRIES):
            body = _new_body(self.rng, kind)
            spot = _free_spot(self.rng, self.layout, self.bodies, body.size_px)
            if spot is None:
                return None
            body.x_px = spot
            body.y_px = -body.size_px - float(self.rng.uniform(*DROP_ABOVE_PX))
            body.vx_px_s = float(self.rng.uniform(-DROP_SPEED_PX_S, DROP_SPEED_PX_S))
            body.grounded = False
            try:
                frames, impacts, bodies = simulate(self.bodies + [body], self.layout, start)
            except _Rejected:
                continue
            return frames, impacts, bodies, Interval("drop", start, start + len(frames), (("object", kind),))
        self.kind_cycle.insert(0, kind)
        return None

    def push(self, start: int) -> _Act | None:
        """An object at rest is pushed at slot `start` (silently: the sound is its impacts),
        usually towards another object, and moves at least PUSH_RUN_S before it hits. None
        when no draw of MAX_TRIES keeps the rules."""
        if not self.bodies:
            return None
        for _ in range(MAX_TRIES):
            index = int(self.rng.integers(len(self.bodies)))
            pushed = self.bodies[index]
            towards = [side for side in (-1, 1)
                       if any((b.x_px - pushed.x_px) * side > 0 for b in self.bodies if b is not pushed)]
            if towards and self.rng.random() < PUSH_AT_OBJECT:
                direction = towards[int(self.rng.integers(len(towards)))]
            else:
                direction = 1 if self.rng.random() < 0.5 else -1
            bodies = [Body(**vars(b)) for b in self.bodies]
            bodies[index].vx_px_s = direction * float(self.rng.uniform(*PUSH_SPEED_PX_S))
            try:
                frames, impacts, bodies = simulate(bodies, self.layout, start)
            except _Rejected:
                continue
            if not impacts or impacts[0].sample - start * grid.SAMPLES_PER_SLOT < PUSH_RUN_S * grid.RATE_HZ:
                continue
            return frames, impacts, bodies, Interval("push", start, start + len(frames),
                                                     (("object", pushed.kind),))
        return None

    def act(self, what: str, start: int) -> bool:
        """Plan a drop or a push from slot `start`; False when none fits."""
        made = self.drop(start) if what == "drop" else self.push(start)
        if made is None:
            return False
        frames, impacts, bodies, interval = made
        quiet_sample = max(interval.end_slot * grid.SAMPLES_PER_SLOT,
                           impacts[-1].sample + int(LONGEST_SOUND_S * grid.RATE_HZ))
        quiet_slot = -(-quiet_sample // grid.SAMPLES_PER_SLOT)
        if quiet_slot > self.total_slots - grid.slots_in(END_PAUSE_S):
            return False
        self.views.extend(self.view(shapes) for shapes in frames)
        self.bodies = bodies
        self.impacts.extend(impacts)
        self.acts.append(interval)
        self.views.extend([self.view()] * (quiet_slot - interval.end_slot))  # the sounds ring on
        return True

    def distract(self, what: str, start: int) -> bool:
        """Plan a drift, pan, glide or lift from slot `start`; False when none fits."""
        rng, layout = self.rng, self.layout
        if what == "lift" and not self.bodies:
            return False
        slots = _slots(rng, {"drift": DRIFT_S, "pan": PAN_S, "glide": GLIDE_S, "lift": LIFT_S}[what])
        if start + slots > self.total_slots - grid.slots_in(END_PAUSE_S):
            return False
        views: list[View] = []
        detail: tuple[tuple[str, Any], ...]
        if what == "drift":
            low, high = BACKGROUND_GRAY
            while True:
                target = float(rng.uniform(low, high))
                if abs(target - self.background_gray) >= DRIFT_MIN_GRAY:
                    break
            origin = self.background_gray
            for k in range(slots):
                views.append(self.view(background_gray=origin + (target - origin) * _smoothstep(k / slots)))
            self.background_gray = target
            detail = (("from_gray", round(origin, 3)), ("to_gray", round(target, 3)))
        elif what == "pan":
            while True:
                target = float(rng.uniform(*_pan_range(layout)))
                if abs(target - self.camera_px) >= PAN_MIN_PX:
                    break
            origin = self.camera_px
            for k in range(slots):
                views.append(self.view(camera_px=origin + (target - origin) * _smoothstep(k / slots)))
            self.camera_px = target
            detail = (("from_px", round(origin, 3)), ("to_px", round(target, 3)))
        elif what == "glide":
            kind = str(rng.choice(KINDS))
            size = float(rng.uniform(*SIZE_PX[kind]))
            band = (size + 3.0, layout.wall_top_px - size - 6.0)  # clear of the picture's top and the walls
            y_from, y_to = float(rng.uniform(*band)), float(rng.uniform(*band))
            x_from = self.camera_px - size - 2.0
            x_to = self.camera_px + SIDE_PX + size + 2.0
            if rng.random() < 0.5:
                x_from, x_to = x_to, x_from
            resting = tuple(b.shape() for b in self.bodies)
            for k in range(slots):
                u = k / (slots - 1) if slots > 1 else 1.0
                views.append(self.view(resting + (Shape(kind, x_from + (x_to - x_from) * u,
                                                        y_from + (y_to - y_from) * u, size),)))
            detail = (("object", kind),)
        else:  # lift: the oldest object rises straight up out of the picture
            body, others = self.bodies[0], self.bodies[1:]
            rest_y, top_y = body.y_px, -body.size_px - 2.0
            for k in range(slots):
                y = rest_y + (top_y - rest_y) * _smoothstep(k / (slots - 1) if slots > 1 else 1.0)
                views.append(self.view(tuple(b.shape() for b in others)
                                       + (Shape(body.kind, body.x_px, y, body.size_px),)))
            self.bodies = others
            detail = (("object", body.kind),)
        self.views.extend(views)
        self.distractors.append(Interval(what, start, start + slots, detail))
        return True


def plan_scene(duration_s: float, seed: int, stream: int = 0) -> Scene:
    """Plan a scene of `duration_s` from the seed entropy (seed, stream): its room, what is
    drawn in every slot, every impact, and the intervals of acts, distractors and stillness.

    Pure: the same arguments give the same `Scene`, whatever ran before.
    """
    rng = np.random.default_rng([seed, stream])
    layout = draw_layout(rng)
    total = grid.slots_in(duration_s)
    planner = _Planner(rng, layout, total, _initial_bodies(rng, layout),
                       background_gray=layout.background_gray)
    planner.hold(grid.slots_in(START_PAUSE_S))
    acts, distractors = rng.permutation(AGENDA_ACTS), rng.permutation(AGENDA_DISTRACTORS)
    pairs = zip(acts, distractors) if rng.random() < 0.5 else zip(distractors, acts)
    agenda = [str(what) for pair in pairs for what in pair]
    kinds, weights = list(WEIGHTS), np.array(list(WEIGHTS.values()))
    failures, retried = 0, set()
    last_start = total - grid.slots_in(END_PAUSE_S + SHORTEST_EVENT_S)
    while len(planner.views) <= last_start and failures < MAX_FAILURES:
        planned = bool(agenda)
        what = agenda.pop(0) if planned else str(rng.choice(kinds, p=weights / weights.sum()))
        if planned and what not in retried:  # an agenda item that cannot be done now is
            retried.add(what)                # tried once more after the rest of the agenda
            retry = what
        else:
            retry = None
        if what == "drop" and len(planner.bodies) >= MAX_OBJECTS:
            if not planned and rng.random() < FULL_ROOM_PUSH:
                what = "push"
            else:
                what = "lift"  # make room first; the drop comes next
                agenda.insert(0, "drop")
        if what in ("push", "lift") and not planner.bodies:
            what = "drop"
        start = len(planner.views)
        done = planner.act(what, start) if what in ACTS else planner.distract(what, start)
        if not done:
            failures += 1
            if retry is not None:
                agenda.append(retry)
            continue
        failures = 0
        pause = _slots(rng, PAUSE_S)
        planner.hold(min(len(planner.views) + pause, total))
    planner.hold(total)
    views = tuple(planner.views[:total])
    return Scene(seed, stream, float(duration_s), layout, views, tuple(planner.impacts),
                 tuple(planner.acts), tuple(planner.distractors), tuple(planner.still))


# ---- pictures ------------------------------------------------------------------------------------

_CENTRES = np.arange(SIDE_PX, dtype=np.float64) + 0.5  # pixel centres along either axis


def _span_cover(centres: np.ndarray, low: float, high: float) -> np.ndarray:
    """How much of each pixel [c - 1/2, c + 1/2] the span [low, high) covers, in [0, 1]."""
    return np.clip(np.minimum(high, centres + 0.5) - np.maximum(low, centres - 0.5), 0.0, 1.0)


def _stripe_cover(world_x: np.ndarray, period_px: float, width_px: float) -> np.ndarray:
    """Coverage of each pixel by stripes [k*period, k*period + width): exact box filtering."""
    def integral(x: np.ndarray) -> np.ndarray:
        return np.floor(x / period_px) * width_px + np.minimum(np.mod(x, period_px), width_px)
    return integral(world_x + 0.5) - integral(world_x - 0.5)


def _paint(picture: np.ndarray, cover: np.ndarray, gray: float,
           rows: slice = slice(None), cols: slice = slice(None)) -> None:
    """Lay `gray` over picture[rows, cols] in proportion to `cover` (coverage in [0, 1])."""
    region = picture[rows, cols]
    region += (gray - region) * cover


def _shape_cover(shape: Shape, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Coverage of pixels with centres xs (columns) x ys (rows), view pixels, by a shape whose
    centre is already in view pixels: antialiased by the signed distance to its outline."""
    dx, dy = xs[None, :] - shape.x_px, ys[:, None] - shape.y_px
    r = shape.size_px
    if shape.kind == "block":
        return _span_cover(ys, shape.y_px - r, shape.y_px + r)[:, None] * \
            _span_cover(xs, shape.x_px - r, shape.x_px + r)[None, :]
    distance = np.hypot(dx, dy)
    if shape.kind == "ring":
        signed = np.abs(distance - (r - RING_WIDTH_PX / 2.0)) - RING_WIDTH_PX / 2.0
    else:
        signed = distance - r
    return np.clip(0.5 - signed, 0.0, 1.0)


def draw_view(layout: Layout, view: View) -> np.ndarray:
    """One picture: SIDE_PX square, float64 gray levels in [0, 255]."""
    picture = np.full((SIDE_PX, SIDE_PX), view.background_gray, dtype=np.float64)
    world_x = _CENTRES + view.camera_px
    floor_rows = _span_cover(_CENTRES, layout.floor_px, math.inf)
    _paint(picture, np.repeat(floor_rows[:, None], SIDE_PX, axis=1), layout.floor_gray)
    stripes = _stripe_cover(world_x, layout.stripe_period_px, layout.stripe_period_px * STRIPE_WIDTH)
    _paint(picture, floor_rows[:, None] * stripes[None, :], layout.floor_gray * STRIPE_SHADE)
    wall_rows = _span_cover(_CENTRES, layout.wall_top_px, layout.floor_px)
    for low in (layout.wall_left_px - layout.wall_width_px, layout.wall_right_px):
        cols = _span_cover(world_x, low, low + layout.wall_width_px)
        _paint(picture, wall_rows[:, None] * cols[None, :], layout.wall_gray)
    for shape in view.shapes:
        on_screen = Shape(shape.kind, shape.x_px - view.camera_px, shape.y_px, shape.size_px)
        reach = shape.size_px + 1.0
        c0, c1 = max(0, int(on_screen.x_px - reach)), min(SIDE_PX, int(on_screen.x_px + reach) + 1)
        r0, r1 = max(0, int(on_screen.y_px - reach)), min(SIDE_PX, int(on_screen.y_px + reach) + 1)
        if c0 >= c1 or r0 >= r1:
            continue  # out of the picture
        rows, cols = slice(r0, r1), slice(c0, c1)
        cover = _shape_cover(on_screen, _CENTRES[cols], _CENTRES[rows])
        _paint(picture, cover, OBJECT_GRAY[shape.kind], rows, cols)
        if shape.kind == "block":
            core = Shape("block", on_screen.x_px, on_screen.y_px, shape.size_px / 2.0)
            _paint(picture, _shape_cover(core, _CENTRES[cols], _CENTRES[rows]), BLOCK_CORE_GRAY, rows, cols)
    return picture


def draw_frames(scene: Scene) -> np.ndarray:
    """The scene's pictures: (slots, SIDE_PX, SIDE_PX) uint8, one per slot at its start."""
    frames = np.empty((scene.slots, SIDE_PX, SIDE_PX), dtype=np.uint8)
    previous: View | None = None
    for slot, view in enumerate(scene.views):
        if view == previous:
            frames[slot] = frames[slot - 1]  # still: the same picture, bit for bit
        else:
            frames[slot] = np.clip(np.rint(draw_view(scene.layout, view)), 0, 255).astype(np.uint8)
        previous = view
    return frames


# ---- sound ---------------------------------------------------------------------------------------

def load_recordings(folder: str | Path) -> dict[str, np.ndarray]:
    """Each kind's recorded impact sound from `folder` (SOUND_FILES): mono float32 at
    grid.RATE_HZ, at most LONGEST_SOUND_S long. A file breaking that is refused."""
    recordings = {}
    for kind, name in SOUND_FILES.items():
        path = Path(folder) / name
        try:
            samples, rate_hz = soundfile.read(path, dtype="float32", always_2d=True)
        except (OSError, RuntimeError) as error:  # libsndfile's errors are RuntimeErrors
            raise UserError(f"{path}: cannot read the {kind}'s recorded sound ({error})") from None
        if rate_hz != grid.RATE_HZ or samples.shape[1] != 1:
            raise UserError(f"{path}: {samples.shape[1]} channel(s) at {rate_hz} Hz, "
                            f"not mono at {grid.RATE_HZ} Hz")
        if samples.shape[0] > LONGEST_SOUND_S * grid.RATE_HZ:
            raise UserError(f"{path}: longer than {LONGEST_SOUND_S} s")
        recordings[kind] = np.ascontiguousarray(samples[:, 0])
    return recordings


def mix_sound(impacts: Sequence[Impact], samples: int, recordings: Mapping[str, np.ndarray]) -> np.ndarray:
    """The sound track: each impact's recordings from its sample on, at gain
    SOUND_LEVEL * strength, summed; exactly zero where no recording plays. float32, clipped
    to [-1, 1], `samples` long."""
    track = np.zeros(samples, dtype=np.float64)
    for impact in impacts:
        for kind in impact.sounds:
            sound = recordings[kind][: max(0, samples - impact.sample)]
            track[impact.sample: impact.sample + sound.size] += sound * (SOUND_LEVEL * impact.strength)
    return np.clip(track, -1.0, 1.0).astype(np.float32)


def render_scene(scene: Scene, recordings: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(pictures, sound) of a planned scene: `draw_frames` and `mix_sound`."""
    return draw_frames(scene), mix_sound(scene.impacts, scene.samples, recordings)


# ---- the record and the files ----------------------------------------------------------------------

def truth(scene: Scene) -> dict[str, Any]:
    """What the scene holds, JSON-ready: its seed, length, room, impacts (slot, sample, time,
    kind, what it hit, strength), acts, distractors and still intervals."""
    return {
        "seed": scene.seed,
        "stream": scene.stream,
        "duration_s": scene.duration_s,
        "slots": scene.slots,
        "samples": scene.samples,
        "side_px": SIDE_PX,
        "layout": scene.layout.as_dict(),
        "impacts": [impact.as_dict() for impact in scene.impacts],
        "acts": [interval.as_dict() for interval in scene.acts],
        "distractors": [interval.as_dict() for interval in scene.distractors],
        "still": [interval.as_dict() for interval in scene.still],
    }


def write_mkv(destination: str | Path, frames: np.ndarray, sound: np.ndarray) -> Path:
    """Write pictures (slots, side, side) uint8 at grid.SLOTS_PER_SECOND and sound (float32 at
    grid.RATE_HZ) as H.264 + FLAC in Matroska, atomically, with the encoder settings of the
    synthetic example (`synth.write_video`)."""
    destination = Path(destination)
    slots, height, width = frames.shape
    with tempfile.TemporaryDirectory() as scratch:
        wav = Path(scratch) / "sound.wav"
        soundfile.write(wav, sound, grid.RATE_HZ, subtype="PCM_16")
        with atomic_path(destination, suffix=".mkv") as temporary:
            command = [
                require_tool("ffmpeg"), "-nostdin", "-loglevel", "error", "-y",
                "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}",
                "-r", str(grid.SLOTS_PER_SECOND), "-i", "pipe:0", "-i", str(wav),
                "-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p",
                "-threads", "1", "-c:a", "flac", "-shortest", "-fflags", "+bitexact",
                "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-f", "matroska", str(temporary),
            ]
            run_ffmpeg_writing(command, destination, stdin=np.ascontiguousarray(frames).tobytes())
    return destination


# the benchmark's files: name -> (seconds, stream); every file's seed entropy is (seed, stream)
BENCHMARK = {"train.mkv": (60.0, 0), "test-1.mkv": (20.0, 1), "test-2.mkv": (20.0, 2)}
TRUTH_NAME = "events.json"


def benchmark_scenes(seed: int = 0) -> Iterator[tuple[str, Scene]]:
    """(file name, planned scene) of every file of the benchmark for `seed`."""
    for name, (seconds, stream) in BENCHMARK.items():
        yield name, plan_scene(seconds, seed, stream)


def benchmark_truth(scenes: Sequence[tuple[str, Scene]]) -> dict[str, Any]:
    """The events.json record of a benchmark's scenes."""
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "generator": "bitmap2pcm.events",
        "slots_per_second": grid.SLOTS_PER_SECOND,
        "rate_hz": grid.RATE_HZ,
        "samples_per_slot": grid.SAMPLES_PER_SLOT,
        "sounds": dict(SOUND_FILES),
        "sound_level": SOUND_LEVEL,
        "full_speed_px_s": FULL_SPEED_PX_S,
        "files": {name: truth(scene) for name, scene in scenes},
    }


def write_benchmark(folder: str | Path, recordings_folder: str | Path, seed: int = 0) -> dict[str, Any]:
    """Write the benchmark into `folder`: every file of BENCHMARK (pictures and sound of its
    scene) and TRUTH_NAME, the record of them all. Returns the record."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    recordings = load_recordings(recordings_folder)
    scenes = list(benchmark_scenes(seed))
    for name, scene in scenes:
        write_mkv(folder / name, *render_scene(scene, recordings))
    record = benchmark_truth(scenes)
    with atomic_path(folder / TRUTH_NAME, suffix=".json") as temporary:
        temporary.write_text(json.dumps(record, indent=1) + "\n")
    return record
