"""Plateaus and escape times of learning curves: sequential learning of principal components.

Refinetti & Goldt (ICML 2022, sec. 3.1): from small initial weights the error of a shallow
autoencoder sits on plateaus at the PCA errors of rank 0, 1, 2, ... (the saddles where the
network has learned the leading components in order of decreasing eigenvalue) and escapes
each one when the next component has grown out of its initial overlap.

Detection reads only the curve, never the PCA levels (so that comparing the two is a test):
with s = ln(error), a time is *flat* where the descent rate -ds/dt is below ``flatness`` times
the steepest rate of the curve; a plateau is a run of flat times at least ``min_duration`` long,
its level the error where the descent is slowest (the closest approach to the saddle). The
escape from plateau i is the time at which ln(error) crosses the midpoint between the levels
of plateaus i and i + 1.

Linear-regime prediction (small weights): the overlaps of the encoder and decoder with
principal direction m grow together at the rate eta g'(0) rho_m / D, so escaping the rank-(m-1)
plateau takes t_m ~ ln(c / sigma_0) / (eta g'(0) rho_m / D): escape times scale as 1/eta exactly
(eta only rescales time), as 1/lambda_m with the spike strength and grow like ln(1/sigma_0)
with the initial weight scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aelab.errors import ConfigError

__all__ = ["Plateau", "Escape", "detect_plateaus", "escape_times", "match_ranks", "crossing_times",
           "linear_escape_rate", "fit_log_slope"]


@dataclass(frozen=True)
class Plateau:
    """A plateau of a learning curve.

    Attributes:
        start, end: first and last flat time of the run.
        time: the time of slowest descent within the run.
        level: the error at that time.
        rank: the PCA rank whose error is nearest to ``level`` (set by :func:`match_ranks`).
        pca_level: that PCA error (NaN when unmatched).
    """

    start: float
    end: float
    time: float
    level: float
    rank: int = -1
    pca_level: float = float("nan")

    @property
    def relative_gap(self) -> float:
        """(level - PCA error) / PCA error."""
        return (self.level - self.pca_level) / self.pca_level


@dataclass(frozen=True)
class Escape:
    """The escape from one plateau to the next: the midpoint crossing of ln(error)."""

    from_level: float
    to_level: float
    time: float


def _check_curve(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t, y = np.asarray(t, float), np.asarray(y, float)
    if t.ndim != 1 or t.shape != y.shape or t.size < 5:
        raise ConfigError("plateaus: need matching 1-D arrays of at least 5 times and errors")
    if np.any(np.diff(t) <= 0):
        raise ConfigError("plateaus: the times must be strictly increasing")
    if np.any(~np.isfinite(y)) or np.any(y <= 0):
        raise ConfigError("plateaus: the errors must be finite and positive")
    return t, y


def _smooth(s: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over ``window`` points (shrinking at the ends)."""
    if window <= 1:
        return s
    half = window // 2
    c = np.concatenate([[0.0], np.cumsum(s)])
    idx = np.arange(s.size)
    lo, hi = np.maximum(idx - half, 0), np.minimum(idx + half + 1, s.size)
    return (c[hi] - c[lo]) / (hi - lo)


def detect_plateaus(t: np.ndarray, y: np.ndarray, *, flatness: float = 0.1, min_duration: float = 0.04,
                    smooth: int = 1) -> list[Plateau]:
    """Plateaus of the curve y(t) (errors, positive), in time order.

    Args:
        t, y: times (strictly increasing; a linear grid resolves plateaus best) and errors.
        flatness: a time is flat where -d ln y / dt < flatness * max(-d ln y / dt).
        min_duration: minimal length of a plateau as a fraction of the time span.
        smooth: moving-average window (points) applied to ln y first (for noisy simulations).
    """
    t, y = _check_curve(t, y)
    if not 0 < flatness < 1 or not 0 <= min_duration < 1:
        raise ConfigError("plateaus: flatness must be in (0, 1) and min_duration in [0, 1)")
    s = _smooth(np.log(y), int(smooth))
    rate = -np.gradient(s, t)
    peak = float(rate.max())
    if peak <= 0:
        return [Plateau(t[0], t[-1], t[int(np.argmin(np.abs(rate)))], float(y[int(np.argmin(np.abs(rate)))]))]
    flat = rate < flatness * peak
    plateaus = []
    span = t[-1] - t[0]
    i = 0
    while i < t.size:
        if not flat[i]:
            i += 1
            continue
        j = i
        while j + 1 < t.size and flat[j + 1]:
            j += 1
        if t[j] - t[i] >= min_duration * span:
            k = i + int(np.argmin(np.abs(rate[i:j + 1])))
            plateaus.append(Plateau(float(t[i]), float(t[j]), float(t[k]), float(np.exp(s[k]))))
        i = j + 1
    return plateaus


def match_ranks(plateaus: list[Plateau], pca_errors: np.ndarray | list[float]) -> list[Plateau]:
    """Label each plateau with the PCA rank whose error is nearest in log scale.

    Args:
        plateaus: from :func:`detect_plateaus`.
        pca_errors: the PCA errors of rank 0, 1, 2, ... (decreasing).
    """
    levels = np.asarray(pca_errors, float)
    out = []
    for p in plateaus:
        r = int(np.argmin(np.abs(np.log(levels) - np.log(p.level))))
        out.append(Plateau(p.start, p.end, p.time, p.level, r, float(levels[r])))
    return out


def escape_times(t: np.ndarray, y: np.ndarray, plateaus: list[Plateau], *, smooth: int = 1) -> list[Escape]:
    """Escape times between consecutive plateaus: first crossing of the log-midpoint of their levels."""
    t, y = _check_curve(t, y)
    s = _smooth(np.log(y), int(smooth))
    escapes = []
    for a, b in zip(plateaus, plateaus[1:]):
        mid = 0.5 * (np.log(a.level) + np.log(b.level))
        window = np.flatnonzero((t >= a.time) & (t <= b.time))
        below = window[s[window] < mid]
        if below.size == 0:
            continue
        j = int(below[0])
        if j == 0:
            escapes.append(Escape(a.level, b.level, float(t[0])))
            continue
        # linear interpolation of ln y between t[j-1] and t[j]
        frac = (s[j - 1] - mid) / (s[j - 1] - s[j])
        escapes.append(Escape(a.level, b.level, float(t[j - 1] + frac * (t[j] - t[j - 1]))))
    return escapes


def crossing_times(t: np.ndarray, y: np.ndarray, levels: np.ndarray | list[float]) -> np.ndarray:
    """For each pair of consecutive reference levels, the first time y crosses their log-midpoint.

    With the PCA errors of rank 0..K as levels, entry r is the escape from the rank-r plateau
    (NaN if the curve never gets there). Used for parameter sweeps, where every curve is
    compared with the same levels.
    """
    t, y = _check_curve(t, y)
    s = np.log(y)
    lv = np.log(np.asarray(levels, float))
    out = np.full(lv.size - 1, np.nan)
    for r in range(lv.size - 1):
        mid = 0.5 * (lv[r] + lv[r + 1])
        below = np.flatnonzero(s < mid)
        if below.size == 0:
            continue
        j = int(below[0])
        if j == 0:
            out[r] = t[0]
        else:
            out[r] = t[j - 1] + (s[j - 1] - mid) / (s[j - 1] - s[j]) * (t[j] - t[j - 1])
    return out


def linear_escape_rate(lr: float, rho_over_d: float, dg0: float) -> float:
    """Growth rate eta g'(0) rho/D of the overlaps with one principal direction at small weights.

    The inverse is the predicted slope d t_escape / d ln(1/sigma_0).
    """
    return lr * dg0 * rho_over_d


def fit_log_slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares (slope, intercept) of y against ln x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    A = np.stack([np.log(x), np.ones_like(x)], axis=1)
    slope, intercept = np.linalg.lstsq(A, y, rcond=None)[0]
    return float(slope), float(intercept)
