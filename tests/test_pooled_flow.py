"""The flow layout (data/pooled_flow.py): rows that mean the same anywhere in the picture, on
twos as at 30 fps, blind to brightness, streamed as built whole."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from bitmap2pcm.core.errors import UserError
from bitmap2pcm.data import layouts, pooled_flow
from bitmap2pcm.data.pooled_flow import FEATURES, PAST_SLOTS
from motion_scenes import backdrop, bouncing_ball, on_twos

LAYOUT = pooled_flow.PooledFlow()
FEATURE_COUNT = len(FEATURES)
NOW = pooled_flow.NEAR_BEFORE * FEATURE_COUNT  # slot t's own features in its row


def feature(rows: np.ndarray, name: str) -> np.ndarray:
    """Each slot's own value of the feature `name`."""
    return rows[:, NOW + FEATURES.index(name)]


@pytest.mark.parametrize("batches", [[75], [1] * 75, [7, 30, 2, 36]])
def test_streaming_gives_the_rows_of_the_whole_video(batches):
    frames, _ = bouncing_ball()
    whole = LAYOUT.rows(frames, [0])
    stream, parts, start = LAYOUT.stream(), [], 0
    for size in batches:
        parts.append(stream.push(frames[start:start + size]))
        start += size
    parts.append(stream.finish())
    assert np.array_equal(np.concatenate(parts), whole)
    assert whole.shape == (75, LAYOUT.units(4096)) and 0 <= whole.min() and whole.max() <= 1


def test_a_copied_stream_finishes_early_and_the_original_goes_on():
    # live's look-ahead finishes a copy of the stream: it must not disturb the stream itself
    frames, _ = bouncing_ball()
    stream = LAYOUT.stream()
    given = stream.push(frames[:40])
    early = copy.deepcopy(stream).finish()
    assert len(given) + len(early) == 40
    rest = np.concatenate([stream.push(frames[40:]), stream.finish()])
    assert np.array_equal(np.concatenate([given, rest]), LAYOUT.rows(frames, [0]))
    assert len(given) >= 40 - LAYOUT.lookahead_slots


def test_an_impact_in_the_other_half_of_the_picture_reads_the_same():
    left, impacts = bouncing_ball(x=12.0)
    right, _ = bouncing_ball(x=50.0)
    rows_left, rows_right = LAYOUT.rows(left, [0]), LAYOUT.rows(right, [0])
    reversing = feature(rows_left, "reversing")
    assert set(np.flatnonzero(reversing > 0.5 * reversing.max())) <= {s + d for s in impacts for d in (-2, -1, 0, 1)}
    # the backdrop under the ball differs, so the flow's errors do; the motion does not
    assert np.abs(rows_left - rows_right).mean() < 0.1 * rows_left.mean()


def test_pictures_on_twos_read_as_at_30_fps_without_flicker():
    frames, impacts = bouncing_ball()
    every, twos = LAYOUT.rows(frames, [0]), LAYOUT.rows(on_twos(frames), [0])
    for name in ("change p99.5", "speed p99.5"):
        steady = slice(4, impacts[0] - 3)
        on_twos_values = feature(twos, name)[steady]
        # no slot of a held picture drops to no motion
        assert on_twos_values.min() > 0.5 * np.median(feature(every, name)[steady])
    strongest = [int(np.argmax(feature(rows, "change max")[: impacts[0] + 4])) for rows in (every, twos)]
    assert abs(strongest[0] - strongest[1]) <= 1


def test_a_brightness_ramp_alone_moves_nothing():
    ramp = np.clip(np.linspace(0.6, 1.6, 90)[:, None] * backdrop().reshape(1, -1), 0, 1).astype(np.float32)
    rows = LAYOUT.rows(ramp, [0])
    still = LAYOUT.rows(np.repeat(backdrop().reshape(1, -1).astype(np.float32), 90, axis=0), [0])
    assert np.abs(rows - still).max() < 0.05


def test_no_row_sees_across_a_clip_start():
    frames, _ = bouncing_ball()
    joined = LAYOUT.rows(np.concatenate([frames, frames]), [0, len(frames)])
    assert np.array_equal(joined[len(frames):], joined[:len(frames)])


def test_the_row_remembers_the_second_before():
    # a bounce 20 slots ago no longer shows in the near slots, but in the past's maximum
    frames, impacts = bouncing_ball()
    rows = LAYOUT.rows(frames, [0])
    past_max = rows[:, (pooled_flow.NEAR) * FEATURE_COUNT + FEATURES.index("reversing")]
    later = impacts[0] + 20
    assert feature(rows, "reversing")[later] < 0.01 < past_max[later]
    assert past_max[impacts[0] - 3] < 0.01  # nothing reversed in the second before the first bounce
    assert PAST_SLOTS >= 30  # a second of memory


def test_the_brain_records_its_settings_and_other_settings_are_refused():
    assert isinstance(layouts.chosen(pooled_flow.NAME), pooled_flow.PooledFlow)
    record = LAYOUT.convention({"side": 64})
    assert isinstance(layouts.of_input(record, 4096, "brain.pkl"), pooled_flow.PooledFlow)
    with pytest.raises(UserError, match="retrain it with theanet.py --input flow"):
        layouts.of_input(dict(record, past_slots=PAST_SLOTS + 1), 4096, "brain.pkl")
