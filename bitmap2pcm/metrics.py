"""Measures of a rendered sound track on the slot grid: pure functions over PCM arrays.

Every function takes `samples`, a 1-D array of PCM in [-1, 1] at `grid.RATE_HZ`, where slot i
is `samples[735*i : 735*(i+1)]` (the grid contract, SPEC §3). Nothing here reads files or
keeps state, so tests, benchmarks and later reports all measure the same way.

Slot edges are where one predicted block meets the next; they are where the original render's
defects live (a jump at every edge is a click 30 times a second: the 30 Hz buzz). An "inner
edge" is the first sample of every slot but the first.
"""

from __future__ import annotations

import numpy as np

from . import grid

EDGE_RADIUS = 16  # samples either side of an edge or centre: 32 samples, about 1.5 ms


def inner_edges(n_samples: int, samples_per_slot: int = grid.SAMPLES_PER_SLOT) -> np.ndarray:
    """Indices of the first sample of every slot except the first, for `n_samples` samples."""
    return np.arange(samples_per_slot, n_samples, samples_per_slot)


def click_ratio(samples: np.ndarray, samples_per_slot: int = grid.SAMPLES_PER_SLOT) -> float:
    """How much larger the sample-to-sample step is across slot edges than inside slots.

    Median of |y[e] - y[e-1]| over inner edges e, divided by the median of |y[n] - y[n-1]|
    over every other n. Dimensionless: about 1 means an edge looks like any other instant;
    the raw join of a real brain's blocks is often several times 1. Returns nan when there is
    no inner edge (fewer than two slots), inf when the inside is perfectly still but an edge
    jumps.
    """
    y = np.asarray(samples, dtype=np.float64).reshape(-1)
    edges = inner_edges(y.size, samples_per_slot)
    if edges.size == 0:
        return float("nan")
    steps = np.abs(np.diff(y))  # steps[n-1] = |y[n] - y[n-1]|
    at_edge = np.zeros(steps.size, dtype=bool)
    at_edge[edges - 1] = True
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.median(steps[at_edge]) / np.median(steps[~at_edge]))


def edge_dip(samples: np.ndarray, radius: int = EDGE_RADIUS,
             samples_per_slot: int = grid.SAMPLES_PER_SLOT) -> float:
    """Loudness around slot edges over loudness around slot centres.

    RMS of all samples within `radius` samples of an inner edge (2*radius samples per edge:
    [e - radius, e + radius)), divided by the RMS of the same-sized windows around every
    complete slot's centre. Dimensionless amplitude ratio: 1 means steady loudness; below 1 the
    join fades towards silence at every edge (a 30 Hz tremolo), above 1 it swells there.
    Returns nan without an inner edge, or when both are silent.
    """
    y = np.asarray(samples, dtype=np.float64).reshape(-1)
    edges = inner_edges(y.size, samples_per_slot)
    n_full = y.size // samples_per_slot
    if edges.size == 0 or n_full == 0:
        return float("nan")
    offsets = np.arange(-radius, radius)
    edge_windows = np.clip(edges[:, None] + offsets, 0, y.size - 1)
    centres = np.arange(n_full) * samples_per_slot + samples_per_slot // 2
    centre_windows = centres[:, None] + offsets
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sqrt(np.mean(y[edge_windows] ** 2) / np.mean(y[centre_windows] ** 2)))


def slot_loudness(samples: np.ndarray, samples_per_slot: int = grid.SAMPLES_PER_SLOT) -> np.ndarray:
    """Per-slot loudness envelope: the RMS of each slot's samples, linear full scale (1 = 0 dBFS).

    Returns float64 of shape (ceil(n / samples_per_slot),); a trailing partial slot is measured
    over the samples it has.
    """
    y = np.asarray(samples, dtype=np.float64).reshape(-1)
    n_slots = -(-y.size // samples_per_slot)
    padded = np.zeros(n_slots * samples_per_slot)
    padded[: y.size] = y
    counts = np.full(n_slots, samples_per_slot, dtype=np.float64)
    if n_slots and y.size % samples_per_slot:
        counts[-1] = y.size % samples_per_slot
    return np.sqrt((padded.reshape(n_slots, samples_per_slot) ** 2).sum(axis=1) / counts)


def envelope_correlation(a: np.ndarray, b: np.ndarray,
                         samples_per_slot: int = grid.SAMPLES_PER_SLOT) -> float:
    """Pearson correlation of two renders' per-slot loudness envelopes (`slot_loudness`).

    Dimensionless, in [-1, 1]: 1 means the two rise and fall together slot by slot, which is
    how a join is checked to keep the events of the blocks it joins on time and in proportion.
    The renders must cover the same number of slots; nan if either envelope is constant.
    """
    envelope_a = slot_loudness(a, samples_per_slot)
    envelope_b = slot_loudness(b, samples_per_slot)
    if envelope_a.shape != envelope_b.shape:
        raise ValueError(f"renders cover {envelope_a.size} and {envelope_b.size} slots")
    if envelope_a.size < 2 or np.ptp(envelope_a) == 0 or np.ptp(envelope_b) == 0:
        return float("nan")
    return float(np.corrcoef(envelope_a, envelope_b)[0, 1])
