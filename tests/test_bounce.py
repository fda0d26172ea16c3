"""The second event generator (scenes/bounce.py): pure, dense when asked, impacts where the
region says, each sounding where and as hard as it hit, a drift with no sound of its own."""

from __future__ import annotations

import numpy as np

from bitmap2pcm.core import grid
from scenes import bounce
from scenes.events.settings import SOUND_LEVEL

RECORDINGS = {kind: np.hanning(64).astype(np.float32) for kind in bounce.KINDS}


def test_the_same_arguments_give_the_same_scene():
    a, b = bounce.plan(4.0, 3, 2.0), bounce.plan(4.0, 3, 2.0)
    assert a.impacts == b.impacts and np.array_equal(a.drift, b.drift)
    assert bounce.plan(4.0, 4, 2.0).impacts != a.impacts


def test_density_makes_impacts_overlap():
    sparse, dense = bounce.plan(20.0, 1, 0.5), bounce.plan(20.0, 1, 3.0)
    assert len(dense.impacts) > 3 * len(sparse.impacts) > 0
    slots = np.sort([impact.sample // grid.SAMPLES_PER_SLOT for impact in dense.impacts])
    assert np.mean(np.diff(slots) < 3) > 0.2  # many impacts closer than the judge's onset gap


def test_a_region_keeps_every_impact_in_it():
    scene = bounce.plan(10.0, 2, 1.0, region_px=(96.0, 120.0))
    assert scene.impacts and all(96.0 - 8.0 <= impact.x_px <= 120.0 + 8.0 for impact in scene.impacts)


def test_each_impact_sounds_at_its_sample_as_hard_as_it_hit():
    scene = bounce.plan(6.0, 5, 0.5, drift=False)
    pictures, sound = bounce.render(scene, RECORDINGS)
    assert pictures.shape == (scene.slots, bounce.SIDE_PX, bounce.SIDE_PX) and pictures.dtype == np.uint8
    starts = np.array([impact.sample for impact in scene.impacts])
    assert np.all(sound[: starts.min()] == 0)
    alone = [impact for impact in scene.impacts if np.sum(np.abs(starts - impact.sample) < 64) == 1]
    assert len(alone) >= 3
    for impact in alone:
        peak = sound[impact.sample: impact.sample + 64].max()
        assert np.isclose(peak, SOUND_LEVEL * impact.strength * RECORDINGS[impact.kind].max(), rtol=1e-3)


def test_the_drift_moves_the_brightness_and_no_object():
    drifting, still = bounce.plan(8.0, 6, 1.0, drift=True), bounce.plan(8.0, 6, 1.0, drift=False)
    assert drifting.impacts == still.impacts
    brightness = bounce.render(drifting, RECORDINGS)[0].mean(axis=(1, 2))
    assert np.ptp(brightness) > 20 > np.ptp(bounce.render(still, RECORDINGS)[0].mean(axis=(1, 2)))
