"""Drawing a planned scene: the room, the objects and the camera, one picture per slot."""

from __future__ import annotations

import math

import numpy as np

from .score import Layout, Scene, Shape, View
from .settings import BLOCK_CORE_GRAY, OBJECT_GRAY, RING_WIDTH_PX, SIDE_PX, STRIPE_SHADE, STRIPE_WIDTH

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
