"""metrics: click ratio, edge dip and loudness envelope on signals whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bitmap2pcm.judge import metrics

W = 735


def zigzag(n_slots: int, step: float = 0.01) -> np.ndarray:
    """Inside every slot the signal alternates +-step/2: every inner step is exactly `step`."""
    return np.tile(np.where(np.arange(W) % 2 == 0, step / 2, -step / 2), n_slots)


def test_click_ratio_is_edge_jump_over_inner_step():
    signal = zigzag(10)
    # Shift every other slot by 0.04: each edge now jumps by 0.04 +- the zigzag step.
    signal.reshape(10, W)[1::2] += 0.04
    # W is odd, so a slot ends on +step/2 and the next starts on +step/2: the edge step is
    # exactly 0.04 without the shift's sign mattering.
    assert metrics.click_ratio(signal) == pytest.approx(0.04 / 0.01)


def test_click_ratio_of_a_continuous_signal_is_about_one():
    t = np.arange(30 * W) / 22050
    assert metrics.click_ratio(np.sin(2 * np.pi * 97 * t)) == pytest.approx(1.0, abs=0.1)
    noise = np.random.default_rng(0).normal(0, 0.2, 30 * W)
    assert metrics.click_ratio(noise) == pytest.approx(1.0, abs=0.15)


def test_click_ratio_undefined_without_edges_or_inner_motion():
    assert math.isnan(metrics.click_ratio(np.ones(W)))
    steps = np.repeat([0.0, 1.0], W)  # still inside, one jump
    assert metrics.click_ratio(steps) == math.inf


def test_edge_dip_of_a_fade_at_every_edge():
    # The original's windowed variant: a Hann window per block fades to silence at each edge.
    blocks = np.random.default_rng(1).normal(0, 0.3, (20, W)) * np.hanning(W)
    assert metrics.edge_dip(blocks.reshape(-1)) < 0.1
    steady = np.random.default_rng(2).normal(0, 0.3, 20 * W)
    assert metrics.edge_dip(steady) == pytest.approx(1.0, abs=0.1)


def test_edge_dip_is_an_amplitude_ratio():
    # Constant magnitude 0.5 within 16 samples of each inner edge, 1.0 elsewhere.
    signal = np.ones(5 * W)
    for edge in metrics.inner_edges(signal.size):
        signal[edge - 16: edge + 16] = 0.5
    assert metrics.edge_dip(signal) == pytest.approx(0.5)
    assert metrics.edge_dip(signal, radius=8) == pytest.approx(0.5)
    assert math.isnan(metrics.edge_dip(np.ones(W)))


def test_slot_loudness_is_rms_per_slot_including_a_partial_last_slot():
    signal = np.concatenate([np.full(W, 0.5), -np.full(W, 0.25), np.full(100, 0.1)])
    assert metrics.slot_loudness(signal) == pytest.approx([0.5, 0.25, 0.1])
    assert metrics.slot_loudness(np.zeros(0)).shape == (0,)


def test_envelope_correlation():
    rng = np.random.default_rng(3)
    gains = np.repeat(rng.uniform(0.1, 1.0, 40), W)
    noise = rng.normal(0, 1, 40 * W)
    assert metrics.envelope_correlation(gains * noise, 0.5 * gains * noise) == pytest.approx(1.0)
    other = np.repeat(rng.uniform(0.1, 1.0, 40), W) * noise
    assert abs(metrics.envelope_correlation(gains * noise, other)) < 0.5
    with pytest.raises(ValueError):
        metrics.envelope_correlation(noise, noise[:-W])
    assert math.isnan(metrics.envelope_correlation(np.ones(3 * W), gains[: 3 * W]))
