"""Augmentation (data/augment.py, theanet.py --augment): changed copies of the training
pictures that keep the sound, drawn reproducibly, trained on beside the originals and never
validated on."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bitmap2pcm.core.errors import UserError
from bitmap2pcm.data import augment
from bitmap2pcm.learn.settings import settings_for

from conftest import run_script

SIDE = 64


def whole_copy(frames: np.ndarray, clip_starts: list[int], name: str,
               rng: np.random.Generator) -> np.ndarray:
    """The whole changed copy at once (training reads it in blocks)."""
    return np.asarray(augment.ChangedFrames(frames, clip_starts, name, rng))


def dot_frames(slots: int = 10, at: tuple[int, int] = (20, 10)) -> np.ndarray:
    frames = np.full((slots, SIDE, SIDE), 0.25, np.float32)
    for t in range(slots):
        # a dot (the top of a short bar, so that each picture is one of its own to
        # flow.distinct) moving right a pixel a slot
        frames[t, at[0]:at[0] + 5, at[1] + t % 40] = 1.0
    return frames.reshape(slots, -1)


def dot_place(frame: np.ndarray) -> tuple[int, int]:
    return tuple(int(v) for v in np.unravel_index(np.argmax(frame.reshape(SIDE, SIDE)), (SIDE, SIDE)))


@pytest.mark.parametrize("name", list(augment.AUGMENTATIONS))
def test_a_copy_keeps_the_shape_the_range_and_the_draw(name):
    frames = dot_frames()
    copy = whole_copy(frames, [0], name, np.random.default_rng(1))
    assert copy.shape == frames.shape and copy.dtype == np.float32
    assert 0.0 <= copy.min() and copy.max() <= 1.0
    assert np.array_equal(copy, whole_copy(frames, [0], name, np.random.default_rng(1)))
    assert not np.array_equal(copy, frames)


@pytest.mark.parametrize("name", list(augment.AUGMENTATIONS))
def test_a_copy_made_a_block_at_a_time_is_the_whole_copy(name):
    """Training reads a changed copy in blocks (augment.ChangedFrames), never whole."""
    frames = dot_frames(40)
    changed = augment.ChangedFrames(frames, [0, 13], name, np.random.default_rng(4))
    blocks = np.concatenate([changed[0:1], changed[1:13], changed[13:30], changed[30:]])
    np.testing.assert_array_equal(blocks, whole_copy(frames, [0, 13], name, np.random.default_rng(4)))
    assert changed.shape == frames.shape and len(changed) == 40


def test_mirror_moves_the_dot_to_the_other_side_and_reverses_its_motion():
    copy = whole_copy(dot_frames(), [0], "mirror", np.random.default_rng(0))
    assert [dot_place(f) for f in copy[:2]] == [(20, SIDE - 1 - 10), (20, SIDE - 1 - 11)]


def test_shift_moves_every_picture_alike_within_a_quarter():
    frames = dot_frames(at=(32, 24))  # far enough from the edges for any shift
    copy = whole_copy(frames, [0], "shift", np.random.default_rng(3))
    moves = {tuple(np.subtract(dot_place(c), dot_place(f))) for c, f in zip(copy, frames)}
    assert len(moves) == 1 and max(map(abs, moves.pop())) <= SIDE // 4


def test_twos_holds_every_other_picture_of_each_clip():
    frames = dot_frames(12)
    copy = whole_copy(frames, [0, 5], "twos", np.random.default_rng(0))
    assert np.array_equal(copy[[0, 2, 4, 5, 7, 9, 11]], frames[[0, 2, 4, 5, 7, 9, 11]])
    assert np.array_equal(copy[[1, 3, 6, 8, 10]], frames[[0, 2, 5, 7, 9]])


def test_light_changes_brightness_not_where_things_are():
    frames = dot_frames(300)
    copy = whole_copy(frames, [0], "light", np.random.default_rng(2))
    assert np.ptp(copy[:, 0]) > 0.1  # the backdrop's brightness drifts
    assert [dot_place(c) for c in copy] == [dot_place(f) for f in frames]


def test_twos_keeps_the_holds_of_video_already_held():
    """Animation at 12 fps (pictures held 2 and 3 slots, as Planet Blupi's) keeps its
    pictures: holding every other slot would make holds of 4, which the inputs take for
    stills."""
    frames = dot_frames(20)
    twelve = frames[[0, 0, 2, 2, 2, 5, 5, 7, 7, 7, 10, 10, 12, 12, 12, 15, 15, 17, 17, 17]]
    np.testing.assert_array_equal(whole_copy(twelve, [0], "twos", np.random.default_rng(0)), twelve)


def test_an_unknown_or_repeated_augmentation_is_refused():
    with pytest.raises(UserError, match="unknown augmentation 'blur'"):
        settings_for(None, {"augment": ["mirror", "blur"]}, None, None)
    with pytest.raises(UserError, match="twice"):
        settings_for(None, {"augment": ["twos", "twos"]}, None, None)


@pytest.mark.slow
def test_the_copies_are_trained_on_and_recorded_and_validation_stays_original(tmp_path):
    from bitmap2pcm.learn import brain as brains
    from conftest import make_video

    video = make_video(tmp_path / "v.mkv", seconds=4.0)
    assert run_script("pickler.py", str(video), "-o", str(tmp_path), "-q").returncode == 0
    result = run_script("theanet.py", "--frames", str(tmp_path / "frames.pkl"), "--audio",
                        str(tmp_path / "audio.pkl"), "--augment", "mirror,twos",
                        "--epochs", "2", "--pretrain-epochs", "1", "--save-every", "0",
                        "-o", str(tmp_path / "b.pkl"))
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if line.startswith("training "))
    train, copies, validation = map(int, re.search(
        r"\((\d+) train and (\d+) changed copies \(mirror, twos\), (\d+) validation", line).groups())
    assert copies == 2 * train and validation > 0
    assert "0.1 minutes of video" in result.stderr  # a cue brain from 4 s is told more would help
    network = brains.load(tmp_path / "b.pkl")
    assert network.training["settings"]["augment"] == ["mirror", "twos"]


def test_no_mode_trains_on_changed_copies_unless_asked():
    """A copy on twos helped the event scenes' held pictures and could ruin a brain of Planet
    Blupi (docs/training.md): it is not a default."""
    from bitmap2pcm.commands.train import _augmentations
    from bitmap2pcm.learn.settings import mode_defaults

    for faithful in (False, True):
        assert mode_defaults({}, None, None, faithful).get("augment", []) == []
    assert _augmentations("none") == [] and _augmentations("twos, mirror") == ["twos", "mirror"]
