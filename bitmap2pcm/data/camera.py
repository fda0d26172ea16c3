"""The camera's own motion, taken out of frame differences.

A hand-held camera, a pan or a shake moves every edge in the picture, so the differences
between frames show motion everywhere, and a brain hears it as events. The camera's shift
between two pictures is taken here as the median of the optical flow between them (DIS,
flow.py) over the textured pixels of the earlier one (where its gradient is at least
TEXTURE_GRADIENT): those of the scene behind the things that move, when the scene is most of
the texture. Where there is no texture DIS only spreads the flow of what moves, so a
picture with fewer than MIN_TEXTURE_SHARE of textured pixels (a plain backdrop) has no
camera shift to find. The earlier picture moved by the shift is what the later one would
show had only the camera moved; the later picture's difference from it is the motion of
the things in the picture.

A shift under SHIFT_FLOOR_PX is no camera motion (the median flow of a still camera is zero,
so its differences are exactly the plain ones), and a shift that does not make the
difference smaller is not the camera's: the plain difference is kept.

Measured (docs/evaluation.md, "With eight minutes of training video"): a cue brain from 8
minutes of event scenes, on unseen scenes through a shaking camera, onset F1 0.42 -> 0.61;
through a still one 0.88 -> 0.84 in one run (a still camera's median flow passes the floor
on 0 to 4 % of its steps, where large objects cross textured ground); on Planet Blupi
clips no brain trained on, even; render 1.7 times as slow (one DIS flow a frame), so it is
an option (theanet.py --steady-camera). An earlier try with OpenCV's phase correlation
followed the moving objects, not the camera, and lost everywhere.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import flow

SHIFT_FLOOR_PX = 0.25    # a median flow shorter than this (pixels) is a still camera
TEXTURE_GRADIENT = 80.0  # Sobel gradient of a standardised picture (gray levels) that is texture
MIN_TEXTURE_SHARE = 0.1  # events scenes 0.19, Planet Blupi 0.34, one disc on a plain backdrop 0.02


def textured(standard: np.ndarray) -> np.ndarray:
    """The pixels (bool, side x side) of a picture as `flow.standardised` gives it whose
    gradient is at least TEXTURE_GRADIENT."""
    picture = standard.astype(np.float32)
    gradient = np.hypot(cv2.Sobel(picture, cv2.CV_32F, 1, 0), cv2.Sobel(picture, cv2.CV_32F, 0, 1))
    return gradient >= TEXTURE_GRADIENT


def camera_shift(earlier: np.ndarray, later: np.ndarray) -> np.ndarray | None:
    """The camera's shift (x, y) in pixels from `earlier` to `later`, two pictures as
    `flow.standardised` gives them: the median flow over the earlier one's textured pixels,
    or None where it has too few of them to tell."""
    texture = textured(earlier)
    if texture.mean() < MIN_TEXTURE_SHARE:
        return None
    return np.median(flow.dis_flow(earlier, later)[texture], axis=0)


def steadied_differences(frames: np.ndarray) -> np.ndarray:
    """The differences of consecutive frames (n, side*side) float32 in [0, 1], gray: (n - 1,
    side*side), each the later frame less the earlier one moved by the camera's shift
    between them (`camera_shift`) where that shift is at least SHIFT_FLOOR_PX and makes the
    difference smaller, else the plain difference."""
    frames = np.asarray(frames, np.float32)
    differences = np.diff(frames, axis=0)
    side = int(round(np.sqrt(frames.shape[1])))
    pictures = frames.reshape(len(frames), side, side)
    standard = [flow.standardised(picture) for picture in pictures]
    xs, ys = flow.pixel_grid(side)
    for step in range(len(differences)):
        shift = camera_shift(standard[step], standard[step + 1])
        if shift is None or np.hypot(*shift) < SHIFT_FLOOR_PX:
            continue
        dx, dy = shift
        moved = cv2.remap(pictures[step], xs - dx, ys - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        steadied = pictures[step + 1] - moved
        if np.abs(steadied).mean() < np.abs(differences[step]).mean():
            differences[step] = steadied.reshape(-1)
    return differences
