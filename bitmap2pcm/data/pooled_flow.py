"""Flow inputs: what the motion does around a slot, pooled over the whole picture.

The movement layout (movement.py) shows the network *where* things move on a 16 x 16 grid,
and a fully-connected layer learns each block by itself: trained on one scene, it learns
that scene's places, and on other places or another kind of scene it is silent or at
chance (docs/evaluation.md). This layout shows *what*
the motion does, the same wherever in the picture it happens: each slot's velocity field
(data/flow.py: DIS optical flow between distinct pictures, brightness-standardised, held
pictures spread over their slots) is compared with the velocity two slots before, pixel by
pixel, and pooled over the picture into `FEATURES`, the same measure at every position:

- the change of velocity |v_s - v_(s-2)| (where something hits, starts, stops or turns),
  over two slots so that pictures on twos (velocity changing every other slot) read as at
  30 fps: its 90th and 99.5th percentiles, maximum and mean over the picture, and the
  99.5th percentile of the change relative to the speeds, |v_s - v_(s-2)| / (|v_s| +
  |v_(s-2)| + MOVING_PX_PER_SLOT): about 1 where things bounce, whatever their speed;
- the speed |v_s|: its median, 90th and 99.5th percentiles;
- shares of the picture: moving (|v_s| > MOVING_PX_PER_SLOT), reversing (moving on both
  sides and v_s . v_(s-2) < 0), stopping (moving before, not after) and starting;

speeds in pixels per slot (of a 64 x 64 picture) on the log scale g(x) = clip(log10(1 +
x / SPEED_FLOOR) / SPEED_DECADES, 0, 1), shares as they are: every input in [0, 1], as
an RBM's visible units want them. The row of slot t is the features of the slots t-2 .. t+1
(`NEAR_BEFORE`, `NEAR_AFTER`), then the maximum and the mean of each feature over the
second before them (`PAST_SLOTS`): a memory of how things have been going, which the
7-frame movement window does not have.

No brightness, no place and no picture enters, so a brightness drift makes no input move
and an impact in a corner the brain never saw reads as an impact. At a clip's start the
motion is taken to have been going on as in its first slot, at its end to go on as in its
last (no invented start or stop).

Measured (docs/evaluation.md): it finds impacts in places it never saw and its loudness
follows the truth better than movement's on other kinds of scene, but pooling before
detecting loses which object hit when many move at once: on dense scenes it is at chance.
"""

from __future__ import annotations

import collections
import logging
from typing import Any

import numpy as np

from ..core.errors import UserError
from . import flow
from .history import clip_bounds
from .layout import InputLayout

log = logging.getLogger("bitmap2pcm")

NAME = "flow"
FEATURES = ("change p90", "change p99.5", "change max", "change mean",
            "speed p50", "speed p90", "speed p99.5",
            "relative change p99.5", "moving", "reversing", "stopping", "starting")
NEAR_BEFORE, NEAR_AFTER = 2, 1   # slots around t shown feature by feature
PAST_SLOTS = 30                  # the second before them, as each feature's max and mean
NEAR = NEAR_BEFORE + 1 + NEAR_AFTER
CHANGE_SPAN_SLOTS = flow.MAX_HOLD_SLOTS  # velocities this many slots apart are compared
HISTORY = PAST_SLOTS + NEAR      # slot features a row is made of
MOVING_PX_PER_SLOT = 0.25        # a pixel moving slower is still (DIS's noise on texture)
SPEED_FLOOR = 0.01               # px per slot: g(x) = log10(1 + x / floor) / decades
SPEED_DECADES = 3.5              # so g reaches 1 at about 32 px per slot, half the picture
CHANGE_PERCENTILES = (90.0, flow.STRENGTH_PERCENTILE)
SPEED_PERCENTILES = (50.0, 90.0, flow.STRENGTH_PERCENTILE)


def speed_unit(px_per_slot: np.ndarray) -> np.ndarray:
    """g(x): a speed or change in pixels per slot on a log scale in [0, 1]."""
    return np.clip(np.log10(1.0 + np.asarray(px_per_slot) / SPEED_FLOOR) / SPEED_DECADES, 0.0, 1.0)


def slot_features(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The FEATURES (float32) of a slot whose velocity field is `after`, CHANGE_SPAN_SLOTS
    slots after one with `before` (each (side, side, 2), pixels per slot)."""
    change = np.linalg.norm(after - before, axis=2).ravel()
    speed_before = np.linalg.norm(before, axis=2).ravel()
    speed_after = np.linalg.norm(after, axis=2).ravel()
    relative = change / (speed_before + speed_after + MOVING_PX_PER_SLOT)  # 1: an exact reversal
    moving_before, moving_after = speed_before > MOVING_PX_PER_SLOT, speed_after > MOVING_PX_PER_SLOT
    reversing = moving_after & moving_before & ((after * before).sum(axis=2).ravel() < 0)
    magnitudes = np.concatenate([np.percentile(change, CHANGE_PERCENTILES), [change.max(), change.mean()]])
    shares = [np.percentile(relative, flow.STRENGTH_PERCENTILE), moving_after.mean(), reversing.mean(),
              (moving_before & ~moving_after).mean(), (moving_after & ~moving_before).mean()]
    return np.concatenate([speed_unit(magnitudes), speed_unit(np.percentile(speed_after, SPEED_PERCENTILES)),
                           shares]).astype(np.float32)


def input_size() -> int:
    return len(FEATURES) * (NEAR + 2)


class FlowRows:
    """Flow rows of one clip's frames arriving in batches: `push` (n, pixels) float32 in
    [0, 1] gives the rows that are known (slot t's once slot t+1's velocity is, at most
    `PooledFlow.lookahead_slots` frames later), `finish` the rest. Memory: a second of slot
    features and flow.SlotVelocities' two pictures."""

    def __init__(self) -> None:
        self._velocities = flow.SlotVelocities()
        # the velocities of the last CHANGE_SPAN_SLOTS slots
        self._recent: collections.deque[np.ndarray] = collections.deque(maxlen=CHANGE_SPAN_SLOTS)
        self._features: collections.deque[np.ndarray] = collections.deque(maxlen=HISTORY)
        self._rows_due = 0  # slots that still need a row once the features after them come

    def push(self, frames: np.ndarray) -> np.ndarray:
        rows = []
        for picture in flow.gray_pictures(np.asarray(frames, np.float32)):
            for velocity in self._velocities.push(picture):
                rows += self._add(velocity)
        return self._stacked(rows)

    def finish(self) -> np.ndarray:
        rows = []
        for velocity in self._velocities.finish():
            rows += self._add(velocity)
        for _ in range(min(self._rows_due, NEAR_AFTER)):  # motion goes on as in the last slot
            rows += self._add(self._recent[-1])
        self._rows_due = 0
        return self._stacked(rows)

    def _add(self, velocity: np.ndarray) -> list[np.ndarray]:
        """Take the next slot's velocity; the row (at most one) it completes."""
        first = not self._recent
        if first:  # before the clip, the motion was as in its first slot
            self._recent.extend([velocity] * CHANGE_SPAN_SLOTS)
        features = slot_features(self._recent[0], velocity)
        self._recent.append(velocity)
        if first:
            self._features.extend([features] * (HISTORY - NEAR_AFTER - 1))
        self._features.append(features)
        self._rows_due += 1
        if self._rows_due <= NEAR_AFTER:
            return []
        self._rows_due -= 1
        return [self._row()]

    def _row(self) -> np.ndarray:
        window = np.stack(self._features)  # slots t - NEAR_BEFORE - PAST_SLOTS .. t + NEAR_AFTER
        past = window[:PAST_SLOTS]
        return np.concatenate([window[PAST_SLOTS:].ravel(), past.max(axis=0), past.mean(axis=0)])

    @staticmethod
    def _stacked(rows: list[np.ndarray]) -> np.ndarray:
        return np.asarray(rows, np.float32).reshape(len(rows), input_size())


class PooledFlow(InputLayout):
    """What the motion does around each slot, anywhere in the picture (theanet.py --input flow)."""

    name = NAME
    lookahead_slots = NEAR_AFTER + flow.MAX_HOLD_SLOTS
    training = {"optimizer": "nesterov", "learning_rate": 0.3}  # what it was measured with

    def units(self, pixels: int) -> int:
        del pixels
        return input_size()

    def what(self, pixels: int) -> str:
        del pixels
        return "each slot's optical flow and its change, pooled over the picture"

    def rows(self, frames: np.ndarray, clip_starts: list[int]) -> np.ndarray:
        log.info("building flow inputs: optical flow between distinct pictures, pooled over "
                 "the picture (%d inputs per slot)", input_size())
        out = np.empty((len(frames), input_size()), np.float32)
        for first, stop in clip_bounds(clip_starts, len(frames)):
            stream = FlowRows()
            rows = stream.push(frames[first:stop])
            out[first:stop] = np.concatenate([rows, stream.finish()])
        return out

    def stream(self) -> FlowRows:
        return FlowRows()

    def convention(self, picture: dict[str, Any]) -> dict[str, Any]:
        return dict(picture, layout=NAME, **self._constants())

    @staticmethod
    def _constants() -> dict[str, Any]:
        return {"features": list(FEATURES), "near": [NEAR_BEFORE, NEAR_AFTER], "past_slots": PAST_SLOTS,
                "moving_px_per_slot": MOVING_PX_PER_SLOT, "speed_floor": SPEED_FLOOR,
                "speed_decades": SPEED_DECADES, "change_span_slots": CHANGE_SPAN_SLOTS,
                "max_hold_slots": flow.MAX_HOLD_SLOTS,
                "held_level": flow.HELD_LEVEL, "held_share": flow.HELD_SHARE}

    @classmethod
    def from_convention(cls, record: dict[str, Any], pixels: int, source: str) -> "PooledFlow":
        del pixels
        differing = [key for key, value in cls._constants().items() if record.get(key) != value]
        if differing:
            raise UserError(f"{source}: brain's flow inputs were built with other settings "
                            f"({', '.join(differing)}): retrain it with theanet.py --input flow")
        return cls()


LAYOUT = PooledFlow()
