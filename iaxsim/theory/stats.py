"""Means with Student-t 95 % confidence intervals, and batch means for one long run.

The t quantiles come from :func:`scipy.stats.t.ppf`.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats as _scipy_stats


def t975(df: int) -> float:
    """Two-sided 95% Student-t quantile (the 97.5 % point) for ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("degrees of freedom must be ≥ 1")
    return float(_scipy_stats.t.ppf(0.975, df))


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
