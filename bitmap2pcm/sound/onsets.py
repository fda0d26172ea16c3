"""Events in a sound: the slots where it has an onset.

Onsets are found on the slot grid by `onset_slots`, the same way for a brain's training
targets (`learn`) and for the judge (`judge.onsets`, which compares them):

- strength (`onset_strength_slots`): `bands.onset_strength` (half-wave-rectified spectral
  flux of 40 mel bands in dB, three 245-sample hops per slot) summed over each slot's three
  hops: how many dB the sound rose during the slot, averaged over bands;
- peaks (`pick_peaks`): a slot is an onset when its strength is a local maximum, exceeds
  ONSET_DELTA_DB, exceeds median + ONSET_MADS * MAD of the strengths within half
  ONSET_WINDOW_SLOTS either side (about 1 s in all), and no stronger onset lies within
  MIN_GAP_SLOTS - 1 slots.

Because each 1024-sample STFT frame sees 512 samples ahead of its centre, an onset lands up
to one slot before the slot its sound starts in; the truth and a render are measured the
same way, so the early slot cancels out of any comparison between them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core import grid
from . import bands

ONSET_WINDOW_SLOTS = grid.SLOTS_PER_SECOND  # the adaptive threshold looks 1 s around a slot
ONSET_MADS = 3.0  # threshold: local median + this many median absolute deviations
ONSET_DELTA_DB = 1.0  # ... plus this: no rise smaller than 1 dB is an event (rounding noise isn't)
MIN_GAP_SLOTS = 3  # onsets at least 3 slots (100 ms) apart; the stronger one stays
HOPS_PER_SLOT = grid.SAMPLES_PER_SLOT // bands.ONSET_HOP  # 3
TOLERANCE_SLOTS = 2  # an onset within 2 slots (67 ms) of a true one is on time
assert HOPS_PER_SLOT * bands.ONSET_HOP == grid.SAMPLES_PER_SLOT


def onset_strength_slots(samples: np.ndarray) -> np.ndarray:
    """Onset strength per slot, dB: `bands.onset_strength` summed over each slot's hops.

    A hop's strength is the mean over mel bands of how many dB each band rose since the hop
    before (rises only; falls count 0); the sum is the slot's total rise. Slot 0's first hop
    has nothing before it and counts 0, so a sound already playing when a segment starts is
    no onset. A trailing partial slot is padded with silence to a whole slot (which also keeps
    `bands.onset_strength` from framing past the end of its padding, as it does when its
    last hop holds fewer than half a hop of samples). Shape (whole or partial slots,), float64.
    """
    y = np.asarray(samples, dtype=np.float64).reshape(-1)
    whole = np.zeros(-(-y.size // grid.SAMPLES_PER_SLOT) * grid.SAMPLES_PER_SLOT)
    whole[: y.size] = y
    return bands.onset_strength(whole).reshape(-1, HOPS_PER_SLOT).sum(axis=1)  # 3 whole hops a slot


def _local_maxima(strength: np.ndarray) -> np.ndarray:
    """Slots whose strength rises from the slot before and does not fall to the slot after
    (so a plateau counts once, at its first slot); the ends compare with one neighbour."""
    s = np.asarray(strength, dtype=np.float64)
    if s.size == 0:
        return np.zeros(0, dtype=np.int64)
    left = np.concatenate([[-np.inf], s[:-1]])
    right = np.concatenate([s[1:], [-np.inf]])
    return np.flatnonzero((s > left) & (s >= right))


def _enforce_gap(slots: np.ndarray, strength: np.ndarray, min_gap_slots: int) -> np.ndarray:
    """Keep the strongest of `slots` first, then each next strongest at least `min_gap_slots`
    from every kept one (ties: the earlier slot wins). Returns the kept slots, sorted."""
    order = slots[np.argsort(-strength[slots], kind="stable")]
    taken = np.zeros(strength.size, dtype=bool)  # slots within the gap of a kept onset
    kept = []
    for slot in order:
        if not taken[slot]:
            kept.append(slot)
            taken[max(0, slot - min_gap_slots + 1): slot + min_gap_slots] = True
    return np.sort(np.array(kept, dtype=np.int64))


def candidate_slots(strength: np.ndarray, delta_db: float = ONSET_DELTA_DB,
                    min_gap_slots: int = MIN_GAP_SLOTS) -> np.ndarray:
    """Every slot that could be an onset, before the adaptive threshold: local maxima of
    `strength` above `delta_db`, thinned to `min_gap_slots`. What average precision ranks."""
    s = np.asarray(strength, dtype=np.float64).reshape(-1)
    peaks = _local_maxima(s)
    return _enforce_gap(peaks[s[peaks] > delta_db], s, min_gap_slots)


def pick_peaks(strength: np.ndarray, window_slots: int = ONSET_WINDOW_SLOTS, mads: float = ONSET_MADS,
               delta_db: float = ONSET_DELTA_DB, min_gap_slots: int = MIN_GAP_SLOTS) -> np.ndarray:
    """Onset slots of a strength curve: local maxima above an adaptive threshold, thinned.

    The threshold of slot i is median + `mads` * MAD + `delta_db` over the strengths of slots
    i - window_slots/2 .. i + window_slots/2 (fewer at the ends). Median and MAD rather than
    mean and standard deviation, so that the onsets themselves do not raise the bar: in a
    second of silence with two clicks both stay far above it. Then `min_gap_slots` as in
    `candidate_slots`. Returns sorted int64 slot indices.
    """
    s = np.asarray(strength, dtype=np.float64).reshape(-1)
    peaks = _local_maxima(s)
    peaks = peaks[s[peaks] > delta_db]
    if peaks.size:
        half = window_slots // 2
        padded = np.concatenate([np.full(half, np.nan), s, np.full(half, np.nan)])
        windows = padded[peaks[:, None] + np.arange(2 * half + 1)[None, :]]
        median = np.nanmedian(windows, axis=1)
        mad = np.nanmedian(np.abs(windows - median[:, None]), axis=1)
        peaks = peaks[s[peaks] > median + mads * mad + delta_db]
    return _enforce_gap(peaks, s, min_gap_slots)


def onset_slots(samples: np.ndarray) -> np.ndarray:
    """The slots where a segment's sound has an onset: `pick_peaks(onset_strength_slots(x))`
    with the module's parameters (see the module notes). Sorted int64."""
    return pick_peaks(onset_strength_slots(samples))


# ---- comparing onsets: the judge's, and the cue brain's calibration -------------------------

def match_count(true_slots: np.ndarray, rendered_slots: np.ndarray, tolerance_slots: int) -> int:
    """Pairs of a one-to-one matching within `tolerance_slots`, greedy by distance: the
    closest pair first (ties: earlier true, then earlier rendered), each onset used once."""
    t = np.sort(np.asarray(true_slots, dtype=np.int64).reshape(-1))
    r = np.sort(np.asarray(rendered_slots, dtype=np.int64).reshape(-1))
    if t.size == 0 or r.size == 0:
        return 0
    # every pair within the tolerance, found by bisection: O(onsets), not O(true x rendered)
    low = np.searchsorted(r, t - tolerance_slots, side="left")
    high = np.searchsorted(r, t + tolerance_slots, side="right")
    counts = high - low
    ti = np.repeat(np.arange(t.size), counts)
    ri = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(low, counts)
    order = np.lexsort((ri, ti, np.abs(t[ti] - r[ri])))
    used_t = np.zeros(t.size, dtype=bool)
    used_r = np.zeros(r.size, dtype=bool)
    count = 0
    for i, j in zip(ti[order].tolist(), ri[order].tolist()):
        if not used_t[i] and not used_r[j]:
            used_t[i] = used_r[j] = True
            count += 1
    return count


def precision_recall_f1(hits: int, n_true: int, n_rendered: int) -> tuple[float, float, float]:
    """Precision, recall, F1 from counts. No true onsets: nothing to find, all nan. No
    rendered onsets (but true ones): 0, 0, 0, as mir_eval counts it."""
    if n_true == 0:
        return float("nan"), float("nan"), float("nan")
    precision = hits / n_rendered if n_rendered else 0.0
    recall = hits / n_true
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return float(precision), float(recall), float(f1)


def onset_match(true_slots: np.ndarray, rendered_slots: np.ndarray,
                tolerance_slots: int = TOLERANCE_SLOTS) -> tuple[float, float, float]:
    """(precision, recall, F1) of the rendered onsets against the true ones, one segment.

    A rendered onset is a hit when it is paired with a true onset at most `tolerance_slots`
    away, in a one-to-one matching built greedily by distance, so one true onset cannot
    excuse two rendered ones. Precision = hits / rendered, recall = hits / true. nan when
    there are no true onsets; 0 for precision when there are no rendered ones.
    """
    hits = match_count(true_slots, rendered_slots, tolerance_slots)
    return precision_recall_f1(hits, np.size(true_slots), np.size(rendered_slots))


def pooled_f1(true_slots: Sequence[np.ndarray], found_slots: Sequence[np.ndarray],
              tolerance_slots: int = TOLERANCE_SLOTS) -> float:
    """Onset F1 of several segments taken together (each segment's true and found onsets,
    matched within the segment as `onset_match` does): 2 hits / (found + true); 0 when there
    are neither."""
    hits = sum(match_count(t, f, tolerance_slots) for t, f in zip(true_slots, found_slots))
    total = sum(np.size(t) for t in true_slots) + sum(np.size(f) for f in found_slots)
    return 2.0 * hits / total if total else 0.0

