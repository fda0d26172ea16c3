"""Planning a scene: the agenda of drops, pushes and distractors, each redrawn until it
keeps the benchmark's rules (clear, separate, audible impacts; walls in view)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from bitmap2pcm.core import grid
from .physics import Body, _check_rest, _Rejected, simulate
from .score import Impact, Interval, Layout, Scene, Shape, View
from .settings import (
    ACTS,
    AGENDA_ACTS,
    AGENDA_DISTRACTORS,
    BACKGROUND_GRAY,
    DRIFT_MIN_GRAY,
    DRIFT_S,
    DROP_ABOVE_PX,
    DROP_SPEED_PX_S,
    END_PAUSE_S,
    FULL_ROOM_PUSH,
    GLIDE_S,
    INITIAL_OBJECTS,
    KINDS,
    LIFT_S,
    LONGEST_SOUND_S,
    MAX_FAILURES,
    MAX_OBJECTS,
    MAX_TRIES,
    PAN_MAX_PX,
    PAN_MIN_PX,
    PAN_S,
    PAUSE_S,
    PUSH_AT_OBJECT,
    PUSH_RUN_S,
    PUSH_SPEED_PX_S,
    REST_GAP_PX,
    SHORTEST_EVENT_S,
    SIDE_PX,
    SIZE_PX,
    START_PAUSE_S,
    WEIGHTS,
)


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


def _draw_apart(rng: np.random.Generator, bounds: tuple[float, float], current: float,
                min_distance: float) -> float:
    """A uniform draw within `bounds`, drawn again until it is `min_distance` from `current`."""
    while True:
        value = float(rng.uniform(*bounds))
        if abs(value - current) >= min_distance:
            return value


def _eased(origin: float, target: float, slots: int) -> list[float]:
    """`slots` values moving from `origin` towards `target` with a smooth start and stop."""
    return [origin + (target - origin) * _smoothstep(k / slots) for k in range(slots)]


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
            origin = self.background_gray
            target = _draw_apart(rng, BACKGROUND_GRAY, origin, DRIFT_MIN_GRAY)
            views += [self.view(background_gray=gray) for gray in _eased(origin, target, slots)]
            self.background_gray = target
            detail = (("from_gray", round(origin, 3)), ("to_gray", round(target, 3)))
        elif what == "pan":
            origin = self.camera_px
            target = _draw_apart(rng, _pan_range(layout), origin, PAN_MIN_PX)
            views += [self.view(camera_px=camera) for camera in _eased(origin, target, slots)]
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
