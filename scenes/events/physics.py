"""The scenes' physics: gravity, friction, restitution and one-dimensional collisions, with
contacts found exactly between steps, so an impact's time is exact."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from bitmap2pcm.core import grid
from .score import Impact, Layout, Shape
from .settings import (
    ACT_MAX_S,
    DENSITY,
    FRICTION_PX_S2,
    FULL_SPEED_PX_S,
    GRAVITY_PX_S2,
    MIN_IMPACT_GAP_S,
    MIN_STRENGTH,
    REST_GAP_PX,
    RESTITUTION,
    RING_WIDTH_PX,
    SUBSTEPS_PER_SLOT,
)


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
