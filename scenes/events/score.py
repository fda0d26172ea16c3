"""A planned scene (`Scene`): what is drawn in every slot and every impact, as plain records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bitmap2pcm.core import grid


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
