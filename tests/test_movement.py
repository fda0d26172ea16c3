"""Movement inputs: a centred window of coarse frames, the same in training and in render."""

from __future__ import annotations

import numpy as np
import pytest

from bitmap2pcm.data import movement

M = movement.MAP


def moving_square(frames: int, stop_at: int | None = None) -> np.ndarray:
    """A 12x12 white square on black moving right 2 px a frame (64x64), still from `stop_at`."""
    out = np.zeros((frames, 64, 64), np.float32)
    for t in range(frames):
        x = 4 + 2 * (t if stop_at is None else min(t, stop_at))
        out[t, 20:32, x:x + 12] = 1.0
    return out.reshape(frames, -1)


@pytest.mark.parametrize("batches", [(40,), (1, 1, 38), (2, 5, 33), (3, 3, 3, 3, 28), (7, 33)])
def test_streaming_gives_the_rows_of_the_whole_video(batches):
    frames = np.random.default_rng(0).random((40, 4096), dtype=np.float32)
    whole = movement.movement_rows(frames)
    stream, rows, start = movement.Movement().stream(), [], 0
    for size in batches:
        rows.append(stream.push(frames[start:start + size]))
        start += size
    rows.append(stream.finish())
    assert np.array_equal(np.concatenate([r for r in rows if len(r)]), whole)


def test_rows_are_in_the_unit_range_and_still_pictures_show_no_motion():
    rows = movement.movement_rows(np.full((10, 4096), 0.7, np.float32))
    assert rows.shape == (10, movement.input_size(4096))
    assert np.all((rows >= 0) & (rows <= 1))
    assert np.allclose(rows[:, :M], 0.7)
    assert np.allclose(rows[:, M:3 * M], 0.5) and np.all(rows[:, 3 * M:] == 0)


def test_only_the_next_frame_changes_the_row():
    frames = moving_square(20)
    other = frames.copy()
    other[11] = frames[10]  # the square stops for one frame after slot 10
    a, b = movement.movement_rows(frames), movement.movement_rows(other)
    assert not np.allclose(a[10], b[10])            # slot 10 sees what comes next
    assert np.array_equal(a[:8], b[:8])            # slots more than LOOK before do not
    assert not np.allclose(a[10, 2 * M:3 * M], b[10, 2 * M:3 * M])  # its motion out changed


def bouncing_square(frames: int, at: int) -> np.ndarray:
    """The moving square, turning back at frame `at`."""
    out = np.zeros((frames, 64, 64), np.float32)
    for t in range(frames):
        x = 4 + 2 * (t if t <= at else 2 * at - t)
        out[t, 20:32, x:x + 12] = 1.0
    return out.reshape(frames, -1)


def test_the_turn_is_low_in_steady_motion_half_at_a_stop_and_high_at_a_bounce():
    turn = movement.STEPS + 4 * M
    steady = movement.movement_rows(moving_square(30))[5:20, turn]  # before the edge
    stop = movement.movement_rows(moving_square(30, stop_at=15))[:, turn]
    bounce = movement.movement_rows(bouncing_square(30, at=15))[:, turn]
    assert steady.max() <= 0.25
    assert stop[15] == pytest.approx(0.5)
    assert bounce[15] > 0.95
    assert movement.movement_rows(np.zeros((5, 4096), np.float32))[:, turn].max() == 0


def test_no_window_crosses_a_clip_start():
    frames = np.concatenate([moving_square(10), np.zeros((10, 4096), np.float32)])
    joined = movement.movement_rows(frames, clip_starts=[0, 10])
    alone = movement.movement_rows(frames[10:])
    assert np.array_equal(joined[10:], alone)
    assert np.array_equal(joined[:10], movement.movement_rows(frames[:10]))
