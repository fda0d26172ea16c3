"""Joining predicted blocks into one sound track: the original's raw join and a smooth one.

A brain predicts every slot's 735 samples on its own, so each block starts and ends at an
arbitrary value. Joined end to end ("raw", the 2015 behaviour) every edge is a jump: a click
30 times a second, heard as a 30 Hz buzz with its harmonics.

"smooth" crossfades across every edge instead, over `crossfade` samples centred on it
(default 128 samples, 5.8 ms at 22050 Hz; the rest of each block, 607 of 735 samples, is
untouched, so events stay where the brain put them, to within 64 samples = 2.9 ms).

A crossfade needs both blocks on both sides of the edge, but a block has no samples beyond
its own slot, so each is continued past its edge by linear prediction, as packet-loss
concealment does: an order-16 predictor fitted to the block (autocorrelation method, so the
predictor is always stable) carries its tones and slow movements on with their phase, and is
driven by the block's own prediction residual, mirrored at the edge, so that noise-like
content keeps its power instead of dying away. The incoming block is continued backwards in
time the same way (an autocorrelation predictor serves both directions). Simpler
continuations fail on tones: mirroring a block about its edge reverses the tone's slope there
and, crossfaded, dips a repeated tone to a third of its level.

Loudness must stay steady through the crossfade: a fade to silence at every edge would be a
30 Hz tremolo, trading one buzz for another. Equal-gain fades (gains summing to 1) keep the
level of correlated signals but dip by 3 dB on uncorrelated ones; equal-power fades (squares
summing to 1) do the reverse. Which one is right depends on the two signals, so each edge
measures the correlation r of the two continued blocks over the crossfade and uses the
power-preserving crossfade for that r (R. Bristow-Johnson's even/odd construction): gains
g_in = e + o and g_out = e - o, with o(t) an odd S-curve from -1/2 to 1/2 and
e(t) = sqrt((1 - 2 (1 - r) o^2) / (2 (1 + r))), so that g_in^2 + g_out^2 + 2 r g_in g_out = 1
throughout: the expected power of the mix equals that of the blocks whatever their correlation.

Both joins stream: `push` takes each batch of blocks as it comes and returns the samples that
are final, `finish` returns the rest, and the concatenation equals `join_all` of all blocks.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..core import grid

DEFAULT_CROSSFADE = 128  # samples across each edge, 64 on each side
# Blocks often carry the same tone out of phase (r near -0.5 for 120 degrees): keeping their
# power means lifting both a little (gains up to 1.15 at r = -0.5). Further down the gains
# grow without bound, so correlations are clipped here and the rest is allowed to cancel.
LOWEST_CORRELATION = -0.5
PREDICTOR_ORDER = 16  # enough for a handful of resonances; cheap to fit 30 times a second
PREDICTOR_FIT = grid.SAMPLES_PER_SLOT  # samples before an edge the predictor learns from


def crossfade_gains(correlation: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Fade-out and fade-in gains over `length` samples that keep the power of the mix.

    `correlation` holds one value per crossfade (shape (m,)); returns (g_out, g_in), each of
    shape (m, length), dimensionless float64. The odd part o is the smooth S-curve
    9/16 sin(pi t/2) + 1/16 sin(3 pi t/2) on t in (-1, 1), flat at both ends, so the gains join
    the untouched samples without a kink. For r >= 0 no gain exceeds 1; for r < 0 keeping the
    power takes gains above 1 (1.15 at most at r = -0.5), and correlations below
    LOWEST_CORRELATION are clipped to it, so strongly opposed signals partly cancel at the
    very edge instead of being amplified without bound.
    """
    r = np.clip(np.asarray(correlation, dtype=np.float64), LOWEST_CORRELATION, 1.0)[:, None]
    t = (np.arange(length) + 0.5) / (length / 2.0) - 1.0  # sample centres, symmetric about 0
    odd = 9.0 / 16.0 * np.sin(np.pi / 2.0 * t) + 1.0 / 16.0 * np.sin(1.5 * np.pi * t)
    even = np.sqrt((1.0 - 2.0 * (1.0 - r) * odd**2) / (2.0 * (1.0 + r)))
    return even - odd, even + odd


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise normalised correlation sum(a b) / sqrt(sum(a^2) sum(b^2)), about zero, not the
    mean: a shared offset is shared power. Silent rows count as fully correlated (r = 1, an
    equal-gain fade), which is the plain fade between silence and sound."""
    norms = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    dots = (a * b).sum(axis=1)
    return np.divide(dots, norms, out=np.ones_like(dots), where=norms > 0)


def predictor(blocks: np.ndarray, order: int = PREDICTOR_ORDER) -> np.ndarray:
    """Linear-prediction coefficients of each row, shape (n, order + 1), a[:, 0] = 1.

    The prediction of sample x[t] is -sum_k a[k] x[t - k], k = 1..order. Autocorrelation
    method on a Hann-windowed row, solved by Levinson-Durbin: every reflection coefficient
    stays inside (-1, 1), so the predictor is stable and a continuation cannot blow up. A tiny
    white-noise floor (1e-9 of the power) keeps near-silent or pure-tone rows well posed.
    """
    windowed = np.asarray(blocks, dtype=np.float64) * np.hanning(np.shape(blocks)[1])
    n, width = windowed.shape
    padded = np.zeros((n, width + order))
    padded[:, :width] = windowed
    lagged = sliding_window_view(padded, order + 1, axis=1)[:, :width]  # [t, k] = x[t + k]
    autocorrelation = np.einsum("nt,ntk->nk", windowed, lagged, optimize=True)
    autocorrelation[:, 0] = autocorrelation[:, 0] * (1.0 + 1e-9) + 1e-20
    a = np.zeros((n, order + 1))
    a[:, 0] = 1.0
    error = autocorrelation[:, 0].copy()
    for i in range(1, order + 1):
        reflection = -(a[:, :i] * autocorrelation[:, i:0:-1]).sum(axis=1) / error
        a[:, : i + 1] += reflection[:, None] * a[:, i::-1]
        error *= 1.0 - reflection**2
    return a


def continue_rows(rows: np.ndarray, count: int, order: int = PREDICTOR_ORDER,
                  fit: int = PREDICTOR_FIT) -> np.ndarray:
    """Continue each row `count` samples past its end; returns (n, count) float64.

    The predictor is fitted to the row's last `fit` samples only: what matters is how the
    sound goes just before the edge, and a short fit is cheap. Each new sample is the
    prediction from the samples before it plus the row's own prediction residual read
    backwards from the end (the residual mirrored about the last sample, which is not
    repeated), so a tone goes on in phase and noise goes on as loud as it was. `count` must
    be at most min(width, fit) - order - 1.
    """
    rows = np.asarray(rows, dtype=np.float64)[:, -fit:]
    n, width = rows.shape
    if count > width - order - 1:
        raise ValueError(f"cannot continue {width}-sample rows by {count} samples")
    a = predictor(rows, order)
    # Residual e[t] = sum_k a[k] x[t - k], needed only for the last count + 1 samples.
    span = rows[:, width - count - 1 - order:]
    residual = span[:, order:].copy()
    for k in range(1, order + 1):
        residual += a[:, k: k + 1] * span[:, order - k: span.shape[1] - k]
    history = np.empty((n, order + count))
    history[:, :order] = rows[:, width - order:]
    taps = a[:, :0:-1]  # a[order] ... a[1], aligned with history oldest ... newest
    for step in range(count):
        prediction = -(taps * history[:, step: step + order]).sum(axis=1)
        history[:, order + step] = prediction + residual[:, -2 - step]
    return history[:, order:]


def smooth_join(blocks: np.ndarray, crossfade: int = DEFAULT_CROSSFADE) -> np.ndarray:
    """Join (n, w) blocks of PCM into n*w samples, crossfading over `crossfade` samples at
    each of the n-1 inner edges (see the module notes). The start of the first block and the
    end of the last are untouched. float32; `crossfade` must be even and at most w/2 (so a
    block's two crossfades never meet and its predictor has samples to learn from); 0 gives
    the raw join.
    """
    blocks = np.asarray(blocks, dtype=np.float32)
    n, width = blocks.shape
    if crossfade % 2 or not 0 <= crossfade <= width // 2:
        raise ValueError(f"crossfade must be an even number of samples in [0, {width // 2}]")
    joined = blocks.copy()
    half = crossfade // 2
    if n < 2 or half == 0:
        return joined.reshape(-1)
    before = blocks[:-1].astype(np.float64)
    after = blocks[1:].astype(np.float64)
    # Across each edge: the outgoing block's last `half` samples and its continuation; the
    # incoming block's continuation backwards in time and its first `half` samples.
    outgoing = np.concatenate([before[:, width - half:], continue_rows(before, half)], axis=1)
    incoming = np.concatenate([continue_rows(after[:, ::-1], half)[:, ::-1], after[:, :half]], axis=1)
    g_out, g_in = crossfade_gains(_correlation(outgoing, incoming), crossfade)
    mixed = g_out * outgoing + g_in * incoming
    joined[:-1, width - half:] = mixed[:, :half]
    joined[1:, :half] = mixed[:, half:]
    return joined.reshape(-1)


def raw_join(blocks: np.ndarray) -> np.ndarray:
    """The original's join: blocks end to end, nothing else (float32, n*w samples)."""
    return np.asarray(blocks, dtype=np.float32).reshape(-1)


class RawJoin:
    """Streaming raw join: every pushed block is final at once."""

    def push(self, blocks: np.ndarray) -> np.ndarray:
        return raw_join(blocks)

    def finish(self) -> np.ndarray:
        return np.zeros(0, dtype=np.float32)


class SmoothJoin:
    """Streaming `smooth_join`: a block is final once its successor is known.

    Holds the last block pushed (not yet final) and the one before it (its left context), so
    memory stays at two blocks whatever the length.
    """

    def __init__(self, crossfade: int = DEFAULT_CROSSFADE):
        smooth_join(np.zeros((1, grid.SAMPLES_PER_SLOT), np.float32), crossfade)  # validate early
        self.crossfade = crossfade
        self._context: np.ndarray | None = None  # final block before the pending one
        self._pending: np.ndarray | None = None

    def _held(self) -> list[np.ndarray]:
        return [b[None] for b in (self._context, self._pending) if b is not None]

    def push(self, blocks: np.ndarray) -> np.ndarray:
        blocks = np.asarray(blocks, dtype=np.float32)
        if len(blocks) == 0:
            return np.zeros(0, dtype=np.float32)
        skip = 1 if self._context is not None else 0  # the context block was given out already
        work = np.concatenate(self._held() + [blocks])
        joined = smooth_join(work, self.crossfade).reshape(work.shape)
        self._context = work[-2] if len(work) >= 2 else None
        self._pending = work[-1]
        return joined[skip:-1].reshape(-1)

    def finish(self) -> np.ndarray:
        if self._pending is None:
            return np.zeros(0, dtype=np.float32)
        last = smooth_join(np.concatenate(self._held()), self.crossfade)[-self._pending.size:]
        self._context = self._pending = None
        return last


JOINS = {"raw": RawJoin, "smooth": SmoothJoin}


def join_all(blocks: np.ndarray, mode: str) -> np.ndarray:
    """Join a whole (n, w) array at once with the named join ("raw" or "smooth")."""
    if mode == "raw":
        return raw_join(blocks)
    if mode == "smooth":
        return smooth_join(blocks)
    raise ValueError(f"unknown join mode {mode!r} (choose {', '.join(JOINS)})")
