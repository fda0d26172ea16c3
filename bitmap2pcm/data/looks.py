"""What the thing that moves looks like: each slot's *looks*, by which a cue brain chooses the
recording an event copies (sound/library.py), so that the thing that hit sounds like itself.

The looks of slot t: the place where the picture changes most from frame t - STEP_FRAMES to
frame t + STEP_FRAMES (the absolute difference summed over a square of 2 SEARCH_RADIUS_PX + 1
pixels: a thing that hits, starts or stops moves there), the square patch of 2
PATCH_RADIUS_PX + 1 pixels of frame t + STEP_FRAMES around it, less its mean, under a Hann
window, and the magnitude of its 2-D Fourier transform, scaled to length one. The magnitude
does not change when the thing sits elsewhere in the patch, the mean's removal and the scale
take out the backdrop's brightness and the picture's contrast; what is left is the thing's
size, outline and texture. The looks of a clip's first and last slots use the clip's end
pictures in place of those outside it.

Measured on true impact slots (pictures drawn by the scene generators, halved to 64 x 64;
docs/evaluation.md, "Timbre chosen by what is seen"): on the event family's ten unseen
scenes the training impact with the nearest looks plays the recording of the object that
hit for 0.93 of 188 impacts (chance 0.44). On `scenes.bounce`'s rain, where many things
fall at once and a bouncing thing is where it was two frames before, the place found is
within 4 pixels of the thing that hit for 0.13 of the impacts, and the looks choose at
chance (0.36, chance 0.35); at the true place they would choose right for 0.72. So a cue
brain chooses by looks only a shortlist, and by the predicted bands within it, the
shortlist's share calibrated on the brain's own training sound (sound/library.py).
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from . import flow
from .layout import RowStream

STEP_FRAMES = 2       # the change from two frames before a slot to two after
SEARCH_RADIUS_PX = 3  # where it changes most: sums over 7 x 7 pixels
PATCH_RADIUS_PX = 7   # the patch: 15 x 15 pixels of a 64 x 64 picture
PATCH_SIDE = 2 * PATCH_RADIUS_PX + 1
WIDTH = PATCH_SIDE * (PATCH_SIDE // 2 + 1)  # the magnitudes of a real 2-D Fourier transform
PICTURES_AT_ONCE = 1024  # `pictures_of` converts this many at a time


def convention() -> dict[str, Any]:
    """How looks are made, as a brain records it: a brain whose looks were made otherwise
    cannot compare them with these."""
    return {"step_frames": STEP_FRAMES, "search_radius_px": SEARCH_RADIUS_PX,
            "patch_radius_px": PATCH_RADIUS_PX, "spectrum": "hann, magnitude, unit length"}


@functools.cache
def _window() -> np.ndarray:
    hann = np.hanning(PATCH_SIDE).astype(np.float32)
    return hann[:, None] * hann[None, :]


def _box_sums(pictures: np.ndarray, radius: int) -> np.ndarray:
    """Each pixel's sum over the (2 radius + 1)^2 square around it, pictures' edges repeated."""
    side = 2 * radius + 1
    padded = np.pad(pictures, ((0, 0), (radius, radius), (radius, radius)), mode="edge")
    summed = np.pad(padded.cumsum(axis=1).cumsum(axis=2), ((0, 0), (1, 0), (1, 0)))
    return (summed[:, side:, side:] - summed[:, :-side, side:] - summed[:, side:, :-side]
            + summed[:, :-side, :-side])


def looks(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The looks (n, WIDTH) float32 of n slots from their pictures `before` and `after` (n,
    side, side) gray float32: unit rows (a patch with no contrast gives zeros)."""
    before, after = np.asarray(before, np.float32), np.asarray(after, np.float32)
    count, side = len(after), after.shape[1]
    if count == 0:
        return np.zeros((0, WIDTH), np.float32)
    change = _box_sums(np.abs(after - before), SEARCH_RADIUS_PX).reshape(count, -1)
    y, x = np.divmod(np.argmax(change, axis=1), side)
    r = PATCH_RADIUS_PX
    padded = np.pad(after, ((0, 0), (r, r), (r, r)), mode="edge")
    offsets = np.arange(PATCH_SIDE)
    patch = padded[np.arange(count)[:, None, None], (y[:, None] + offsets)[:, :, None],
                   (x[:, None] + offsets)[:, None, :]]
    patch = patch - patch.mean(axis=(1, 2), keepdims=True)
    spectrum = np.abs(np.fft.rfft2(patch * _window())).reshape(count, WIDTH)
    length = np.linalg.norm(spectrum, axis=1, keepdims=True)
    return (spectrum / np.maximum(length, 1e-12)).astype(np.float32)


def pictures_of(frames: np.ndarray) -> np.ndarray:
    """Frames (n, pixels: gray or three planes, in [0, 1]) as the 8-bit gray pictures (n,
    side * side) that `looks_at` needs: a quarter of float32 gray frames, a twelfth of
    colour ones, and for pickler's frames (8-bit values / 255) the very values a video's
    frames have, so training's looks are render's. A block of rows at a time: no float copy
    of all frames is made."""
    pictures = flow.gray_pictures(frames)
    out = np.empty((len(pictures), pictures[0].size if len(pictures) else 0), np.uint8)
    for first in range(0, len(pictures), PICTURES_AT_ONCE):
        block = pictures[first:first + PICTURES_AT_ONCE]
        out[first:first + len(block)] = np.rint(block * np.float32(255)).reshape(len(block), -1)
    return out


def looks_at(frames: np.ndarray, rows: np.ndarray, clip_starts: Sequence[int]) -> np.ndarray:
    """The looks of the slots `rows` of `frames` (n, pixels: gray or three planes, uint8 or
    in [0, 1]) cut into clips at `clip_starts`, as `LooksStream` gives them for each clip.
    PICTURES_AT_ONCE slots at a time: only their pictures are converted."""
    rows = np.asarray(rows, np.int64)
    starts = np.asarray(sorted(set(int(s) for s in clip_starts) | {0}), np.int64)
    clip = np.searchsorted(starts, rows, side="right") - 1
    first = starts[clip]
    stop = np.append(starts[1:], len(frames))[clip]
    before_rows = np.maximum(rows - STEP_FRAMES, first)
    after_rows = np.minimum(rows + STEP_FRAMES, stop - 1)
    out = np.empty((len(rows), WIDTH), np.float32)
    for at in range(0, len(rows), PICTURES_AT_ONCE):
        block = slice(at, at + PICTURES_AT_ONCE)
        out[block] = looks(flow.gray_pictures(frames[before_rows[block]]),
                           flow.gray_pictures(frames[after_rows[block]]))
    return out


class LooksStream:
    """The looks of one clip's slots for its frames arriving in batches: `push` (n, pixels)
    gives the looks of every slot whose frame `ahead` frames later has come (standing the
    newest frame in for frame t + STEP_FRAMES when `ahead` is less), `finish` the rest.
    With `ahead` = STEP_FRAMES the looks are `looks_at`'s. Memory: 2 STEP_FRAMES + 1 pictures."""

    def __init__(self, ahead: int = STEP_FRAMES) -> None:
        self.ahead = min(ahead, STEP_FRAMES)
        self._pictures: list[np.ndarray] = []  # the pictures of slots self._oldest on
        self._oldest = 0
        self._pushed = 0
        self._given = 0

    def push(self, frames: np.ndarray) -> np.ndarray:
        self._pictures.extend(np.array(picture) for picture in flow.gray_pictures(frames))
        self._pushed += len(frames)
        return self._give(max(0, self._pushed - self.ahead - self._given))

    def finish(self) -> np.ndarray:
        return self._give(self._pushed - self._given)

    def _give(self, count: int) -> np.ndarray:
        if count == 0:
            return np.zeros((0, WIDTH), np.float32)
        slots = np.arange(self._given, self._given + count)
        newest = self._pushed - 1
        before = [self._pictures[max(t - STEP_FRAMES, 0) - self._oldest] for t in slots]
        after = [self._pictures[min(t + STEP_FRAMES, newest) - self._oldest] for t in slots]
        given = looks(np.stack(before), np.stack(after))
        self._given += count
        keep_from = max(self._given - STEP_FRAMES, 0)
        del self._pictures[:keep_from - self._oldest]
        self._oldest = keep_from
        return given


class WithLooks:
    """A stream of input rows (a layout's `stream()`, live's `LookaheadRows`: `push(frames)`
    and `finish()` give one row per frame, in order) with the looks of the same slots beside
    them: `push` and `finish` give (rows, looks), as many of each, holding back whichever
    stream runs ahead. Without looks (`ahead` None) the looks are None."""

    def __init__(self, rows: RowStream, ahead: int | None) -> None:
        self._rows = rows
        self._looks = None if ahead is None else LooksStream(ahead)
        self._held_rows: list[np.ndarray] = []
        self._held_looks: list[np.ndarray] = []

    def push(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        rows = self._rows.push(frames)
        if self._looks is None:
            return rows, None
        return self._paired(rows, self._looks.push(frames))

    def finish(self) -> tuple[np.ndarray, np.ndarray | None]:
        rows = self._rows.finish()
        if self._looks is None:
            return rows, None
        return self._paired(rows, self._looks.finish())

    def _paired(self, rows: np.ndarray, looks_now: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._held_rows.append(rows)
        self._held_looks.append(looks_now)
        rows, looks_now = np.concatenate(self._held_rows), np.concatenate(self._held_looks)
        both = min(len(rows), len(looks_now))
        self._held_rows, self._held_looks = [rows[both:]], [looks_now[both:]]
        return rows[:both], looks_now[:both]
