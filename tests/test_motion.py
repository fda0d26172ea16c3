"""Spacetime inputs: the frame with the motion into and out of its slot, for training and for
streaming render alike."""

from __future__ import annotations

import numpy as np
import pytest

from bitmap2pcm.data import motion

SIDE = 64
PIXELS = SIDE * SIDE


def square_path(positions: list[int]) -> np.ndarray:
    """Frames of an 8 x 8 white square on black at the given x positions (row 28)."""
    frames = np.zeros((len(positions), SIDE, SIDE), np.float32)
    for t, x in enumerate(positions):
        frames[t, 28:36, x:x + 8] = 1.0
    return frames.reshape(len(positions), PIXELS)


def test_rows_on_a_square_that_moves_then_stops():
    positions = [0, 4, 8, 12, 16, 16, 16, 16]  # moves 4 px a slot, stops at slot 4
    rows = motion.spacetime_rows(square_path(positions))
    assert rows.shape == (8, motion.input_size(PIXELS)) and rows.dtype == np.float32
    np.testing.assert_array_equal(rows[:, :PIXELS], square_path(positions))
    into, out_of, drop = rows[:, -3], rows[:, -2], rows[:, -1]
    assert into[0] == 0.0 and out_of[-1] == 0.0            # clip ends: no motion beyond them
    assert out_of[4] == 0.0 and into[4] > 0.5             # slot 4: motion comes in, none goes out
    assert drop[4] == pytest.approx((into[4] + 1) / 2) and drop[4] == drop.max()  # the stop
    assert drop[2] == pytest.approx(0.5)                   # steady motion: no drop
    maps = motion.COARSE_SIDE ** 2
    still = rows[6, PIXELS:PIXELS + 2 * maps]
    assert np.all(still == 0.5)                            # no motion reads 0.5 in the maps
    moving = rows[2, PIXELS:PIXELS + maps]
    assert moving.min() < 0.5 < moving.max()               # a moving edge: signs both ways


def test_streaming_in_any_batches_equals_the_whole_array():
    rng = np.random.default_rng(3)
    frames = rng.random((50, PIXELS), dtype=np.float32)
    whole = motion.spacetime_rows(frames)
    for sizes in ([50], [1] * 50, [7, 1, 13, 29], [2, 48]):
        stream = motion.SpacetimeStream()
        parts, start = [], 0
        for size in sizes:
            parts.append(stream.push(frames[start:start + size]))
            start += size
        parts.append(stream.finish())
        np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_only_the_next_frame_changes_the_rows_after_it_is_known():
    rng = np.random.default_rng(4)
    frames = rng.random((6, PIXELS), dtype=np.float32)
    changed = frames.copy()
    changed[4] = rng.random(PIXELS, dtype=np.float32)
    a, b = motion.spacetime_rows(frames), motion.spacetime_rows(changed)
    assert not np.array_equal(a[3], b[3])      # slot 3 sees the frame after it
    np.testing.assert_array_equal(a[:3], b[:3])


def test_no_difference_crosses_a_clip_start():
    frames = square_path([0, 4, 30, 34])     # two clips: [0, 2) and [2, 4)
    rows = motion.spacetime_rows(frames, clip_starts=[0, 2])
    assert rows[1, -2] == 0.0 and rows[2, -3] == 0.0  # clip 1's end, clip 2's start: still
    assert rows[0, -2] > 0 and rows[3, -3] > 0


def test_frames_that_do_not_fit_the_blocks_are_refused():
    with pytest.raises(ValueError, match="blocks"):
        motion.spacetime_rows(np.zeros((3, 50), np.float32))


@pytest.mark.slow
def test_a_spacetime_brain_records_its_layout_and_hears_the_next_frame(tmp_path):
    from bitmap2pcm.core.files import save_pickle
    from bitmap2pcm.learn import brain, run
    from bitmap2pcm.learn import settings as run_settings

    rng = np.random.default_rng(5)
    positions = np.repeat(rng.integers(0, 56, 200), 2).tolist()  # still, jump, still, jump...
    frames = square_path(positions)
    # the sound of a slot is loud when the square jumps *after* it: only the next frame tells
    jump = (np.diff(positions + positions[-1:]) != 0).astype(np.float64)
    audio = 0.5 + 0.4 * jump[:, None] * np.sin(np.arange(735) / 3.0)[None, :]
    save_pickle(frames, tmp_path / "frames.pkl")
    save_pickle(audio.astype(np.float32), tmp_path / "audio.pkl")
    layers = run_settings.preset_layers("shallow", inputs="spacetime")
    assert layers == [motion.input_size(PIXELS), 1000, 735]
    assert run.run_training(str(tmp_path / "frames.pkl"), str(tmp_path / "audio.pkl"),
                            str(tmp_path / "b.pkl"), [motion.input_size(PIXELS), 32, 735],
                            {"inputs": "spacetime", "epochs": 30, "pretrain_epochs": 0, "batch": 32},
                            quiet=True) == 0
    network = brain.load(tmp_path / "b.pkl")
    assert network["input"]["layout"] == motion.LAYOUT
    assert network["training"]["settings"]["inputs"] == "spacetime"
    still = square_path([20, 20, 20])
    jumps = square_path([20, 20, 50])  # only the frame after slot 1 differs
    quiet = brain.forward(network, motion.spacetime_rows(still))[1]
    loud = brain.forward(network, motion.spacetime_rows(jumps))[1]
    assert np.std(loud - 0.5) > 2 * np.std(quiet - 0.5)


def test_spacetime_and_history_are_one_choice():
    from bitmap2pcm.core.errors import UserError
    from bitmap2pcm.learn import settings as run_settings

    with pytest.raises(UserError, match="choose one"):
        run_settings.settings_for(None, {"inputs": "spacetime", "history": 1}, None, None)
    with pytest.raises(UserError, match="unknown input"):
        run_settings.settings_for(None, {"inputs": "colour"}, None, None)


@pytest.mark.slow
def test_render_streams_a_spacetime_brain_like_the_whole_video(tmp_path):
    from bitmap2pcm.core import grid
    from bitmap2pcm.learn import brain
    from bitmap2pcm.media import audio
    from bitmap2pcm.render import stream
    from conftest import make_video

    rng = np.random.default_rng(6)
    layers = [motion.input_size(PIXELS), 4, 735]
    weights = [rng.normal(0, 0.05, (layers[0], 4)).astype(np.float32),
               rng.normal(0, 0.05, (4, 735)).astype(np.float32)]
    biases = [np.zeros(4, np.float32), np.full(735, 0.5, np.float32)]
    network = brain.make_brain(weights, biases, ["sigmoid", "linear"], {},
                               input_spec=motion.convention(brain.input_convention("area")))
    brain.save(network, tmp_path / "st.pkl")
    clip = make_video(tmp_path / "clip.mkv", seconds=3.0, size="64x48", picture="testsrc2")
    summary = stream.render(clip, tmp_path / "out.wav", tmp_path / "st.pkl", "raw", batch_slots=7)
    samples, _ = audio.read_wav(tmp_path / "out.wav")
    frames = np.concatenate(list(stream.frame_stream(network, clip)))
    assert summary.slots == len(frames) and samples.size == len(frames) * grid.SAMPLES_PER_SLOT
    # batches of 7 slots, each holding its last frame back: the same sound as all at once
    np.testing.assert_allclose(samples, stream.predict_blocks(network, frames).reshape(-1), atol=1e-6)


def test_render_refuses_a_spacetime_brain_of_the_wrong_size(tmp_path):
    from bitmap2pcm.core.errors import UserError
    from bitmap2pcm.learn import brain
    from bitmap2pcm.render import stream

    network = brain.make_brain([np.zeros((PIXELS, 735), np.float32)], [np.zeros(735, np.float32)],
                               ["linear"], {}, input_spec=motion.convention(brain.input_convention("area")))
    brain.save(network, tmp_path / "bad.pkl")
    with pytest.raises(UserError, match="spacetime"):
        stream.load_brain(tmp_path / "bad.pkl")
