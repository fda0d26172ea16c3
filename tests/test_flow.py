"""Flow change (data/flow.py) and the flow-onset baseline (judge/baselines.py): impacts are
found where they happen, held pictures do not make motion flicker, brightness is no motion."""

from __future__ import annotations

import numpy as np
import pytest

from bitmap2pcm.data import flow
from bitmap2pcm.judge import baselines
from motion_scenes import backdrop, bouncing_ball, held_for, on_twos


def found(strength: np.ndarray) -> np.ndarray:
    return flow.peaks(strength, 0.5 * strength.max())


def test_impacts_are_found_where_they_happen():
    frames, impacts = bouncing_ball()
    assert len(impacts) == 3
    peaks = found(flow.flow_change_strength(frames))
    assert len(peaks) == len(impacts)
    assert np.all(np.abs(peaks - np.asarray(impacts)) <= 2)


def test_an_impact_anywhere_in_the_picture_is_an_impact():
    left, impacts = bouncing_ball(x=12.0)
    right, _ = bouncing_ball(x=50.0)
    assert np.array_equal(found(flow.flow_change_strength(left)), found(flow.flow_change_strength(right)))


# on threes the ball moves up to 14 pixels between pictures, more than DIS follows of a
# 9-pixel disc: its speed is underestimated, but no slot is still
@pytest.mark.parametrize(("hold", "least_speed"), [(2, 0.5), (3, 0.15)])
def test_motion_on_twos_and_threes_does_not_flicker(hold, least_speed):
    # the flow between a picture and itself is zero: measured between distinct pictures and
    # divided by the slots between them, a falling ball moves on every slot, as at 30 fps
    frames, impacts = bouncing_ball()
    fall = slice(4, impacts[0] - 2)
    speed = {}
    for name, shown in (("every", frames), ("held", held_for(frames, hold))):
        pictures = flow.gray_pictures(shown)
        velocity = np.stack(list(flow.slot_velocities(pictures, 0, len(shown))))
        speed[name] = np.percentile(np.linalg.norm(velocity, axis=3), 99.5, axis=(1, 2))[fall]
    assert speed["held"].min() > least_speed * np.median(speed["every"])
    assert np.all(np.abs(np.diff(speed["held"])) < 0.5 * np.median(speed["every"]))


def test_held_pictures_are_not_motion():
    frames, _ = bouncing_ball()
    held = on_twos(frames)
    new = flow.distinct(flow.gray_pictures(held))
    # a held picture is never new; a new one may look held where the ball barely moves (the
    # top of a bounce): its motion is then measured over the longer step
    assert not new[1::2].any() and new[0::2].mean() > 0.6
    assert flow.hold_slots(new) == 2
    # a clip's first picture is always new, even when it repeats the one before
    assert flow.distinct(flow.gray_pictures(held), clip_starts=[0, 5])[5]


def test_a_brightness_ramp_alone_moves_nothing():
    ramp = np.linspace(0.6, 1.6, 90)[:, None] * backdrop().reshape(1, -1)
    strength = flow.flow_change_strength(np.clip(ramp, 0, 1).astype(np.float32))
    frames, _ = bouncing_ball()
    assert strength.max() < 0.1 * flow.flow_change_strength(frames).max()


def test_the_threshold_fitted_on_training_rows_finds_the_impacts_and_the_sound_jumps_there():
    frames, impacts = bouncing_ball()
    strength = flow.flow_change_strength(frames)
    threshold = baselines.fit_flow_threshold([strength], [np.asarray(impacts)])
    assert np.all(np.abs(flow.peaks(strength, threshold) - np.asarray(impacts)) <= 2)
    level = baselines.flow_onset_loudness(strength, threshold, -60.0, -20.0)
    assert level.min() == -60.0 and level.max() == -20.0
    assert set(np.flatnonzero(level == -20.0)) == set(flow.peaks(strength, threshold))
