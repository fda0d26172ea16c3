"""Eigen-frame inputs (the original author's "Eigen-faces style of operation ... the bitmaps'
PCA components"): the network sees a frame's first K principal-component coefficients instead
of its pixels (theanet.py --eigen-frames K).

The components are fitted on training rows only (never the held-out tails, nor the validation
rows: see learn/pairs.run_layout) and stored in the brain's input record, so render projects
a new video's frames with the same mean, components and scale:

    c_j = (f - mean) . v_j                           coefficient of component j, pixel units
    u_j = clip(1/2 + c_j * scale_j, 0, 1)            what the input unit sees
    scale_j = 1 / (2 * CLIP_SIGMAS * sigma_j)        sigma_j: spread of c_j on the fitted rows

Why a linear map, clipped at +-CLIP_SIGMAS standard deviations: the RBM's visible units need
values in [0, 1]; inside the band, where nearly all of a coefficient's values lie (0.1% fell
outside on random frames), u is an affine function of the projection, so the first layer
weighs coefficients as a pixel brain weighs pixels. A logistic squash would bend every value,
and mapping each coefficient's training range onto [0, 1] would let one unusual frame (a cut,
a flash) squeeze all the others into a sliver. Components the fitted rows give no spread
(fewer distinct frames than K) are zero and read 1/2.

Fitting is the SVD of the centred fitted rows, X = U S V^T: the components are the first K
rows of V^T and sigma_j = s_j / sqrt(m). X is a random subset of SUBSET_ROWS of the rows given
(all of them when there are fewer; K when K is more), so the fit costs the same for any
length of video: 5 s on 2048 gray frames, 11 s on 2048 colour ones (2 cores, K 256). Only that
subset is copied; projecting runs CHUNK_ROWS rows at a time, so a 2-hour video's frames are
never copied whole.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import numpy as np

from ..core.errors import UserError
from .layout import InputLayout

log = logging.getLogger("bitmap2pcm")

SUBSET_ROWS = 2048      # rows the components are fitted on (68 s of video), for any length
CLIP_SIGMAS = 3.0       # +-3 sigma of a coefficient maps onto [0, 1]
RANK_TOLERANCE = 1e-5   # singular values below this fraction of the largest are rounding noise
CHUNK_ROWS = 2048       # rows projected at a time: bounds the temporaries
KEY = "eigen_frames"    # the fit's entry in a brain's input record
NAME = "eigen-frames"


class EigenFit(NamedTuple):
    """A fit: mean frame (pixels,), components (K, pixels) with orthonormal rows (or zero
    ones), and each coefficient's scale onto [0, 1] (K,); all float32."""

    mean: np.ndarray
    components: np.ndarray
    scale: np.ndarray


def fit(frames: np.ndarray, k: int, rows: np.ndarray, rng: np.random.Generator) -> EigenFit:
    """The first `k` principal components of `frames[rows]` (rows float32 in [0, 1]), fitted
    on a random subset of at most max(SUBSET_ROWS, k) of those rows (see the module notes)."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        raise ValueError("no rows to fit eigen-frames on")
    count = min(len(rows), max(SUBSET_ROWS, k))
    subset = np.asarray(frames[np.sort(rng.choice(rows, count, replace=False))], dtype=np.float32)
    mean = subset.mean(axis=0, dtype=np.float64).astype(np.float32)
    subset -= mean
    _, singular, right = np.linalg.svd(subset, full_matrices=False)
    # Components past the subset's rank have no spread to describe: they stay zero and read 1/2.
    kept = min(k, int((singular > RANK_TOLERANCE * singular[0]).sum()) if singular[0] > 0 else 0)
    if kept < k:
        log.warning("the fitted frames span only %d dimensions: %d of the %d eigen-frame inputs "
                    "stay at 1/2", kept, k - kept, k)
    components = np.zeros((k, subset.shape[1]), np.float32)
    components[:kept] = right[:kept]
    scale = np.zeros(k, np.float32)
    scale[:kept] = 1.0 / (2.0 * CLIP_SIGMAS * singular[:kept] / np.sqrt(count))
    return EigenFit(mean, components, scale)


def coefficients(frames: np.ndarray, fit: EigenFit) -> np.ndarray:
    """c = (f - mean) . v_j of each frame (n, pixels) and component: (n, K) float32."""
    offset = fit.mean @ fit.components.T
    return np.asarray(frames, dtype=np.float32) @ fit.components.T - offset


def project(frames: np.ndarray, fit: EigenFit) -> np.ndarray:
    """The eigen-frame inputs u of frames (n, pixels), (n, K) float32 in [0, 1], built
    CHUNK_ROWS rows at a time (the one definition training and render share)."""
    out = np.empty((len(frames), len(fit.scale)), np.float32)
    for start in range(0, len(frames), CHUNK_ROWS):
        block = coefficients(frames[start:start + CHUNK_ROWS], fit)
        block *= fit.scale
        block += np.float32(0.5)
        np.clip(block, 0.0, 1.0, out=out[start:start + len(block)])
    return out


def fit_of(convention: dict[str, Any]) -> EigenFit | None:
    """The fit a brain's input record holds, or None when it has none; ValueError says what
    is wrong with a malformed one."""
    record = convention.get(KEY)
    if record is None:
        return None
    if not isinstance(record, dict) or not all(
            isinstance(record.get(name), np.ndarray) for name in EigenFit._fields):
        raise ValueError(f"its {KEY} entry lacks the arrays {', '.join(EigenFit._fields)}")
    mean, components, scale = (np.asarray(record[name], dtype=np.float32) for name in EigenFit._fields)
    if components.ndim != 2 or mean.shape != components.shape[1:] or scale.shape != components.shape[:1]:
        raise ValueError(f"its {KEY} arrays disagree in shape (mean {mean.shape}, components "
                         f"{components.shape}, scale {scale.shape})")
    return EigenFit(mean, components, scale)


class ProjectionStream:
    """Eigen-frame inputs for a stream of frame batches: each batch's rows are its own
    frames' projections, nothing is held back."""

    def __init__(self, eigen_fit: EigenFit):
        self.fit = eigen_fit

    def push(self, frames: np.ndarray) -> np.ndarray:
        return project(frames, self.fit)

    def finish(self) -> np.ndarray:
        return np.empty((0, len(self.fit.scale)), np.float32)


class EigenFrames(InputLayout):
    """Each frame's first `k` principal-component inputs (theanet.py --eigen-frames K); the
    layout is `fitted` on the training rows before it makes rows."""

    name = NAME
    chosen_by_name = False

    def __init__(self, k: int, eigen_fit: EigenFit | None = None) -> None:
        self.k = k
        self.fit = eigen_fit

    def units(self, pixels: int) -> int:
        del pixels
        return self.k

    def what(self, pixels: int) -> str:
        return f"{self.k} eigen-frame coefficients of each {pixels}-value frame"

    def option(self) -> str:
        return f"--eigen-frames {self.k}"

    def fitted(self, frames: np.ndarray, train_rows: np.ndarray, rng: np.random.Generator) -> "EigenFrames":
        log.info("fitting %d eigen-frames on %d of the %d training rows", self.k,
                 min(len(train_rows), max(SUBSET_ROWS, self.k)), len(train_rows))
        return EigenFrames(self.k, fit(frames, self.k, train_rows, rng))

    def _fit(self) -> EigenFit:
        if self.fit is None:
            raise ValueError("eigen-frames are used before they are fitted")
        return self.fit

    def rows(self, frames: np.ndarray, clip_starts: list[int]) -> np.ndarray:
        del clip_starts
        log.info("projecting each frame onto %d eigen-frames", self.k)
        return project(frames, self._fit())

    def stream(self) -> ProjectionStream:
        return ProjectionStream(self._fit())

    def convention(self, picture: dict[str, Any]) -> dict[str, Any]:
        """The picture with the fit recorded, as numpy arrays (the brain's restricted
        unpickler reads them)."""
        eigen_fit = self._fit()
        return dict(picture, layout=NAME, **{KEY: {
            "mean": eigen_fit.mean, "components": eigen_fit.components, "scale": eigen_fit.scale,
            "mapping": f"u = clip(1/2 + ((f - mean) . component) * scale, 0, 1); scale = 1 / "
                       f"({2 * CLIP_SIGMAS:g} sigma) of the fitted training rows",
        }})

    @classmethod
    def from_convention(cls, record: dict[str, Any], pixels: int, source: str) -> "EigenFrames":
        try:
            eigen_fit = fit_of(record)
        except ValueError as error:
            raise UserError(f"{source}: brain's eigen-frame fit is unusable: {error}") from None
        if eigen_fit is None:
            raise UserError(f"{source}: brain's eigen-frame layout lacks its fit; retrain it")
        if eigen_fit.mean.shape[0] != pixels:
            raise UserError(f"{source}: brain's eigen-frames are fitted to frames of "
                            f"{eigen_fit.mean.shape[0]} values, but its picture convention makes "
                            f"frames of {pixels}")
        return cls(len(eigen_fit.scale), eigen_fit)
