"""Small statistics helpers: means with Student-t 95% confidence intervals, batch means.

Kept dependency-free (no SciPy): two-sided 97.5% t quantiles are tabulated for 1–30
degrees of freedom and interpolated in 1/df beyond (exact to 3 decimals), converging on
the normal 1.95996.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
_T_40, _T_60, _T_120, _Z = 2.021, 2.000, 1.980, 1.95996


def t975(df: int) -> float:
    """Two-sided 95% Student-t quantile for ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("degrees of freedom must be ≥ 1")
    if df <= 30:
        return _T975[df - 1]
    for (d0, t0), (d1, t1) in (((30, _T975[-1]), (40, _T_40)), ((40, _T_40), (60, _T_60)),
                               ((60, _T_60), (120, _T_120))):
        if df <= d1:
            w = (1 / df - 1 / d0) / (1 / d1 - 1 / d0)
            return t0 + w * (t1 - t0)
    w = (1 / df) / (1 / 120)
    return _Z + w * (_T_120 - _Z)


def mean_ci(values: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """(mean, low, high) of a 95% t confidence interval for the mean of independent values.

    NaNs are ignored; with fewer than two values the interval is (nan, nan).
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if len(x) < 2:
        return m, math.nan, math.nan
    half = t975(len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return m, m - half, m + half


def batch_means_ci(times: np.ndarray, values: np.ndarray, start: float, end: float,
                   batches: int = 20) -> tuple[float, float, float]:
    """95% CI of a time-series mean by the method of batch means over [start, end).

    Observations are grouped by time into ``batches`` equal windows; the CI is taken over
    the window means (windows without observations are skipped).
    """
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    if end <= start or len(values) == 0:
        return math.nan, math.nan, math.nan
    idx = np.clip(((times - start) / (end - start) * batches).astype(int), 0, batches - 1)
    means = []
    for b in range(batches):
        chunk = values[idx == b]
        chunk = chunk[~np.isnan(chunk)]
        if len(chunk):
            means.append(chunk.mean())
    return mean_ci(means)
