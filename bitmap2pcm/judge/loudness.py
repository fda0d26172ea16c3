"""Loudness in time: how far off is the render's loudness, does it move at all, and does it
answer the picture?

Pure functions over per-slot loudness in dB (`metrics.loudness_db`), PCM, or frames, one per
slot. Functions that compare take either one 1-D array (one segment) or a sequence of them
(the scored segments), and never shift or correlate across a segment's boundary; they reuse
`metrics`' loudness, Pearson r and circular-shift chance level. The truth comes first
(`truth, render`), unlike most of `metrics`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from ..core import grid
from ..data import history
from . import metrics

MAX_LAG_S = 2.0
FLAT_SPREAD_DB = 1.0  # a render whose per-slot loudness varies less than this is "flat"
MOTION_EPS = 1e-3  # added before the log: a still picture (no change at all) stays finite
# A slot "moves" when its picture differs from the one before by a mean of at least one gray
# level in 255 (a small object crossing a 64x64 picture does), and is "silent" below -60 dBFS
# (rendered sound that far down is not heard over any playback): the default brain must not
# be silent where the picture moves.
MOVING_MEAN_DIFF = 1.0 / 255.0
SILENT_DBFS = -60.0


# ---- loudness in time: lag and spread ---------------------------------------------------------

def loudness_spread_db(loudness_db) -> float:
    """How much per-slot loudness varies, dB: the standard deviation of every slot's
    loudness from the mean of its own segment (one segment: the plain std over slots).

    Within segments, because that is what `metrics.within_correlation` correlates: a render
    whose level differs only from clip to clip has nothing there to follow the picture with.
    nan without slots."""
    segments = metrics._segments(loudness_db)
    deviations = [x - x.mean() for x in segments if x.size]
    if not deviations:
        return float("nan")
    return float(np.sqrt(np.mean(np.concatenate(deviations) ** 2)))


def _is_flat_loudness(loudness_db, flat_spread_db: float = FLAT_SPREAD_DB) -> bool:
    return not loudness_spread_db(loudness_db) >= flat_spread_db  # no slots (nan) is flat too


def is_flat(render, flat_spread_db: float = FLAT_SPREAD_DB) -> bool:
    """Whether a render (PCM, one segment or several) is flat: its per-slot loudness
    (`metrics.loudness_db`) varies by less than `flat_spread_db` (1 dB, `loudness_spread_db`).

    A flat render has no loudness curve to correlate: its r would be the correlation of
    rounding noise or of ripples nobody hears, so it is reported as "flat", never as an r.
    """
    return _is_flat_loudness([metrics.loudness_db(x) for x in metrics._segments(render)], flat_spread_db)


def loudness_spread_ratio(truth, render) -> float:
    """The render's loudness spread over the truth's (`loudness_spread_db` of each's per-slot
    `metrics.loudness_db`, within segments; PCM in, one segment or several): 1 when the
    render's loudness swings as widely as the truth's, below 1 when it is too even, 0 when
    flat. A correlation cannot tell: it is the same for a curve and a tenth of it. inf when
    the truth alone is constant, nan when both are."""
    renders, truths = metrics._paired_segments(render, truth)
    spread_render = loudness_spread_db([metrics.loudness_db(x) for x in renders])
    spread_truth = loudness_spread_db([metrics.loudness_db(y) for y in truths])
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(spread_render) / np.float64(spread_truth))


def best_lag_s(truth_loudness_db, render_loudness_db, max_lag_s: float = MAX_LAG_S) -> tuple[float, float]:
    """(lag in s, r at it): the whole-slot shift within +-`max_lag_s` that maximises the
    correlation of per-slot loudness (dB), positive when the render is late.

    At lag L, slot t + L of the render is paired with slot t of the truth, within each
    segment (pairs that would cross its ends are left out), and r is
    `metrics.within_correlation` of those pairs: at L = 0 it is the r within of the report.
    Ties go to the smallest |L| (then the earlier). A render late by k slots peaks at
    k / grid.SLOTS_PER_SECOND s. (nan, nan) when the render is flat (`is_flat`: no r), or
    when no lag gives an r.
    """
    renders, truths = metrics._paired_segments(render_loudness_db, truth_loudness_db)
    if _is_flat_loudness(renders):
        return float("nan"), float("nan")
    max_lag = int(round(max_lag_s * grid.SLOTS_PER_SECOND))
    lags = sorted(range(-max_lag, max_lag + 1), key=lambda lag: (abs(lag), lag))
    best_lag, best_r = float("nan"), float("nan")
    for lag in lags:
        pairs = [(x[lag:], y[: y.size - lag]) if lag >= 0 else (x[:lag], y[-lag:])
                 for x, y in zip(renders, truths) if abs(lag) < x.size]
        if not pairs:
            continue
        r = metrics.within_correlation([p[0] for p in pairs], [p[1] for p in pairs])
        if not np.isnan(r) and (np.isnan(best_r) or r > best_r):
            best_lag, best_r = lag / grid.SLOTS_PER_SECOND, r
    return float(best_lag), float(best_r)


# ---- response to the picture, without the truth --------------------------------------------------

def _unit_frames(frames: np.ndarray) -> np.ndarray:
    """Frames as float64 in [0, 1] with one row per slot: uint8 is divided by 255 (floats are
    taken as already in [0, 1], as frames.pkl holds them); any picture shape is flattened."""
    frames = np.asarray(frames)
    scale = 1.0 / 255.0 if frames.dtype == np.uint8 else 1.0
    pixels = int(np.prod(frames.shape[1:]))
    return frames.reshape(frames.shape[0], pixels).astype(np.float64) * scale


def motion_energy(frames: np.ndarray, clip_starts: Sequence[int] = (0,)) -> np.ndarray:
    """Motion per slot: log(mean |f_t - f_(t-1)| + MOTION_EPS), pixels in [0, 1].

    `frames` is (slots, pixels) or (slots, height, width), uint8 or float in [0, 1]. The log,
    because loudness is in dB: twice the motion is then one step up whether the scene was
    calm or busy, as twice the power is 3 dB at any level. A clip's first slot has no
    previous frame: it takes the value of the slot after it (so every slot has a value and
    stays aligned with its loudness), or reads as still (log MOTION_EPS) when its clip is
    one frame long. `clip_starts` are the rows where a clip begins (row 0 always does): no
    difference crosses them.
    """
    f = _unit_frames(frames)
    count = f.shape[0]
    if count == 0:
        return np.zeros(0)
    previous = history.previous_rows(count, clip_starts)  # itself at a clip start: difference 0
    energy = np.log(np.abs(f - f[previous]).mean(axis=1) + MOTION_EPS)
    starts = np.flatnonzero(previous == np.arange(count))
    follows = starts + 1
    inside = (follows < count) & ~np.isin(follows, starts)  # the next row is in the same clip
    energy[starts[inside]] = energy[follows[inside]]
    return energy


def silent_while_moving(render_loudness_db: np.ndarray, frames: np.ndarray,
                        clip_starts: Sequence[int] = (0,)) -> float:
    """The share of the slots whose picture moves (`MOVING_MEAN_DIFF`) that the render
    leaves silent (below `SILENT_DBFS`); nan when no slot moves."""
    return _silent_share(render_loudness_db, motion_energy(frames, clip_starts))


def _silent_share(render_loudness_db: np.ndarray, motion: np.ndarray) -> float:
    """`silent_while_moving` from the slots' `motion_energy`."""
    moving = motion >= np.log(MOVING_MEAN_DIFF + MOTION_EPS)
    loudness = np.asarray(render_loudness_db, dtype=np.float64).reshape(-1)
    if loudness.size != moving.size:
        raise ValueError(f"{loudness.size} loudness values for {moving.size} frames")
    if not moving.any():
        return float("nan")
    return float(np.mean(loudness[moving] < SILENT_DBFS))


def brightness(frames: np.ndarray) -> np.ndarray:
    """Mean pixel of each frame, in [0, 1] (uint8 / 255); shape (slots,)."""
    return _unit_frames(frames).mean(axis=1)


@dataclass(frozen=True)
class PictureResponse:
    """How a render's loudness follows its own pictures: Pearson r (within segments) with
    motion energy and with brightness, each beside its chance level; for a flat render
    (`flat`) no r at all (nan), and `text` says "flat". `silent_moving`: the share of moving
    slots left silent (`silent_while_moving`), flat or not."""

    flat: bool
    spread_db: float
    silent_moving: float
    motion_r: float
    motion_chance: float
    brightness_r: float
    brightness_chance: float

    def text(self) -> str:
        """One line for a report: "flat", or each r with ">" or "<=" its chance level."""
        if self.flat:
            return f"flat (loudness spread {self.spread_db:.2f} dB)"

        def versus(r: float, chance: float) -> str:
            if np.isnan(r):
                return "-"
            return f"{r:.2f} {'>' if r > chance else '<='} {chance:.2f}"
        return (f"motion r {versus(self.motion_r, self.motion_chance)}, "
                f"brightness r {versus(self.brightness_r, self.brightness_chance)}")

    def as_dict(self) -> dict[str, float | bool | None]:
        """Plain JSON-ready values, nan as None."""
        return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(self).items()}


def _frame_segments(frames) -> list[np.ndarray]:
    """One array of frames (2-D or more) is one segment; otherwise each item is one."""
    if isinstance(frames, np.ndarray) and frames.ndim >= 2:
        return [frames]
    return [np.asarray(f) for f in frames]


def picture_response(render_loudness_db, frames, draws: int = metrics.CHANCE_DRAWS,
                     quantile: float = metrics.CHANCE_QUANTILE, seed: int = 0,
                     flat_spread_db: float = FLAT_SPREAD_DB) -> PictureResponse:
    """Does the render answer its picture? Needs no true sound track.

    r of the render's per-slot loudness (dB) with `motion_energy` and with `brightness` of
    the frames it was rendered from (one segment: a 1-D loudness and its frames; or equally
    long sequences of both), as `metrics.within_correlation`, each beside
    `metrics.chance_level` (the render circularly shifted within its segments: the same
    chance level as the report's r columns). A flat render (`flat_spread_db`) gets no r.
    """
    loudness = metrics._segments(render_loudness_db)
    frame_segments = _frame_segments(frames)
    if [x.size for x in loudness] != [len(f) for f in frame_segments]:
        raise ValueError(f"loudness covers {[x.size for x in loudness]} slots, "
                         f"frames {[len(f) for f in frame_segments]}")
    spread = loudness_spread_db(loudness)
    motion = [motion_energy(f) for f in frame_segments]  # each segment its own clip
    silent = _silent_share(np.concatenate(loudness), np.concatenate(motion))
    if _is_flat_loudness(loudness, flat_spread_db):
        return PictureResponse(True, spread, silent, *([float("nan")] * 4))
    values: list[float] = []
    for series in (motion, [brightness(f) for f in frame_segments]):
        values.append(metrics.within_correlation(loudness, series))
        values.append(metrics.chance_level(metrics.within_correlation, loudness, series,
                                           draws=draws, quantile=quantile, seed=seed))
    return PictureResponse(False, spread, silent, *values)


# ---- the motion baseline's pieces ------------------------------------------------------------------

def fit_motion_loudness(train_motion: np.ndarray, train_loudness_db: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line loudness_db = slope * motion + intercept
    over training slots (`motion_energy` of each clip's frames, joined, and their true
    `metrics.loudness_db`). The simplest picture-to-loudness model: a brain whose loudness
    follows the picture no better than this has learned no more than "motion is loud".
    Constant motion fits slope 0 and the mean loudness."""
    x = np.asarray(train_motion, dtype=np.float64).reshape(-1)
    y = np.asarray(train_loudness_db, dtype=np.float64).reshape(-1)
    if x.size != y.size or x.size == 0:
        raise ValueError(f"{x.size} motion values for {y.size} loudness values")
    dx = x - x.mean()
    spread = float(np.dot(dx, dx))
    slope = float(np.dot(dx, y - y.mean()) / spread) if spread > 0 else 0.0
    return slope, float(y.mean() - slope * x.mean())


def predict_motion_loudness(motion: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """Per-slot loudness (dB) the fitted line predicts for `motion` (`motion_energy`)."""
    return slope * np.asarray(motion, dtype=np.float64) + intercept
