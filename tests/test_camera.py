"""The camera's motion taken out of frame differences (data/camera.py): a shaking camera over
a textured scene moves nothing, what moves in front of it still does, a still camera's and a
plain backdrop's differences are the plain ones, and patch brains steady the camera when
trained with --steady-camera."""

from __future__ import annotations

import numpy as np
import pytest

from bitmap2pcm.core.errors import UserError
from bitmap2pcm.data import camera, layouts, patches
from motion_scenes import SIDE, backdrop, bouncing_ball

SHIFTS = [(0, 0), (1, 0), (1, 1), (0, 2), (-1, 1), (-1, -1), (0, -2), (2, 0)]  # pixels (x, y)


def shaken(frames: np.ndarray) -> np.ndarray:
    """Each frame seen through a camera at the next of SHIFTS (edges repeated)."""
    pictures = frames.reshape(len(frames), SIDE, SIDE)
    padded = np.pad(pictures, ((0, 0), (2, 2), (2, 2)), mode="edge")
    return np.stack([padded[i, 2 + dy:2 + dy + SIDE, 2 + dx:2 + dx + SIDE]
                     for i, (dx, dy) in enumerate(SHIFTS[k % len(SHIFTS)] for k in range(len(frames)))]
                    ).reshape(len(frames), -1).astype(np.float32)


def energy(differences: np.ndarray) -> np.ndarray:
    return np.abs(differences).mean(axis=1)


def test_a_shaking_camera_over_a_still_scene_moves_nothing():
    still = np.repeat(backdrop().reshape(1, -1).astype(np.float32), len(SHIFTS), axis=0)
    plain, steadied = np.diff(shaken(still), axis=0), camera.steadied_differences(shaken(still))
    assert np.all(energy(steadied) < 0.2 * energy(plain))


def test_what_moves_in_front_of_a_shaking_camera_still_moves():
    # the ball's own motion, as much of it as a still camera shows (the shake adds 3 to 200
    # times as much to the plain differences), wherever the ball moves at least a tenth of its
    # most: at the top of its flight it moves so little that a camera found to 0.005 px
    # leaves as much
    frames, _ = bouncing_ball()
    truth = energy(np.diff(frames[:30], axis=0))
    moving = truth > 0.1 * truth.max()
    steadied = energy(camera.steadied_differences(shaken(frames[:30])))[moving] / truth[moving]
    plain = energy(np.diff(shaken(frames[:30]), axis=0))[moving] / truth[moving]
    assert np.all((steadied > 0.8) & (steadied < 1.25)) and np.median(plain) > 3


def test_a_still_camera_and_a_plain_backdrop_give_the_plain_differences():
    frames, _ = bouncing_ball()
    np.testing.assert_array_equal(camera.steadied_differences(frames), np.diff(frames, axis=0))
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    discs = np.stack([0.3 + 0.6 * (np.hypot(ys - 30, xs - 10 - 3 * k) < 5) for k in range(10)])
    plain = discs.reshape(10, -1).astype(np.float32)  # no texture to follow: no camera to find
    np.testing.assert_array_equal(camera.steadied_differences(plain), np.diff(plain, axis=0))


def test_patch_rows_of_a_shaking_camera_are_still_when_the_brain_asks_for_it():
    still = np.repeat(backdrop().reshape(1, -1).astype(np.float32), 16, axis=0)
    rows = {steady: np.asarray(layouts.chosen(patches.NAME, steady_camera=steady).rows(shaken(still), [0]))
            for steady in (False, True)}
    motion = {steady: np.abs(rows[steady][:, :patches.STEPS * patches.MAP] - 0.5).mean() for steady in rows}
    assert motion[True] < 0.2 * motion[False]
    record = layouts.chosen(patches.NAME, steady_camera=True).convention({})
    assert layouts.of_input(record, SIDE * SIDE, "b.pkl").steady_camera is True
    del record["steady_camera"]  # a brain made before the choice
    assert layouts.of_input(record, SIDE * SIDE, "old.pkl").steady_camera is False
    with pytest.raises(UserError, match="--steady-camera"):
        layouts.chosen("movement", steady_camera=True)
