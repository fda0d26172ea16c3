"""Looks (data/looks.py): what the thing that moves looks like, wherever it is and whatever the
backdrop; the same for a stream in any batches as for the whole clip."""

from __future__ import annotations

import numpy as np
import pytest

from bitmap2pcm.data import looks

SIDE = 64


def picture(thing: str, y: int, x: int, backdrop: float = 0.2, contrast: float = 1.0) -> np.ndarray:
    """A gray picture with a ring or a filled square centred at (y, x)."""
    rows, cols = np.mgrid[:SIDE, :SIDE]
    if thing == "ring":
        shape = np.abs(np.hypot(rows - y, cols - x) - 4.0) < 1.2
    else:
        shape = (np.abs(rows - y) <= 3) & (np.abs(cols - x) <= 3)
    out = np.full((SIDE, SIDE), backdrop, np.float32)
    out[shape] = backdrop + 0.6 * contrast
    return out


def looks_of(thing: str, y: int, x: int, **scene) -> np.ndarray:
    """The looks of a thing that came down to (y, x) from 6 pixels higher."""
    before, after = picture(thing, y - 6, x, **scene), picture(thing, y, x, **scene)
    return looks.looks(before[None], after[None])[0]


def test_looks_say_what_moved_not_where_or_under_which_light():
    ring_here = looks_of("ring", 20, 15)
    ring_there = looks_of("ring", 45, 50, backdrop=0.5, contrast=0.5)
    square_there = looks_of("square", 45, 50, backdrop=0.5, contrast=0.5)
    assert ring_here.shape == (looks.WIDTH,) and np.linalg.norm(ring_here) == pytest.approx(1.0)
    assert ring_here @ ring_there > 0.99
    assert ring_here @ square_there < ring_here @ ring_there - 0.05


def test_a_stream_gives_the_looks_of_the_whole_clip_in_any_batches():
    rng = np.random.default_rng(1)
    frames = (rng.uniform(0, 1, (23, SIDE * SIDE)) * 255).astype(np.uint8)
    whole = looks.looks_at(frames, np.arange(23), [0, 9])
    for cuts in ([9], [1, 2, 9, 10, 17], list(range(1, 23))):
        pieces = []
        for first, stop in ((0, 9), (9, 23)):  # one stream per clip
            stream = looks.LooksStream()
            for batch in np.split(frames[first:stop], [c - first for c in cuts if first < c < stop]):
                pieces.append(stream.push(batch.astype(np.float32) / 255))
            pieces.append(stream.finish())
        np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-6)
    # a clip's first slot compares its own picture: nothing before the clip is seen
    np.testing.assert_array_equal(looks.looks_at(frames, [9], [0, 9]),
                                  looks.looks(frames[9:10].reshape(1, SIDE, SIDE) / np.float32(255),
                                              frames[11:12].reshape(1, SIDE, SIDE) / np.float32(255)))


def test_a_stream_with_less_lookahead_stands_the_newest_frame_in():
    frames = np.stack([picture("ring", 10 + 3 * t, 30).ravel() for t in range(8)])
    stream = looks.LooksStream(ahead=0)
    given = [stream.push(frame[None]) for frame in frames]
    assert all(len(g) == 1 for g in given)  # one slot per frame, no wait
    expected = looks.looks(frames[[2]].reshape(1, SIDE, SIDE), frames[[4]].reshape(1, SIDE, SIDE))
    np.testing.assert_allclose(given[4][0], expected[0], atol=1e-6)  # slot 4 sees frame 4, not 6
    assert len(stream.finish()) == 0


class _DelayedRows:
    """A row stream that gives each frame's row `delay` frames late (as a layout waits)."""

    def __init__(self, delay: int) -> None:
        self.delay, self.pushed, self.given = delay, 0, 0

    def push(self, frames: np.ndarray) -> np.ndarray:
        self.pushed += len(frames)
        return self._rows(max(0, self.pushed - self.delay - self.given))

    def finish(self) -> np.ndarray:
        return self._rows(self.pushed - self.given)

    def _rows(self, count: int) -> np.ndarray:
        rows = np.arange(self.given, self.given + count, dtype=np.float32)[:, None]
        self.given += count
        return rows


@pytest.mark.parametrize("delay", [0, 2, 5])
def test_rows_and_looks_come_paired_whichever_waits_longer(delay):
    frames = np.stack([picture("square", 10 + 2 * t, 30).ravel() for t in range(12)])
    paired = looks.WithLooks(_DelayedRows(delay), ahead=looks.STEP_FRAMES)
    given = [paired.push(frame[None]) for frame in frames] + [paired.finish()]
    rows = np.concatenate([r for r, _ in given])
    seen = np.concatenate([s for _, s in given])
    assert [len(r) for r, _ in given] == [len(s) for _, s in given]
    np.testing.assert_array_equal(rows[:, 0], np.arange(12))
    np.testing.assert_allclose(seen, looks.looks_at(frames, np.arange(12), [0]), atol=1e-6)
    rows_alone, none = looks.WithLooks(_DelayedRows(delay), ahead=None).push(frames)
    assert none is None and len(rows_alone) == 12 - delay
