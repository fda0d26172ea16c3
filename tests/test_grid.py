import numpy as np

from bitmap2pcm.core import grid


def test_slots_in_covers_partial_slots_without_float_jitter():
    assert grid.slots_in(10.0) == 300
    assert grid.slots_in(10.01) == 301
    assert grid.slots_in(1001 / 30000 * 300) == 301
    assert grid.slots_in(0) == 0


def test_unit_mapping_round_trips_and_silence_is_half():
    samples = np.linspace(-1, 1, 11, dtype=np.float32)
    assert grid.pcm_to_unit(0.0) == 0.5
    np.testing.assert_allclose(grid.unit_to_pcm(grid.pcm_to_unit(samples)), samples, atol=1e-7)
