"""Sound identity (judge/identity.py): the share of rendered events that copy the recording
of the thing that hit, against copies drawn at random."""

from __future__ import annotations

import math

import numpy as np

from bitmap2pcm.judge.identity import sound_identity

BALL, RING = frozenset({"ball"}), frozenset({"ring"})
TRAINING = [(10, BALL), (40, RING), (70, BALL)]   # training rows 10 and 70 play the ball
ONSET_ROWS = np.array([10, 40, 70, 71])           # three ball entries of four


def test_events_copying_the_right_recording_score_one_and_chance_is_the_library_share():
    truth = [(100, BALL), (200, RING)]
    right = sound_identity([(101, 70), (199, 40)], truth, TRAINING, ONSET_ROWS)
    assert right.share == 1.0 and right.events == 2
    assert math.isclose(right.chance, (3 / 4 + 1 / 4) / 2)
    wrong = sound_identity([(101, 40), (199, 10)], truth, TRAINING, ONSET_ROWS)
    assert wrong.share == 0.0 and wrong.events == 2


def test_events_off_every_impact_are_not_counted_and_none_gives_nan():
    truth = [(100, BALL)]
    assert sound_identity([(150, 10), (100, 10)], truth, TRAINING, ONSET_ROWS).events == 1
    none = sound_identity([(150, 10)], truth, TRAINING, ONSET_ROWS)
    assert none.events == 0 and math.isnan(none.share)


def test_an_event_takes_its_nearest_impact():
    truth = [(100, BALL), (102, RING)]
    assert sound_identity([(102, 40)], truth, TRAINING, ONSET_ROWS).share == 1.0
    assert sound_identity([(102, 10)], truth, TRAINING, ONSET_ROWS).share == 0.0
