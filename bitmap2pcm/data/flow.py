"""Motion that means the same on any video: dense optical flow between distinct pictures, and
where it changes (something hits, starts, stops or turns).

Flow is OpenCV's DIS (Kroeger et al., 2016) between the frames as the brain sees them
(64x64 gray), each first standardised (its mean removed, divided by its spread), so a
brightness drift, a contrast or gamma change moves no pixel.

Held pictures. Animation on twos or threes, 24 or 25 fps put on the 30 fps grid and
duplicated frames show the same picture in several slots: the flow from a slot to the next
would alternate between zero and the real motion, and its change would fire on every other
slot. So flow is measured between *distinct* pictures only (a picture is the last distinct
one held when fewer than `HELD_SHARE` of its pixels differ from it by more than
`HELD_LEVEL`, a codec's noise: a small object moving a pixel is a new picture), divided by
the slots between them: a velocity in pixels per slot whatever the picture rate. A picture
held for more than `MAX_HOLD_SLOTS` slots after the one it first shows in is a still scene,
not animation: its slots are still, and the flow to the next picture is the last one's
motion. So every slot's velocity is known at most `MAX_HOLD_SLOTS` + 1 pictures after it
(`SlotVelocities`, for pictures as they arrive).

The change of flow at a slot is the velocity after it minus the velocity before it, per
pixel; its strength is the `STRENGTH_PERCENTILE`th percentile of that change's magnitude
over the picture (a small object's impact is a few pixels of a large change), in pixels per
slot. It is known once the picture after next has come.
"""

from __future__ import annotations

import collections
import functools
import threading
from typing import Iterator, Sequence

import cv2
import numpy as np

from .history import clip_bounds

HELD_LEVEL = 6.0 / 255  # a pixel differing by at most this (in [0, 1]) is unchanged ...
HELD_SHARE = 0.001      # ... and a picture with fewer changed pixels than this share is held
STRENGTH_PERCENTILE = 99.5
STANDARD_GRAY = 40.0  # the spread, in gray levels around 128, a picture is standardised to
# the most slots a picture of animation is held after the slot it first shows in: 1 on twos
# and at 24 or 25 fps on the 30 fps grid, 2 on threes (10 fps, and the longer holds of 12
# fps); a longer hold is a still scene
MAX_HOLD_SLOTS = 2


def gray_pictures(frames: np.ndarray) -> np.ndarray:
    """Frames (n, pixels) in [0, 1] or uint8, gray or three colour planes, as float32 square
    gray pictures (n, side, side) in [0, 1] (a view of float32 gray frames, not a copy)."""
    frames = np.asarray(frames)
    values = frames.shape[1]
    side = int(round(np.sqrt(values)))
    if side * side != values:  # three planes of side x side
        side = int(round(np.sqrt(values / 3)))
        frames = frames.reshape(len(frames), 3, side * side).mean(axis=1, dtype=np.float32)
    if frames.dtype == np.uint8:
        frames = frames / np.float32(255)
    return np.asarray(frames, np.float32).reshape(len(frames), side, side)


def distinct(pictures: np.ndarray, clip_starts: Sequence[int] = (0,)) -> np.ndarray:
    """True for each slot whose picture is new (not the last distinct one held); a clip's
    first slot always is."""
    new = np.zeros(len(pictures), bool)
    starts = set(int(s) for s in clip_starts) | {0}
    last = None
    for slot, picture in enumerate(pictures):
        if slot in starts or last is None or not _held(picture, last):
            new[slot] = True
            last = picture
    return new


def _held(picture: np.ndarray, last: np.ndarray) -> bool:
    return float((np.abs(picture - last) > HELD_LEVEL).mean()) < HELD_SHARE


def standardised(picture: np.ndarray) -> np.ndarray:
    """A gray picture in [0, 1] as DIS reads it: uint8, its mean and spread made the same for
    every picture, so a brightness or contrast change moves no pixel."""
    spread = max(float(picture.std()), 1e-3)
    return np.clip(128 + STANDARD_GRAY * (picture - picture.mean()) / spread, 0, 255).astype(np.uint8)


_engines = threading.local()


def _flow(earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
    """DIS flow (side, side, 2) between two standardised pictures. DIS keeps no state between
    calls, so one engine per thread serves every stream (and a stream can be copied)."""
    engine = getattr(_engines, "dis", None)
    if engine is None:
        engine = _engines.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        engine.setFinestScale(0)  # full resolution: the pictures are small
    return engine.calc(earlier, later, None)


class SlotVelocities:
    """The velocity field (side, side, 2) of each slot of one clip, pixels per slot from its
    picture towards the next slot's, for pictures pushed one at a time (square gray float32 in
    [0, 1]): `push` gives the velocities that became known, `finish` the rest, one per slot
    in order. Slots of a picture held up to MAX_HOLD_SLOTS share the flow to the next distinct
    picture divided by the slots between; a longer hold is still, and the flow to the next
    picture goes to the hold's last slot. What is not seen yet (at `finish`) goes on as the
    last velocity. Memory: two pictures and a velocity."""

    def __init__(self) -> None:
        self._last: np.ndarray | None = None   # the last distinct picture ...
        self._standard: np.ndarray | None = None  # ... standardised for the flow
        self._since = 0     # slots since it (it included) ...
        self._waiting = 0   # ... of which these last ones have no velocity yet
        self._velocity: np.ndarray | None = None  # the last velocity given

    def push(self, picture: np.ndarray) -> list[np.ndarray]:
        if self._last is None:
            self._new(picture)
            self._velocity = np.zeros((*picture.shape, 2), np.float32)
            return []
        if _held(picture, self._last):
            self._since += 1
            self._waiting += 1
            if self._since - 1 <= MAX_HOLD_SLOTS:  # held no longer than animation is: wait
                return []
            still = np.zeros_like(self._velocity)
            given, self._waiting, self._velocity = [still] * (self._waiting - 1), 1, still
            return given
        standard = standardised(picture)
        step = _flow(self._standard, standard)
        if self._since - 1 <= MAX_HOLD_SLOTS:
            step /= np.float32(self._since)
        given = [step] * self._waiting
        self._velocity = step
        self._new(picture, standard)
        return given

    def _new(self, picture: np.ndarray, standard: np.ndarray | None = None) -> None:
        self._last = picture
        self._standard = standardised(picture) if standard is None else standard
        self._since = self._waiting = 1

    def finish(self) -> list[np.ndarray]:
        return [self._velocity] * self._waiting if self._velocity is not None else []


INBETWEENS = ("blend", "motion")  # how `EvenPictures` fills a hold: the first is the default


def moved_between(first: np.ndarray, last: np.ndarray, fractions: np.ndarray) -> list[np.ndarray]:
    """The pictures `fractions` (each in (0, 1)) of the way from `first` to `last` (square
    gray pictures float32 in [0, 1], flat or not; given in their shape) along the optical
    flow, as video frame interpolation makes them: each is `first` moved forward by that
    fraction of the flow from it and `last` moved back by the rest of the flow from it,
    mixed by nearness. A moving thing is then one thing half way, not the two half-bright
    copies a blend shows; what turns between the two pictures (a bounce within a hold) is
    not seen, and moves in a straight line."""
    side = int(round(np.sqrt(first.size)))
    if side * side != first.size:
        raise ValueError(f"pictures of {first.size} values are not square gray pictures")
    a, b = first.reshape(side, side), last.reshape(side, side)
    standard_a, standard_b = standardised(a), standardised(b)
    forward, back = _flow(standard_a, standard_b), _flow(standard_b, standard_a)
    xs, ys = pixel_grid(side)
    made = []
    for fraction in np.asarray(fractions, np.float32):
        # a(x) is at x + F(x) in b: the picture at the fraction shows a(y - fraction F) ...
        from_a = cv2.remap(a, xs - fraction * forward[..., 0], ys - fraction * forward[..., 1],
                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # ... and b(y - (1 - fraction) B(y)), B the flow from b back to a
        from_b = cv2.remap(b, xs - (1 - fraction) * back[..., 0], ys - (1 - fraction) * back[..., 1],
                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        made.append(((1 - fraction) * from_a + fraction * from_b).reshape(first.shape))
    return made


@functools.cache
def pixel_grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's column and row (float32 side x side each), for cv2.remap."""
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float32)
    return xs, ys


class EvenPictures:
    """One clip's pictures with their holds spread, for inputs made of picture differences:
    pictures pushed one at a time (float32 in [0, 1]) come back in order, each picture held
    up to MAX_HOLD_SLOTS slots replaced by a picture between the distinct pictures around
    it, (j / (h + 1)) of the way from the last to the next for the j-th of h held: on twos
    every slot moves half as far as the picture does, rather than not at all and then twice
    as far. `inbetweens` says how: "blend" mixes them, which shows a moving thing as two
    half-bright copies; "motion" moves the pictures along the optical flow
    (`moved_between`; square gray pictures), so each slot's difference looks like a
    difference of video at the full rate (theanet.py --inbetweens motion: better for a brain
    of 30 fps video rendering animation, worse trained on 12 fps animation; docs/training.md).
    A longer hold is a still scene, given as it is. `push` gives the pictures that became
    known (a held one waits for the next distinct picture, at most MAX_HOLD_SLOTS), `finish`
    the rest (a hold at the end stays as it is). Memory: the pictures of one hold."""

    def __init__(self, inbetweens: str = INBETWEENS[0]) -> None:
        if inbetweens not in INBETWEENS:
            raise ValueError(f"inbetweens {inbetweens!r}: not one of {', '.join(INBETWEENS)}")
        self._by_motion = inbetweens == "motion"
        self._last: np.ndarray | None = None  # the last distinct picture
        self._waiting = 0                        # pictures held since, waiting for the next

    def push(self, picture: np.ndarray) -> list[np.ndarray]:
        if self._last is not None and _held(picture, self._last):
            self._waiting += 1
            if self._waiting <= MAX_HOLD_SLOTS:
                return []
            given = [self._last] * (self._waiting - 1 if self._waiting == MAX_HOLD_SLOTS + 1 else 0)
            return given + [self._last]  # a still scene: no waiting
        given = []
        if 0 < self._waiting <= MAX_HOLD_SLOTS:
            steps = np.arange(1, self._waiting + 1, dtype=np.float32) / np.float32(self._waiting + 1)
            given = (moved_between(self._last, picture, steps) if self._by_motion
                     else [self._last + step * (picture - self._last) for step in steps])
        self._last, self._waiting = picture, 0
        return given + [picture]

    def finish(self) -> list[np.ndarray]:
        given = [self._last] * self._waiting if self._waiting <= MAX_HOLD_SLOTS else []
        self._waiting = 0
        return given


def slot_velocities(pictures: np.ndarray, first: int, stop: int) -> Iterator[np.ndarray]:
    """The velocity field of every slot of the clip [first, stop) of `pictures` (n, side,
    side), in order (`SlotVelocities`). One flow at a time: constant memory for any length."""
    velocities = SlotVelocities()
    for picture in pictures[first:stop]:
        yield from velocities.push(picture)
    yield from velocities.finish()


def hold_slots(new: np.ndarray) -> int:
    """How many slots a picture is typically shown while things move: 1 for video, 2 on twos
    (the median gap between distinct pictures: a still scene is one long gap, not many)."""
    gaps = np.diff(np.flatnonzero(new))
    return max(1, int(np.median(gaps))) if len(gaps) else 1


def flow_change_strength(frames: np.ndarray, clip_starts: Sequence[int] = (0,)) -> np.ndarray:
    """Each slot's strength of flow change (see the module notes), float32 (n,), pixels per
    slot: at slot t, the velocity k slots after t against the velocity k slots before it,
    where k is how long a picture is held (`hold_slots`): with pictures on twos, a change
    that falls between two pictures is then measured whole, not as two halves. Memory: the
    pictures and 2k velocity fields."""
    pictures = gray_pictures(frames)
    new = distinct(pictures, clip_starts)
    k = hold_slots(new)
    strength = np.zeros(len(pictures), np.float32)
    for first, stop in clip_bounds(clip_starts, len(pictures)):
        recent: collections.deque[np.ndarray] = collections.deque(maxlen=2 * k)
        for slot, velocity in enumerate(slot_velocities(pictures, first, stop), start=first):
            recent.append(velocity)  # slots slot - 2k + 1 .. slot
            t = slot - k + 1  # recent[0] is slot t - k, recent[-1] slot t + k - 1
            if len(recent) == 2 * k and t < stop - k:
                change = np.linalg.norm(recent[-1] - recent[0], axis=2)
                strength[t] = np.percentile(change, STRENGTH_PERCENTILE)
    return strength


def peaks(strength: np.ndarray, threshold: float, min_gap_slots: int = 2) -> np.ndarray:
    """Slots where `strength` exceeds `threshold` and is the greatest within `min_gap_slots`
    either side (the earlier of equal ones)."""
    above = np.flatnonzero(strength > threshold)
    kept = []
    for slot in above:
        window = strength[max(0, slot - min_gap_slots): slot + min_gap_slots + 1]
        before = strength[max(0, slot - min_gap_slots): slot]
        if strength[slot] >= window.max() and not (before == strength[slot]).any():
            kept.append(slot)
    return np.asarray(kept, np.int64)
