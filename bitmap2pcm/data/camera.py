"""The camera's own motion, taken out of frame differences.

A hand-held camera, a pan or a shake moves every edge in the picture, so the differences
between frames show motion everywhere, and a brain hears it as events. The camera's shift
between two pictures is taken here as the median motion of the earlier picture's corners
(up to CORNERS of them, the strongest), each followed into the later one by pyramidal
Lucas-Kanade (OpenCV): when the scene behind the things that move holds most of the
corners, the median is its motion. A picture with fewer than MIN_TEXTURE_SHARE of textured
pixels (gradient at least TEXTURE_GRADIENT: a plain backdrop, whose corners are those of
what moves) or fewer than MIN_TRACKED corners followed has no camera shift to find. The
earlier picture moved by the shift is what the later one would show had only the camera
moved; the later picture's difference from it is the motion of the things in the picture.

A shift under SHIFT_FLOOR_PX is no camera motion (the median of a still camera is zero, so
its differences are exactly the plain ones), and a shift that does not make the difference
smaller is not the camera's: the plain difference is kept.

Following corners costs 0.2 ms a frame step where the median of dense DIS flow over the
textured pixels (flow.py), which it replaced, cost 1.3 ms; on shaken event scenes with a
known shake both miss by 0.06 px or less in nine steps of ten, and on the example videos
they agree within 0.27 px on nine steps of ten but in one Planet Blupi clip (0.78). Render with
steadying takes 1.13 times as long as without.

Measured (docs/evaluation.md, "With eight minutes of training video"): a cue brain from 8
minutes of event scenes, on unseen scenes, two training seeds, onset F1 through a shaking
camera 0.43 -> 0.71, through a still one 0.885 -> 0.855, on threes 0.575 -> 0.45. On still
scenes only the generator's own camera pans are steadied, and a steadied brain scores the
same with its rows left plain: the loss is in what the brain learns, not in the steadying
at render. So it is an option (theanet.py --steady-camera). An earlier try with OpenCV's
phase correlation followed the moving objects, not the camera, and lost everywhere.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import flow

SHIFT_FLOOR_PX = 0.25    # a median motion shorter than this (pixels) is a still camera
TEXTURE_GRADIENT = 80.0  # Sobel gradient of a standardised picture (gray levels) that is texture
MIN_TEXTURE_SHARE = 0.1  # events scenes 0.19, Planet Blupi 0.34, one disc on a plain backdrop 0.02
CORNERS = 60             # corners followed at most: enough for the scene to outvote what moves
MIN_TRACKED = 8          # fewer corners followed than this: no shift to tell
CORNER_QUALITY = 0.01    # a corner at least this share of the strongest (cv2.goodFeaturesToTrack)
CORNER_SPACING_PX = 3
TRACK_WINDOW_PX = 9      # Lucas-Kanade's window, on pyramid levels of 64, 32 and 16 pixels
TRACK_LEVELS = 2
TRACK_STOP = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.01)


def textured(standard: np.ndarray) -> np.ndarray:
    """The pixels (bool, side x side) of a picture as `flow.standardised` gives it whose
    gradient is at least TEXTURE_GRADIENT."""
    picture = standard.astype(np.float32)
    gradient = np.hypot(cv2.Sobel(picture, cv2.CV_32F, 1, 0), cv2.Sobel(picture, cv2.CV_32F, 0, 1))
    return gradient >= TEXTURE_GRADIENT


def camera_shift(earlier: np.ndarray, later: np.ndarray) -> np.ndarray | None:
    """The camera's shift (x, y) in pixels from `earlier` to `later`, two pictures as
    `flow.standardised` gives them: the median motion of the earlier one's corners, or None
    where it has too little texture or too few corners followed to tell."""
    if textured(earlier).mean() < MIN_TEXTURE_SHARE:
        return None
    corners = cv2.goodFeaturesToTrack(earlier, CORNERS, CORNER_QUALITY, CORNER_SPACING_PX)
    if corners is None or len(corners) < MIN_TRACKED:
        return None
    followed, found, _ = cv2.calcOpticalFlowPyrLK(earlier, later, corners, None,
                                                  winSize=(TRACK_WINDOW_PX, TRACK_WINDOW_PX),
                                                  maxLevel=TRACK_LEVELS, criteria=TRACK_STOP)
    found = found.ravel() == 1
    if found.sum() < MIN_TRACKED:
        return None
    return np.median((followed - corners)[found, 0], axis=0)


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
