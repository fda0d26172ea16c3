"""Input rows kept as pieces and gathered by index (data/gathered.py): the same rows, less memory."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from motion_scenes import bouncing_ball, on_twos

from bitmap2pcm.data import gathered, patches
from bitmap2pcm.data.gathered import GatheredBuilder, GatheredRows

K, W, G = 3, 5, 2


def windowed_rows(n: int, rng: np.random.Generator, repeat_first: int = 0) -> np.ndarray:
    """Rows whose K pieces are a window moving on by one over a sequence of pieces (the
    first `repeat_first` rows repeating the first), then G columns of their own."""
    sequence = rng.random((n + K - 1, W), dtype=np.float32)
    rows = np.concatenate([sequence[np.arange(n)[:, None] + np.arange(K)].reshape(n, K * W),
                           rng.random((n, G), dtype=np.float32)], axis=1)
    rows[:repeat_first] = rows[repeat_first]
    return rows


def built(blocks: list[np.ndarray], clip_starts_at: tuple[int, ...] = ()) -> GatheredRows:
    builder = GatheredBuilder(K, W)
    for number, block in enumerate(blocks):
        if number in clip_starts_at:
            builder.start_clip()
        builder.append(block)
    return builder.rows()


def test_a_moving_window_keeps_each_piece_once_and_gives_the_rows_back() -> None:
    rows = windowed_rows(40, np.random.default_rng(0), repeat_first=3)
    kept = built([rows])
    np.testing.assert_array_equal(np.asarray(kept), rows)
    assert kept.shape == rows.shape and len(kept) == 40
    assert len(kept.pieces) == 40 - 3 + K - 1  # the repeated rows add no piece
    assert kept.nbytes < 0.6 * rows.nbytes


def test_blocks_of_any_size_give_the_same_rows_and_pieces() -> None:
    rows = windowed_rows(50, np.random.default_rng(1))
    whole = built([rows])
    for cuts in ([1, 2, 30], [25], list(range(1, 50))):
        pieces = built(np.split(rows, cuts))
        np.testing.assert_array_equal(pieces.pieces, whole.pieces)
        np.testing.assert_array_equal(pieces.index, whole.index)
        np.testing.assert_array_equal(pieces.direct, whole.direct)


def test_rows_with_nothing_in_common_are_kept_whole_and_exact() -> None:
    rows = np.random.default_rng(2).random((20, K * W + G), dtype=np.float32)
    kept = built([rows[:7], rows[7:]], clip_starts_at=(1,))
    assert len(kept.pieces) == 20 * K
    np.testing.assert_array_equal(np.asarray(kept), rows)


def test_rows_select_like_an_array() -> None:
    rows = windowed_rows(30, np.random.default_rng(3))
    kept = built([rows])
    chosen = np.array([29, 0, 7, 7])
    np.testing.assert_array_equal(kept[chosen], rows[chosen])
    np.testing.assert_array_equal(kept[5:9], rows[5:9])
    np.testing.assert_array_equal(kept[4], rows[4])
    np.testing.assert_array_equal(kept[2:6, 3:8], rows[2:6, 3:8])
    np.testing.assert_array_equal(kept[3, K * W:], rows[3, K * W:])


def test_joined_sets_and_their_digest_are_those_of_the_rows() -> None:
    rng = np.random.default_rng(4)
    first, second = windowed_rows(12, rng), windowed_rows(9, rng)
    joined = gathered.concatenate([built([first]), built([second])])
    assert isinstance(joined, GatheredRows)
    both = np.concatenate([first, second])
    np.testing.assert_array_equal(np.asarray(joined), both)
    assert gathered.crc32(joined) == zlib.crc32(memoryview(both).cast("B")) == gathered.crc32(both)
    mixed = gathered.concatenate([built([first]), second])
    assert isinstance(mixed, np.ndarray)
    np.testing.assert_array_equal(mixed, both)


@pytest.mark.parametrize("ahead", [patches.movement.LOOK, 0])
def test_patch_rows_are_the_rows_render_streams_in_a_sixth_of_the_memory(ahead: int) -> None:
    """Two clips, the second on twos (held pictures are spread first): the training set's
    gathered rows are bit for bit the rows a stream of the same frames gives."""
    frames, _ = bouncing_ball(90)
    frames[50:] = on_twos(frames[50:])
    layout = patches.Patches(ahead)
    rows = layout.rows(frames, [0, 50])
    assert isinstance(rows, GatheredRows)
    streamed = []
    for first, stop in ((0, 50), (50, 90)):
        stream = layout.stream()
        streamed += [stream.push(frames[first:first + 13]), stream.push(frames[first + 13:stop]),
                     stream.finish()]
    expected = np.concatenate(streamed)
    np.testing.assert_array_equal(np.asarray(rows), expected)
    assert rows.nbytes < expected.nbytes / 4


def test_a_minibatch_is_gathered_in_the_compiled_step() -> None:
    from bitmap2pcm.learn import backend

    backend.choose("cpu")
    pt = backend.tensor()
    rows = windowed_rows(20, np.random.default_rng(5))
    order = backend.shared(np.array([19, 3, 3, 0, 11, 8, 2], np.int64), "order")
    x = pt.matrix("x")
    step = backend.compile_minibatch_step([x], [backend.rows_dataset(built([rows]), "rows")],
                                          order, 4, x * 1.0)
    np.testing.assert_array_equal(step(0), rows[[19, 3, 3, 0]])
    np.testing.assert_array_equal(step(1), rows[[11, 8, 2]])
