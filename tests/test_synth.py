"""The synthetic example: deterministic, and its sound follows its pictures."""

import numpy as np

from bitmap2pcm.core import grid
from scenes import synth


def test_same_seed_same_arrays_other_seed_other_arrays():
    a_pictures, a_sound = synth.render_arrays(5, seed=3)
    b_pictures, b_sound = synth.render_arrays(5, seed=3)
    c_pictures, _ = synth.render_arrays(5, seed=4)
    np.testing.assert_array_equal(a_pictures, b_pictures)
    np.testing.assert_array_equal(a_sound, b_sound)
    assert not np.array_equal(a_pictures, c_pictures)


def test_black_slots_are_silent_and_shapes_are_heard():
    pictures, sound = synth.render_arrays(20, seed=1)
    slots = len(pictures)
    rms = np.sqrt((sound[: slots * grid.SAMPLES_PER_SLOT].reshape(slots, -1) ** 2).mean(axis=1))
    lit = pictures.reshape(slots, -1).max(axis=1) > 0
    # Ignore slots next to an on/off change: the picture switches at slot edges, sound mid-slot.
    steady = lit == np.roll(lit, 1)
    steady &= lit == np.roll(lit, -1)
    assert rms[steady & ~lit].max() < 1e-6
    assert rms[steady & lit].min() > 0.05


def test_higher_shapes_sound_higher_and_bigger_shapes_louder():
    low = synth.Event("disc", 0, 1, height=0.1, size=0.1, x_from=0.5, x_to=0.5)
    high = synth.Event("disc", 0, 1, height=0.9, size=0.1, x_from=0.5, x_to=0.5)
    big = synth.Event("disc", 0, 1, height=0.1, size=0.2, x_from=0.5, x_to=0.5)

    def peak_hz(event):
        spectrum = np.abs(np.fft.rfft(synth.tone(event, grid.RATE_HZ)))
        return np.argmax(spectrum) * grid.RATE_HZ / (2 * (len(spectrum) - 1))

    assert peak_hz(high) > 2 * peak_hz(low)
    assert np.abs(synth.tone(big, grid.RATE_HZ)).max() > np.abs(synth.tone(low, grid.RATE_HZ)).max()
    assert synth.draw(big, 0.5).sum() > synth.draw(low, 0.5).sum()
