"""Means with Student-t 95 % confidence intervals, and batch means for one long run.

The t quantiles come from :func:`scipy.stats.t.ppf`.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import stats as _scipy_stats


@lru_cache(maxsize=256)
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


def quantile_ci(values: Sequence[float] | np.ndarray, q: float = 0.95) -> tuple[float, float, float]:
    """(estimate, low, high): the ``q`` quantile of independent values (linear interpolation) and
    its distribution-free 95 % interval between two order statistics.

    The ranks come from the binomial distribution of the number of values below the quantile
    (as tabulated for the median by Campbell & Gardner, BMJ 1988: ranks 40 and 61 of 100). NaNs
    are ignored; a bound that would need a rank beyond the sample is NaN.
    """
    x = np.sort(np.asarray(values, dtype=float))
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    estimate = float(np.quantile(x, q))
    lo_rank = int(_scipy_stats.binom.ppf(0.025, n, q))          # 1-based rank of the lower bound
    hi_rank = int(_scipy_stats.binom.ppf(0.975, n, q)) + 1      # 1-based rank of the upper bound
    low = float(x[lo_rank - 1]) if lo_rank >= 1 else math.nan
    high = float(x[hi_rank - 1]) if hi_rank <= n else math.nan
    return estimate, low, high
