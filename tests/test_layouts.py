"""The input layouts behind their one interface (data/layout.py): every layout's streaming rows
equal its training rows for any batching, a brain records its layout and render rebuilds it,
and the layouts of earlier versions are read or refused with the retrain line."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_one_line_error, run_script

from bitmap2pcm.core.errors import UserError
from bitmap2pcm.data import eigen, frame, history, layouts, movement, patches
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.learn import pooling
from bitmap2pcm.render import stream

PIXELS = 64 * 64


def fitted_layouts(frames: np.ndarray) -> list:
    """One of each layout (eigen-frames fitted on the frames' first half)."""
    rng = np.random.default_rng(0)
    return [frame.Frame(), history.History(2), movement.Movement(),
            eigen.EigenFrames(8).fitted(frames, np.arange(len(frames) // 2), rng), patches.Patches()]
LAYOUT_COUNT = 5


def test_the_registry_names_every_layout_once():
    assert set(layouts.LAYOUTS) == {frame.NAME, history.NAME, movement.NAME, eigen.NAME, patches.NAME}
    assert all(layouts.LAYOUTS[name].name == name for name in layouts.LAYOUTS)


@pytest.mark.parametrize("index", range(LAYOUT_COUNT))
def test_streaming_rows_equal_training_rows_in_any_batches(index):
    rng = np.random.default_rng(3)
    frames = rng.random((40, PIXELS), dtype=np.float32)
    layout = fitted_layouts(frames)[index]
    whole = layout.rows(frames, [0])
    assert whole.shape == (40, layout.units(PIXELS))
    for sizes in ([40], [1] * 40, [7, 1, 13, 19], [2, 38]):
        rows = layout.stream()
        parts, start = [], 0
        for size in sizes:
            parts.append(rows.push(frames[start:start + size]))
            start += size
        parts.append(rows.finish())
        np.testing.assert_allclose(np.concatenate([p for p in parts if len(p)]), whole, atol=1e-6)


@pytest.mark.parametrize("index", range(LAYOUT_COUNT))
def test_a_layout_holds_back_its_lookahead_and_no_more(index):
    frames = np.random.default_rng(6).random((12, PIXELS), dtype=np.float32)
    layout = fitted_layouts(frames)[index]
    rows = layout.stream()
    given = np.cumsum([len(rows.push(frames[k:k + 1])) for k in range(len(frames))])
    pushed = np.arange(1, len(frames) + 1)
    # a row comes at most lookahead_slots frames after its own (patches' comes sooner when no
    # picture is held), and never before
    assert np.all(given >= pushed - layout.lookahead_slots) and np.all(given <= pushed)
    if layout.name != patches.NAME:  # it waits longer only for held pictures
        assert np.array_equal(given, np.maximum(0, pushed - layout.lookahead_slots))
    assert given[-1] + len(rows.finish()) == len(frames)


@pytest.mark.parametrize("index", range(LAYOUT_COUNT))
def test_a_brain_records_its_layout_and_render_rebuilds_it(tmp_path, index):
    frames = np.random.default_rng(4).random((30, PIXELS), dtype=np.float32)
    layout = fitted_layouts(frames)[index]
    units = layout.units(PIXELS)
    # a layout of places needs the hidden layer its detector is
    sizes = [units, 4, 735] if layout.positions() is not None else [units, 735]
    inputs = pooling.layer_inputs(sizes, layout.positions())
    network = brains.make_brain([np.zeros((n_in, n_out), np.float32) for n_in, n_out in zip(inputs, sizes[1:])],
                                [np.zeros(n, np.float32) for n in sizes[1:]],
                                ["sigmoid", "linear"][-len(inputs):], {},
                                input_record=layout.convention(brains.picture_convention()), input_units=units)
    brains.save(network, tmp_path / "b.pkl")
    loaded = stream.load_brain(tmp_path / "b.pkl")  # through the restricted unpickler
    assert type(loaded.layout) is type(layout) and loaded.lookahead_slots == layout.lookahead_slots
    np.testing.assert_allclose(loaded.layout.rows(frames, [0]), layout.rows(frames, [0]), atol=1e-6)


def test_an_eigen_brain_of_the_earlier_record_still_renders_the_same(tmp_path):
    frames = np.random.default_rng(5).random((30, PIXELS), dtype=np.float32)
    layout = eigen.EigenFrames(6).fitted(frames, np.arange(30), np.random.default_rng(0))
    record = dict(layout.convention(brains.picture_convention()), layout=frame.NAME)  # as before
    network = brains.make_brain([np.zeros((6, 735), np.float32)], [np.zeros(735, np.float32)],
                                ["linear"], {}, input_record=record)
    brains.save(network, tmp_path / "old.pkl")
    loaded = stream.load_brain(tmp_path / "old.pkl")
    assert loaded.layout.name == eigen.NAME
    np.testing.assert_array_equal(loaded.layout.rows(frames, [0]), layout.rows(frames, [0]))


def spacetime_brain(path):
    """A brain as the retired --input spacetime wrote it (4096 pixels + 515 motion inputs)."""
    record = dict(brains.picture_convention(), layout="spacetime", coarse_side=16)
    network = brains.make_brain([np.zeros((PIXELS + 515, 735), np.float32)],
                                [np.zeros(735, np.float32)], ["linear"], {}, input_record=record)
    brains.save(network, path)
    return path


def flow_brain(path):
    """A brain as the retired --input flow wrote it (72 pooled flow features, cues out)."""
    record = dict(brains.picture_convention(), layout="flow", features=["change p90"] * 12)
    network = brains.make_brain([np.zeros((72, 1000), np.float32), np.zeros((1000, 105), np.float32)],
                                [np.zeros(1000, np.float32), np.zeros(105, np.float32)],
                                ["sigmoid", "linear"], {}, input_record=record)
    brains.save(network, path)
    return path


@pytest.mark.parametrize("retired", [spacetime_brain, flow_brain])
def test_a_retired_layouts_brain_is_refused_with_the_retrain_line(tmp_path, retired):
    with pytest.raises(UserError, match="retrain it with theanet.py \\(the default input, patches\\)"):
        stream.load_brain(retired(tmp_path / "old.pkl"))


@pytest.mark.slow
def test_render_refuses_a_spacetime_brain_in_one_line(tmp_path):
    from conftest import make_video

    clip = make_video(tmp_path / "clip.mkv", seconds=1.0)
    result = run_script("render.py", str(clip), "--brain", str(spacetime_brain(tmp_path / "st.pkl")),
                        "-o", str(tmp_path / "out.wav"))
    assert_one_line_error(result, 1, "'spacetime'", "retrain it")
    assert not (tmp_path / "out.wav").exists()


def test_an_unknown_layout_is_refused(tmp_path):
    record = dict(brains.picture_convention(), layout="hologram")
    network = brains.make_brain([np.zeros((PIXELS, 735), np.float32)], [np.zeros(735, np.float32)],
                                ["linear"], {}, input_record=record)
    brains.save(network, tmp_path / "h.pkl")
    with pytest.raises(UserError, match="'hologram' is unknown"):
        stream.load_brain(tmp_path / "h.pkl")


def test_history_and_the_other_inputs_are_one_choice():
    with pytest.raises(UserError, match="choose one"):
        layouts.chosen(movement.NAME, history_frames=1)
    for retired in layouts.RETIRED:
        with pytest.raises(UserError, match="unknown input"):
            layouts.chosen(retired)


def test_movement_refuses_frames_that_do_not_fit_the_blocks():
    with pytest.raises(ValueError, match="blocks"):
        movement.movement_rows(np.zeros((3, 50), np.float32))
