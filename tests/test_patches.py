"""The patch layout (data/patches.py) and the first layer shared across its places
(learn/pooling.py): what an impact looks like in one place reads the same in any other, a
brightness change moves no place, and render computes what training optimised."""

from __future__ import annotations

import numpy as np
import pytest

from bitmap2pcm.core.errors import UserError
from bitmap2pcm.data import flow, layouts, patches
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.learn import pooling
from motion_scenes import backdrop, held_for, on_twos

LAYOUT = patches.Patches()
PLACES = patches.places()
SIDE = 64
STRIDE_PX = patches.STRIDE_BLOCKS * SIDE // patches.SIDE  # 8 pixels between places


def bounce(x: float, slots: int = 40) -> np.ndarray:
    """A bright disc falling onto a floor at column `x` and bouncing, on a plain backdrop:
    frames (slots, 4096) in [0, 1]."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    y, velocity, frames = 6.0, 0.0, []
    for _ in range(slots):
        disc = np.clip(4.5 - np.hypot(ys - y, xs - x), 0, 1)
        frames.append(0.3 * (1 - disc) + 0.95 * disc)
        velocity += 0.4
        y += velocity
        if y > 50.0:
            y, velocity = 100.0 - y, -0.7 * velocity
    return np.asarray(frames, np.float32).reshape(slots, -1)


def random_brain(rng: np.random.Generator, hidden: tuple[int, int] = (6, 5), outputs: int = 3) -> brains.Brain:
    sizes = [LAYOUT.units(SIDE * SIDE), *hidden, outputs]
    inputs = pooling.layer_inputs(sizes, PLACES)
    return brains.make_brain([rng.normal(0, 1, (a, b)).astype(np.float32) for a, b in zip(inputs, sizes[1:])],
                             [rng.normal(0, 1, b).astype(np.float32) for b in sizes[1:]],
                             ["sigmoid", "sigmoid", "linear"], {},
                             input_record=LAYOUT.convention(brains.picture_convention()),
                             input_units=sizes[0])


def place_values(rows: np.ndarray) -> np.ndarray:
    """(slots, P, F): every place's values."""
    return rows[:, PLACES.index]


def test_every_place_is_its_own_blocks_at_every_step():
    assert PLACES.index.shape == (49, patches.STEPS * patches.PATCH_BLOCKS ** 2)
    assert np.array_equal(PLACES.direct, np.arange(patches.STEPS * patches.MAP, patches.WIDTH))
    for place in PLACES.index:
        cells = place % patches.MAP
        rows, columns = cells // patches.SIDE, cells % patches.SIDE
        assert np.ptp(rows) == np.ptp(columns) == patches.PATCH_BLOCKS - 1
        assert np.array_equal(np.bincount(place // patches.MAP), [patches.PATCH_BLOCKS ** 2] * patches.STEPS)


def test_an_impact_elsewhere_reads_the_same_at_its_place_and_the_brain_hears_it_alike():
    # two places to the right; the disc (9 px) lies within places 1-3 there and 3-5 here
    left, right = bounce(24.0), bounce(24.0 + 2 * STRIDE_PX)
    a, b = LAYOUT.rows(left, [0]), LAYOUT.rows(right, [0])
    grid = int(np.sqrt(len(PLACES.index)))
    shifted = place_values(a).reshape(len(a), grid, grid, -1)[:, :, :-2]
    np.testing.assert_allclose(place_values(b).reshape(len(b), grid, grid, -1)[:, :, 2:], shifted, atol=1e-6)
    assert not np.allclose(place_values(a), place_values(b))  # the places did differ
    network = random_brain(np.random.default_rng(0))
    np.testing.assert_allclose(brains.forward(network, a), brains.forward(network, b), atol=1e-5)


def test_a_brightness_change_moves_no_place_and_no_scalar():
    # 0.03 a slot: every picture is a new one, not a held one
    ramp = backdrop()[None].reshape(1, -1) + np.linspace(0, 0.36, 13, dtype=np.float32)[:, None]
    rows = LAYOUT.rows(ramp, [0])
    np.testing.assert_allclose(place_values(rows), 0.5, atol=1e-5)
    assert np.all(rows[:, PLACES.direct] < 0.01)  # energies, turn and change: nothing moves


def test_pictures_on_twos_read_as_the_motion_spread_over_both_slots():
    frames = bounce(24.0)
    twos = on_twos(frames)
    rows, rows_on_twos = LAYOUT.rows(frames, [0]), LAYOUT.rows(twos, [0])
    motion = np.abs(place_values(rows_on_twos) - 0.5).sum(axis=(1, 2))
    # no slot of a moving ball reads as still, as it would with every other picture held
    assert np.all(motion[2:-4] > 0.1 * np.median(motion[2:-4]))
    # and the motion over two slots is the motion at 30 fps over the same two
    step = patches.MAP
    d30, d2 = (rows[:, :step] - 0.5) / patches.GAIN * 2, (rows_on_twos[:, :step] - 0.5) / patches.GAIN * 2
    assert np.corrcoef(d30[1:-5:2].ravel() + d30[2:-4:2].ravel(), d2[1:-5:2].ravel() + d2[2:-4:2].ravel())[0, 1] > 0.9


@pytest.mark.parametrize("inbetweens", flow.INBETWEENS)
def test_held_pictures_are_spread_a_still_scene_is_not(inbetweens):
    a, b = np.zeros(SIDE * SIDE, np.float32), np.ones(SIDE * SIDE, np.float32)  # nothing moves
    even = flow.EvenPictures(inbetweens)
    given = [p for picture in (a, a, b, b, b, b, b, a) for p in even.push(picture)] + even.finish()
    expected = [a, 0.5 * b, b, b, b, b, b, a]  # one held: half way; four: a still scene
    np.testing.assert_allclose(np.array(given), np.array(expected), atol=1e-6)
    even = flow.EvenPictures(inbetweens)
    assert [len(even.push(p)) for p in (a, a, a)] == [1, 0, 0] and len(even.finish()) == 2


def test_a_held_slot_shows_the_thing_moved_half_way_not_two_half_copies():
    # on twos, the rows whose first frame step ends on a held slot, against the same rows at
    # 30 fps: moved along the flow they are much nearer than blended
    frames = bounce(24.0)
    true = np.asarray(LAYOUT.rows(frames, [0]))[4:-4:2, :patches.MAP]
    error = {inbetweens: np.abs(np.asarray(patches.Patches(inbetweens=inbetweens).rows(on_twos(frames), [0]))
                                [4:-4:2, :patches.MAP] - true).mean()
             for inbetweens in flow.INBETWEENS}
    assert error["motion"] < 0.5 * error["blend"]


def test_pictures_on_threes_are_spread_too():
    # 12 fps animation (Planet Blupi's) holds a picture for three slots: no slot of a moving
    # ball reads as still
    threes = held_for(bounce(24.0), 3)
    steps = np.abs(np.asarray(LAYOUT.rows(threes, [0]))[3:-4, :patches.MAP] - 0.5).sum(axis=1)
    assert np.all(steps > 0.05 * np.median(steps))  # the top of a bounce is slow


def test_a_brain_fills_held_pictures_as_it_was_trained_to():
    record = layouts.chosen(patches.NAME, inbetweens="motion").convention({})
    assert layouts.of_input(record, SIDE * SIDE, "b.pkl").inbetweens == "motion"
    del record["inbetweens"]  # a brain made before the choice blended them
    assert layouts.of_input(record, SIDE * SIDE, "old.pkl").inbetweens == "blend" == LAYOUT.inbetweens
    with pytest.raises(UserError, match="retrain it with theanet.py --input patches"):
        layouts.of_input(dict(record, inbetweens="warp"), SIDE * SIDE, "b.pkl")
    with pytest.raises(UserError, match="--inbetweens sets how"):
        layouts.chosen("movement", inbetweens="motion")


def test_no_row_crosses_a_clip_start():
    frames = np.concatenate([bounce(20.0, 15), bounce(40.0, 15)])
    joined = LAYOUT.rows(frames, [0, 15])
    np.testing.assert_array_equal(joined[15:], LAYOUT.rows(frames[15:], [0]))
    np.testing.assert_array_equal(joined[:15], LAYOUT.rows(frames[:15], [0]))


def test_rows_built_a_block_at_a_time_are_the_whole_clip_s(monkeypatch):
    frames = np.concatenate([bounce(20.0, 40), on_twos(bounce(40.0, 30))])
    whole = LAYOUT.rows(frames, [0, 40])
    for block in (1, 7, 40):
        monkeypatch.setattr(patches, "FRAMES_AT_ONCE", block)
        np.testing.assert_array_equal(LAYOUT.rows(frames, [0, 40]), whole)


def test_a_brain_of_other_constants_or_shapes_is_refused(tmp_path):
    network = random_brain(np.random.default_rng(1))
    record = dict(network.input, gain=2.0)
    with pytest.raises(UserError, match="retrain it with theanet.py --input patches"):
        layouts.of_input(record, SIDE * SIDE, "old.pkl")
    network.weights[0] = np.zeros((patches.WIDTH, 6), np.float32)  # a row-wide first layer
    with pytest.raises(UserError, match="layer 0 weights are not"):
        brains.save(network, tmp_path / "b.pkl")


@pytest.mark.parametrize("ahead", [0, 1, 2])
def test_fewer_frames_ahead_is_the_centred_window_later(ahead):
    frames = np.concatenate([bounce(20.0, 17), bounce(40.0, 12)])
    centred = LAYOUT.rows(frames, [0, 17])
    layout = layouts.chosen(patches.NAME, frames_ahead=ahead)
    shift = patches.movement.LOOK - ahead
    rows = layout.rows(frames, [0, 17])
    assert rows.shape == centred.shape and layout.lookahead_slots == ahead + flow.MAX_HOLD_SLOTS
    for first, stop in ((0, 17), (17, 29)):  # each clip: its first row stands in, then the centred rows later
        np.testing.assert_array_equal(rows[first:first + shift], np.repeat(centred[first:first + 1], shift, 0))
        np.testing.assert_array_equal(rows[first + shift:stop], centred[first:stop - shift])
    # pushed a frame at a time, every row comes once `ahead` frames after its own (after
    # the clip's first LOOK frames, which its first row needs)
    stream, given = layout.stream(), []
    for start in range(0, 17):
        given.append(stream.push(frames[start:start + 1]))
        expected = 0 if start < patches.movement.LOOK else start + 1 - ahead
        assert sum(len(g) for g in given) == expected
    given.append(stream.finish())
    np.testing.assert_array_equal(np.concatenate(given), rows[:17])
    # the brain records it, and a brain that looks further ahead than this version builds is refused
    record = layout.convention({})
    assert layouts.of_input(record, SIDE * SIDE, "b.pkl").lookahead_slots == layout.lookahead_slots
    with pytest.raises(UserError, match="frames ahead"):
        layouts.of_input(dict(record, ahead=4), SIDE * SIDE, "b.pkl")
    with pytest.raises(UserError, match="--frames-ahead"):
        layouts.chosen("movement", frames_ahead=ahead)


@pytest.mark.slow  # compiles the network: a C compiler runs when the cache lacks it
def test_the_graph_trained_is_the_network_render_runs():
    from bitmap2pcm.learn import backend
    from bitmap2pcm.learn.dbn import DBN

    pytensor, pt = backend.pytensor(), backend.tensor()
    net = DBN.create([patches.WIDTH, 6, 5, 3], np.random.default_rng(2), np.full(3, 0.5), PLACES)
    x = pt.matrix("x")
    output = pytensor.function([x], net.output(x))
    weights, biases = net.parameters()
    saved = brains.make_brain(weights, biases, net.activations, {},
                              input_record=LAYOUT.convention(brains.picture_convention()),
                              input_units=patches.WIDTH)
    rows = LAYOUT.rows(bounce(30.0), [0])
    np.testing.assert_allclose(output(rows), brains.forward(saved, rows), rtol=1e-4, atol=1e-5)
