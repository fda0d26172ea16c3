"""Motion that means the same on any video: dense optical flow between distinct pictures, and
where it changes (something hits, starts, stops or turns).

Flow is OpenCV's DIS (Kroeger et al., 2016) between the frames as the brain sees them
(64x64 gray), each first standardised (its mean removed, divided by its spread), so a
brightness drift, a contrast or gamma change moves no pixel.

Held pictures. Animation on twos or threes, 24 or 25 fps put on the 30 fps grid and
duplicated frames show the same picture in several slots: the flow from a slot to the next
would alternate between zero and the real motion, and its change would fire on every other
slot. So flow is measured between *distinct* pictures only (a picture whose mean absolute
difference from the last distinct one is at most `HELD_DIFFERENCE` is the same picture
held), divided by the slots between them: a velocity in pixels per slot whatever the
picture rate.

The change of flow at a slot is the velocity after it minus the velocity before it, per
pixel; its strength is the `STRENGTH_PERCENTILE`th percentile of that change's magnitude
over the picture (a small object's impact is a few pixels of a large change), in pixels per
slot. It is known once the picture after next has come.
"""

from __future__ import annotations

import collections
from typing import Iterator, Sequence

import cv2
import numpy as np

HELD_DIFFERENCE = 1.0 / 255  # mean absolute difference (in [0, 1]) below which a picture is held
STRENGTH_PERCENTILE = 99.5
STANDARD_GRAY = 40.0  # the spread, in gray levels around 128, a picture is standardised to


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
        if slot in starts or last is None or np.abs(picture - last).mean() > HELD_DIFFERENCE:
            new[slot] = True
            last = picture
    return new


def _standardised(picture: np.ndarray) -> np.ndarray:
    spread = max(float(picture.std()), 1e-3)
    return np.clip(128 + STANDARD_GRAY * (picture - picture.mean()) / spread, 0, 255).astype(np.uint8)


def _flow_engine() -> cv2.DISOpticalFlow:
    engine = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    engine.setFinestScale(0)  # full resolution: the pictures are small
    return engine


def _bounds(clip_starts: Sequence[int], slots: int) -> list[tuple[int, int]]:
    edges = sorted(set(int(s) for s in clip_starts if 0 < s < slots) | {0}) + [slots]
    return list(zip(edges[:-1], edges[1:]))


def slot_velocities(pictures: np.ndarray, new: np.ndarray, first: int, stop: int) -> Iterator[np.ndarray]:
    """The velocity field (side, side, 2) of every slot of the clip [first, stop), in order:
    pixels per slot from the slot's picture towards the next slot's, the flow between the
    distinct pictures around it divided by the slots between them (one array for all the
    slots of a held picture; 0 after the clip's last distinct picture). One flow at a time:
    constant memory for any length."""
    engine = _flow_engine()
    slots = first + np.flatnonzero(new[first:stop])
    still = np.zeros((*pictures.shape[1:], 2), np.float32)
    previous = _standardised(pictures[slots[0]]) if len(slots) else None
    for i in range(1, len(slots)):
        current = _standardised(pictures[slots[i]])
        step = engine.calc(previous, current, None) / np.float32(slots[i] - slots[i - 1])
        for _ in range(slots[i - 1], slots[i]):
            yield step
        previous = current
    for _ in range(slots[-1] if len(slots) else first, stop):
        yield still


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
    for first, stop in _bounds(clip_starts, len(pictures)):
        recent: collections.deque[np.ndarray] = collections.deque(maxlen=2 * k)
        for slot, velocity in enumerate(slot_velocities(pictures, new, first, stop), start=first):
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
