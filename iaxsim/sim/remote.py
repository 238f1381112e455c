"""Remote calls and what their callers get: the headline figures of linked servers.

A **remote call** is a call to a number another server owns (``target`` is neither empty nor
the origin). Local calls ring at once (post-dial delay 0) and cross no link, so averaging them
in would hide what linking costs; every figure here is over remote calls only:

* post-dial delay of the remote calls that rang (answered, or misrouted to someone else):
  mean and 95th percentile (linear interpolation between order statistics);
* IAX2 dial attempts per remote call, and of them the **wrong-server attempts** (a dial to a
  server other than the number's owner: it answers REJECT cause 3, or gets no answer);
* digit-timeout waits: the share of remote calls that waited out the inter-digit timeout
  because the dialled number is the beginning of a longer one;
* failures by **what the caller hears**, which follows the cause the calling channel reports:
  ``busy`` (busy tone, cause 17), ``congestion`` (reorder tone: no free channel, or every
  ``Dial()`` of the chain failed — refused, unanswered or skipped — after which Asterisk plays
  ``Congestion()``), ``unobtainable`` (cause 3: nothing at the origin takes the number) and
  ``misrouted`` (someone answers, but the wrong extension or site).

:func:`remote_metrics` gives these for one set of calls (seconds, shares), :func:`remote_table`
per origin → target pair in a planner's units (ms, %), :func:`remote_intervals` their mean and
95 % Student-t interval over replications, and :func:`planner_view` a printable table of those.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from iaxsim.sim.calls import Cause, Outcome
from iaxsim.theory.stats import mean_ci

__all__ = ["HEARD", "FAILURES", "REMOTE_METRICS", "PLANNER_COLUMNS", "is_remote", "heard",
           "remote_metrics", "remote_table", "remote_intervals", "planner_view", "interval_text", "within"]

#: what the caller hears, by the calling channel's cause (``cause_code``) of a call that did not
#: ring; any other cause is heard as congestion (see :func:`heard`)
HEARD: dict[int, str] = {Cause.USER_BUSY: "busy", Cause.NO_EXTENSION: "unobtainable",
                         Cause.CONGESTION: "congestion"}

#: failures by what the caller hears, in the order tables show them
FAILURES: tuple[str, ...] = ("busy", "congestion", "unobtainable", "misrouted")

#: :func:`remote_metrics` keys and their units
REMOTE_METRICS: dict[str, str] = {
    "calls": "count", "pdd_mean": "s", "pdd_p95": "s", "attempts": "count", "wrong_server": "count",
    "digit_waits": "share", **{f"p_{f}": "share" for f in FAILURES}}

#: :func:`remote_table` columns: (metric, scale from :func:`remote_metrics`, range of the quantity)
PLANNER_COLUMNS: dict[str, tuple[str, float, tuple[float, float | None]]] = {
    "calls": ("calls", 1.0, (0.0, None)),
    "pdd_mean_ms": ("pdd_mean", 1000.0, (0.0, None)),
    "pdd_p95_ms": ("pdd_p95", 1000.0, (0.0, None)),
    "attempts": ("attempts", 1.0, (0.0, None)),
    "wrong_server": ("wrong_server", 1.0, (0.0, None)),
    "digit_wait_pct": ("digit_waits", 100.0, (0.0, 100.0)),
    **{f"{f}_pct": (f"p_{f}", 100.0, (0.0, 100.0)) for f in FAILURES},
}

_RANG = (Outcome.ANSWERED, Outcome.MISROUTED)


def is_remote(calls: pd.DataFrame) -> pd.Series:
    """True for each call to a number another server owns."""
    target = calls["target"].astype(str)
    return (target != "") & (target != calls["origin"].astype(str))


def heard(calls: pd.DataFrame) -> pd.Series:
    """What the caller heard, per call: ``answered`` or ``misrouted`` when someone answered, else
    by the cause the calling channel reports (``cause_code``, :data:`HEARD`): 17 busy tone, 3
    number unobtainable, anything else the congestion (reorder) tone. When every ``Dial()`` of a
    ``link.conf`` chain failed — refused, unanswered or skipped — Asterisk's autofallthrough
    (``main/pbx.c``) plays ``Congestion()``, so those callers hear congestion."""
    outcome = calls["outcome"].astype(str)
    by_cause = calls["cause_code"].map(HEARD).fillna("congestion")
    rang = outcome.isin([Outcome.ANSWERED, Outcome.MISROUTED])
    return outcome.where(rang, by_cause).astype(str)


def _columns(remote: pd.DataFrame) -> dict[str, np.ndarray]:
    """What :func:`_metrics` reads, one array per figure, one value per remote call."""
    rang = remote["outcome"].isin(_RANG).to_numpy()
    what = heard(remote).to_numpy()
    return {"pdd": np.where(rang, remote["post_dial_delay"].to_numpy(dtype=float), np.nan),
            "attempts": remote["attempts"].to_numpy(dtype=float),
            "wrong_server": remote["wrong_server"].to_numpy(dtype=float),
            "waited": (remote["digit_wait"] > 0).to_numpy(),
            **{f"p_{f}": what == f for f in FAILURES}}


def _metrics(cols: dict[str, np.ndarray], rows: np.ndarray | None = None) -> dict[str, float]:
    """:data:`REMOTE_METRICS` of the remote calls at positions ``rows`` (all when None)."""
    pick = (lambda a: a) if rows is None else (lambda a: a[rows])
    attempts = pick(cols["attempts"])
    n = len(attempts)
    pdd = pick(cols["pdd"])
    pdd = pdd[~np.isnan(pdd)]
    out: dict[str, float] = {"calls": float(n)}
    out["pdd_mean"] = float(pdd.mean()) if len(pdd) else math.nan
    out["pdd_p95"] = float(np.quantile(pdd, 0.95)) if len(pdd) else math.nan
    out["attempts"] = float(attempts.mean()) if n else math.nan
    out["wrong_server"] = float(pick(cols["wrong_server"]).mean()) if n else math.nan
    out["digit_waits"] = float(pick(cols["waited"]).mean()) if n else math.nan
    for f in FAILURES:
        out[f"p_{f}"] = float(pick(cols[f"p_{f}"]).mean()) if n else math.nan
    return out


def remote_metrics(calls: pd.DataFrame) -> dict[str, float]:
    """The headline figures (:data:`REMOTE_METRICS`) of the remote calls among ``calls``.

    Delays in seconds, shares in [0, 1], counts per remote call; NaN where there is nothing to
    measure (no remote call, or none that rang)."""
    return _metrics(_columns(calls[is_remote(calls)]))


def _planner_row(m: dict[str, float]) -> dict[str, float]:
    return {col: m[name] * scale for col, (name, scale, _r) in PLANNER_COLUMNS.items()}


def _groups(frame: pd.DataFrame, keys: list[str]) -> list[tuple[tuple[object, ...], np.ndarray]]:
    """(key, positions) of each group of ``frame`` by ``keys``, keys sorted."""
    if not keys:
        return [((), np.arange(len(frame)))]
    if frame.empty:
        return []
    found: dict[Any, Any] = frame.groupby(keys, sort=True).indices
    return [((k if isinstance(k, tuple) else (k,)), np.asarray(found[k])) for k in sorted(found)]


def remote_table(calls: pd.DataFrame, groups: Sequence[str] = (), pairs: bool = True) -> pd.DataFrame:
    """Remote calls per origin → target pair, in a planner's units (ms, %), one row per pair and
    a last row ``all → all`` per group of ``groups`` (columns of ``calls``, e.g. ``["plan"]``);
    with ``pairs`` False, the ``all → all`` rows only.

    Columns: ``groups``, ``origin``, ``target``, then :data:`PLANNER_COLUMNS`.
    """
    groups = list(groups)
    rows = []
    remote = calls[is_remote(calls)].reset_index(drop=True)
    cols = _columns(remote)
    for key, where in _groups(remote, groups):
        head = dict(zip(groups, key))
        for (o, t), pair in (_groups(remote.iloc[where], ["origin", "target"]) if pairs else ()):
            rows.append({**head, "origin": o, "target": t, **_planner_row(_metrics(cols, where[pair]))})
        rows.append({**head, "origin": "all", "target": "all", **_planner_row(_metrics(cols, where))})
    return pd.DataFrame(rows, columns=[*groups, "origin", "target", *PLANNER_COLUMNS])


def remote_intervals(calls: pd.DataFrame, seed: str = "seed", groups: Sequence[str] = (),
                     pairs: bool = True) -> pd.DataFrame:
    """Mean and 95 % Student-t interval over replications (one per value of column ``seed``) of
    every :func:`remote_table` column, per ``groups`` and origin → target pair (``pairs`` False:
    ``all → all`` only).

    Long format: ``groups``, ``origin``, ``target``, ``metric`` (a :data:`PLANNER_COLUMNS` name),
    ``mean``, ``ci_low``, ``ci_high``, ``n`` (replications with a value). Intervals are cut to the
    quantity's range (a share stays within 0–100 %, a delay above 0); with one replication the
    interval is NaN. ``calls`` is the mean number of remote calls per replication.
    """
    groups = list(groups)
    per_run = remote_table(calls, [*groups, seed], pairs)
    rows = []
    for key, part in per_run.groupby([*groups, "origin", "target"], sort=False):
        key = key if isinstance(key, tuple) else (key,)
        head = dict(zip([*groups, "origin", "target"], key))
        for col, (_name, _scale, (lo_b, hi_b)) in PLANNER_COLUMNS.items():
            vals = part[col].to_numpy(dtype=float)
            mean, lo, hi = mean_ci(vals)
            lo, hi = within(lo, hi, lo_b, hi_b)
            rows.append({**head, "metric": col, "mean": mean, "ci_low": lo, "ci_high": hi,
                         "n": int(np.count_nonzero(~np.isnan(vals)))})
    return pd.DataFrame(rows, columns=[*groups, "origin", "target", "metric", "mean", "ci_low",
                                       "ci_high", "n"])


def within(lo: float, hi: float, low: float, high: float | None) -> tuple[float, float]:
    """An interval ``(lo, hi)`` cut to what the quantity can take, ``low`` to ``high`` (None: no
    upper bound); NaN ends stay NaN."""
    if math.isnan(lo):
        return lo, hi
    return max(lo, low), (hi if high is None else min(hi, high))


def interval_text(mean: float, lo: float, hi: float, digits: int) -> str:
    """A figure as the planner's tables show it: "mean (low–high)" with ``digits`` decimals; the
    mean alone without an interval, "–" without a mean."""
    if math.isnan(mean):
        return "–"
    text = f"{mean:.{digits}f}"
    if not (math.isnan(lo) or math.isnan(hi)):
        text += f" ({lo:.{digits}f}–{hi:.{digits}f})"
    return text


def planner_view(intervals: pd.DataFrame, metrics: Sequence[str] | None = None,
                 digits: dict[str, int] | None = None) -> pd.DataFrame:
    """:func:`remote_intervals` as a table to read: one row per pair (``all → all`` last in each
    group), one column per metric, each cell "mean (low–high)"."""
    metrics = list(metrics or PLANNER_COLUMNS)
    digits = {"calls": 0, "pdd_mean_ms": 0, "pdd_p95_ms": 0, "attempts": 2, "wrong_server": 2,
              **{c: 1 for c in PLANNER_COLUMNS if c.endswith("_pct")}, **(digits or {})}
    keys = [c for c in intervals.columns if c not in ("metric", "mean", "ci_low", "ci_high", "n")]
    table = intervals[intervals["metric"].isin(metrics)].assign(
        cell=lambda d: [interval_text(m, lo, hi, digits.get(k, 2)) for m, lo, hi, k in
                        zip(d["mean"], d["ci_low"], d["ci_high"], d["metric"])])
    wide = table.pivot(index=keys, columns="metric", values="cell")
    order = intervals[keys].drop_duplicates()
    wide = wide.reindex(pd.MultiIndex.from_frame(order) if len(keys) > 1 else order[keys[0]])
    return wide[metrics]
