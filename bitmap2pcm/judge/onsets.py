"""Event timing: are the render's events where the truth's are?

Pure functions over arrays on the slot grid (`grid`): PCM in [-1, 1] at `grid.RATE_HZ`. Like
`metrics`, functions that compare take either one 1-D array (one segment) or a sequence of
them (the scored segments, each contiguous in time), and never match or shift across a
segment's boundary. The field's measures are CondFoleyGen's onset accuracy and onset AP.

Argument order: these functions take the truth first (`truth, render`); most of `metrics`
takes `render, truth`. Pass them by keyword when in doubt.

Events are onsets on the slot grid, found by `sound.onsets.onset_slots` (its notes say how),
the same way for the truth and the render, and the same way a brain's onset targets are made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from ..core import grid
from ..sound.onsets import (  # noqa: F401  (the comparisons below are defined on these)
    HOPS_PER_SLOT,
    MIN_GAP_SLOTS,
    ONSET_DELTA_DB,
    ONSET_MADS,
    ONSET_WINDOW_SLOTS,
    TOLERANCE_SLOTS,
    candidate_slots,
    match_count,
    onset_match,
    onset_slots,
    onset_strength_slots,
    pick_peaks,
    pooled_f1,
    precision_recall_f1,
)
from . import metrics

MIN_SHIFT_S = 1.0  # event chance levels shift the render by at least this much


# ---- events: comparing onsets ---------------------------------------------------------------

def _average_precision(true_slots: np.ndarray, ranked_slots: np.ndarray, tolerance_slots: int) -> float:
    """Average precision of candidates `ranked_slots` (best first) at finding `true_slots`:
    a candidate is a hit when a true onset not yet matched lies within `tolerance_slots`
    (the nearest, the earlier of two as near, is then matched); sum of the precision at
    each hit over the number of true onsets. nan without true onsets."""
    t = np.sort(np.asarray(true_slots, dtype=np.int64).reshape(-1))
    if t.size == 0:
        return float("nan")
    c = np.asarray(ranked_slots, dtype=np.int64).reshape(-1)
    low = np.searchsorted(t, c - tolerance_slots, side="left")
    high = np.searchsorted(t, c + tolerance_slots, side="right")
    truths = t.tolist()
    used = [False] * t.size
    hits, total = 0, 0.0
    for rank in np.flatnonzero(high > low).tolist():  # a candidate with no true onset near misses
        slot = int(c[rank])
        free = [j for j in range(int(low[rank]), int(high[rank])) if not used[j]]
        if free:
            used[min(free, key=lambda j: (abs(truths[j] - slot), j))] = True
            hits += 1
            total += hits / (rank + 1)
    return float(total / t.size)


def onset_average_precision(true_slots: np.ndarray, strength_per_slot: np.ndarray,
                            tolerance_slots: int = TOLERANCE_SLOTS) -> float:
    """Average precision of the render's onset strengths at finding the true onsets.

    Candidates are `candidate_slots(strength_per_slot)` (every peak `onset_slots` would
    consider, before its adaptive threshold), ranked by strength, strongest first. Walking
    down the ranking, a candidate is a hit when it matches a not yet matched true onset
    within `tolerance_slots`; AP = sum of the precision at each hit / number of true onsets,
    so a true onset no candidate reaches counts as never retrieved. 1 when every true onset
    is found before any false one; independent of any threshold. nan without true onsets.
    """
    strength = np.asarray(strength_per_slot, dtype=np.float64).reshape(-1)
    candidates = candidate_slots(strength)
    ranked = candidates[np.argsort(-strength[candidates], kind="stable")]  # ties: earlier first
    return _average_precision(true_slots, ranked, tolerance_slots)


# ---- chance levels by circular shifts ------------------------------------------------------

def _shift_sets(sizes: Sequence[int], min_shift_slots: int, draws: int, seed: int) -> np.ndarray:
    """Circular shifts to try, one column per segment: every shift of at least
    `min_shift_slots` each way (min..n-min) when there is one segment and at most `draws`
    of them; otherwise `draws` rows of independent uniform shifts (seeded). A segment too
    short for such shifts takes any shift 1..n-1 (0 if it has fewer than 2 slots)."""
    ranges = []
    for n in sizes:
        low, high = (min_shift_slots, n - min_shift_slots) if n >= 2 * min_shift_slots else (1, n - 1)
        ranges.append((low, high) if high >= low else (0, 0))
    if len(sizes) == 1 and ranges[0][1] - ranges[0][0] + 1 <= draws:
        return np.arange(ranges[0][0], ranges[0][1] + 1)[:, None]
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(low, high + 1, size=draws) for low, high in ranges], axis=1)


def _quantiles(values: np.ndarray, quantile: float) -> np.ndarray:
    """Column-wise quantile ignoring nan; nan for a column with no value."""
    out = np.full(values.shape[1], np.nan)
    for column in range(values.shape[1]):
        v = values[:, column]
        v = v[~np.isnan(v)]
        if v.size:
            out[column] = np.quantile(v, quantile)
    return out


# ---- events: the scores of a render -----------------------------------------------------------

@dataclass(frozen=True)
class EventScores:
    """Onset scores of a render against the truth, each beside its chance level (the
    `quantile` of the same score over renders circularly shifted by at least MIN_SHIFT_S
    within their segments). Scores in [0, 1]; nan when the truth has no onsets."""

    precision: float
    recall: float
    f1: float
    ap: float
    precision_chance: float
    recall_chance: float
    f1_chance: float
    ap_chance: float
    true_onsets: int
    rendered_onsets: int

    def as_dict(self) -> dict[str, float | int | None]:
        """Plain JSON-ready values, nan as None."""
        return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(self).items()}


def _event_values(truths: np.ndarray, picked: np.ndarray, ranked: np.ndarray,
                  tolerance_slots: int) -> tuple[float, float, float, float]:
    """Precision, recall, F1 and AP of onsets on the segments' joint axis (`_joint_axis`)."""
    hits = match_count(truths, picked, tolerance_slots)
    precision, recall, f1 = precision_recall_f1(hits, truths.size, picked.size)
    return precision, recall, f1, _average_precision(truths, ranked, tolerance_slots)


def _joint_axis(sizes: Sequence[int], tolerance_slots: int) -> np.ndarray:
    """Where each segment starts on one axis holding them all, with more than the tolerance
    (and at least one slot) of empty axis between neighbours, so that matching on that axis
    never pairs onsets of different segments."""
    gaps = np.asarray(sizes, dtype=np.int64) + max(tolerance_slots, 0) + 1
    return np.concatenate([[0], np.cumsum(gaps)[:-1]]).astype(np.int64)


def _flatten(per_segment: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(segment index, slot) of every entry of per-segment slot arrays, segment by segment."""
    segment = np.repeat(np.arange(len(per_segment)), [np.size(p) for p in per_segment])
    slot = np.concatenate([np.asarray(p, dtype=np.int64).reshape(-1) for p in per_segment])
    return segment.astype(np.int64), slot


def event_scores(truth, render, tolerance_slots: int = TOLERANCE_SLOTS, min_shift_s: float = MIN_SHIFT_S,
                 draws: int = metrics.CHANCE_DRAWS, quantile: float = metrics.CHANCE_QUANTILE,
                 seed: int = 0) -> EventScores:
    """Precision, recall, F1 and AP of the render's onsets against the truth's, with chance.

    `truth` and `render` are PCM: one segment, or equally long sequences of segments. Onsets
    are found in each segment on its own (`onset_slots`) and matched only within it; the
    counts are then pooled (precision = all hits / all rendered onsets), and AP ranks every
    segment's candidates together. Chance levels move the render's onsets and candidates
    circularly within each segment by at least `min_shift_s` (shorter shifts would leave
    onsets within the tolerance of where they were), every such shift when there is one
    segment and at most `draws` of them, else `draws` seeded random ones, and take the
    `quantile` of each score. A score above its chance level says the onsets' timing, not
    merely their number, agrees with the truth.
    """
    renders, truths_pcm = metrics._paired_segments(render, truth)
    if not renders:
        raise ValueError("no segments to score")
    strengths = [onset_strength_slots(x) for x in renders]
    sizes = [s.size for s in strengths]
    starts = _joint_axis(sizes, tolerance_slots)
    true_segment, true_slot = _flatten([onset_slots(y) for y in truths_pcm])
    true_onsets = starts[true_segment] + true_slot
    picked_segment, picked_slot = _flatten([pick_peaks(s) for s in strengths])
    candidates = [candidate_slots(s) for s in strengths]
    segment_of, slot_of = _flatten(candidates)
    strength_of = np.concatenate([s[c] for s, c in zip(strengths, candidates)])
    # one ranking over every segment's candidates, strongest first (ties: earlier on the axis);
    # a shift moves candidates, never their strengths, so the ranking holds for every shift
    rank = np.lexsort((starts[segment_of] + slot_of, -strength_of))
    segment_of, slot_of = segment_of[rank], slot_of[rank]
    scores = _event_values(true_onsets, starts[picked_segment] + picked_slot,
                           starts[segment_of] + slot_of, tolerance_slots)

    min_shift_slots = max(1, int(round(min_shift_s * grid.SLOTS_PER_SECOND)))
    size_of = np.maximum(np.asarray(sizes, dtype=np.int64), 1)
    values = []
    for shifts in _shift_sets(sizes, min_shift_slots, draws, seed):
        shifts = np.asarray(shifts, dtype=np.int64)
        moved = starts[picked_segment] + (picked_slot + shifts[picked_segment]) % size_of[picked_segment]
        moved_ranked = starts[segment_of] + (slot_of + shifts[segment_of]) % size_of[segment_of]
        values.append(_event_values(true_onsets, moved, moved_ranked, tolerance_slots))
    chance = _quantiles(np.array(values, dtype=np.float64).reshape(-1, 4), quantile)
    return EventScores(*scores, *(float(c) for c in chance),
                       true_onsets=int(true_onsets.size), rendered_onsets=int(picked_slot.size))
