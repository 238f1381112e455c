"""The study's tables as a planner reads them: plain headings with their units, shares in %,
each simulated figure "mean (low–high)" over the seeds (its 95 % interval, kept within what the
quantity can take: a share never below 0 % or above 100 %).

The raw tables stay on :class:`~iaxsim.study.core.Study` (``runs``, ``intervals()``, ``links``,
``capacity_check``) for computing with; these views are for reading.
"""
from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from iaxsim.sim.remote import interval_text, within
from iaxsim.theory import mean_ci

__all__ = ["Column", "CONDITION_COLUMNS", "PAIR_HEADINGS", "conditions_table", "links_table",
           "capacity_check_table", "servers_table", "pairs_table"]


class Column(NamedTuple):
    """One figure of a readable table: the raw column, its heading, the factor to its unit,
    its decimals, and the least and greatest value it can take (None: no bound)."""

    metric: str
    heading: str
    scale: float
    digits: int
    low: float
    high: float | None


#: The all-calls figures of each condition (``Study.runs``' columns: shares in [0, 1], times in s).
CONDITION_COLUMNS: tuple[Column, ...] = (
    Column("calls", "call attempts", 1.0, 0, 0.0, None),
    Column("p_answered", "answered (%)", 100.0, 1, 0.0, 100.0),
    Column("p_busy", "busy: the extension was in a call (%)", 100.0, 1, 0.0, 100.0),
    Column("p_misrouted", "answered by a wrong extension (%)", 100.0, 1, 0.0, 100.0),
    Column("p_rejected", "rejected: no such number (%)", 100.0, 1, 0.0, 100.0),
    Column("p_failed", "failed: no server answered the dial (%)", 100.0, 1, 0.0, 100.0),
    Column("p_congestion", "congestion: no free channel (%)", 100.0, 1, 0.0, 100.0),
    Column("p_waited", "waited a digit timeout (%)", 100.0, 1, 0.0, 100.0),
    Column("pdd", "post-dial delay, all calls (ms)", 1000.0, 0, 0.0, None),
    Column("pdd_remote", "post-dial delay, answered remote calls (ms)", 1000.0, 0, 0.0, None),
    Column("attempts", "dial attempts per call", 1.0, 2, 0.0, None),
)

#: Headings of the remote-call columns of ``Study.remote()`` / ``Study.slowest_pairs()``.
PAIR_HEADINGS: dict[str, str] = {
    "calls": "remote calls",
    "pdd_mean_ms": "post-dial delay, mean (ms)",
    "pdd_p95_ms": "post-dial delay, 95th percentile (ms)",
    "attempts": "dial attempts per call",
    "wrong_server": "wrong-server attempts per call",
    "digit_wait_pct": "waited a digit timeout (%)",
    "busy_pct": "busy (%)",
    "congestion_pct": "congestion (%)",
    "unobtainable_pct": "number unobtainable (%)",
    "misrouted_pct": "misrouted (%)",
}


def _figure(values: pd.Series, col: Column) -> str:
    """``values`` (one per seed) as "mean (low–high)" in the column's unit, within its bounds."""
    mean, lo, hi = mean_ci(values.to_numpy(dtype=float) * col.scale)
    return interval_text(mean, *within(lo, hi, col.low, col.high), col.digits)


def conditions_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per condition (in the study's order), one column per :data:`CONDITION_COLUMNS`
    figure over all its calls: the mean over the seeds with its 95 % interval."""
    rows = {}
    for condition, group in runs.groupby("condition", sort=False):
        rows[condition] = {col.heading: _figure(group[col.metric], col) for col in CONDITION_COLUMNS}
    table = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=[col.heading for col in CONDITION_COLUMNS])
    table.index.name = "condition"
    return table


def pairs_table(view: pd.DataFrame) -> pd.DataFrame:
    """A remote-calls view (``Study.remote()``, ``Study.slowest_pairs()``) with its headings in
    words and units."""
    return view.rename(columns=PAIR_HEADINGS).rename_axis(columns=None)


def links_table(links: pd.DataFrame, gos: float) -> pd.DataFrame:
    """``Study.links`` to read: the link, its offered load, the channels Erlang B sizes for the
    target blocking ``gos`` and the blocking they give, and the WAN bandwidth each way with every
    channel busy, per codec."""
    return pd.DataFrame({
        "link": [f"{a}–{b}" for a, b in zip(links["a"], links["b"])],
        "offered load (Erlangs)": links["erlangs"].map(lambda e: f"{e:.2f}"),
        f"channels for {100 * gos:g} % blocking": links["channels"].astype(int),
        "blocking with them (%)": links["blocking"].map(lambda b: f"{100 * b:.2f}"),
        "codec": links["codec"],
        "untrunked (kbit/s each way)": links["kbps_untrunked"].map(lambda k: f"{k:,.0f}"),
        "trunked (kbit/s each way)": links["kbps_trunked"].map(lambda k: f"{k:,.0f}"),
    })


def servers_table(servers: pd.DataFrame, gos: float) -> pd.DataFrame:
    """``Study.servers`` to read: each server's offered load and the channels Erlang B sizes for
    the target blocking ``gos``."""
    return pd.DataFrame({
        "server": servers["server"],
        "offered load (Erlangs)": servers["erlangs"].map(lambda e: f"{e:.2f}"),
        f"channels for {100 * gos:g} % blocking": servers["channels"].astype(int),
    })


def capacity_check_table(check: pd.DataFrame) -> pd.DataFrame:
    """``Study.capacity_check`` to read: Erlang B's blocking at each sized channel count beside
    the simulated blocking (mean and 95 % interval over the seeds, in %, never below 0)."""
    def simulated(mean: float, lo: float, hi: float) -> str:
        lo, hi = within(lo, hi, 0.0, 1.0)
        return interval_text(100 * mean, 100 * lo, 100 * hi, 2)

    return pd.DataFrame({
        "offered load (Erlangs)": check["erlangs"].map(lambda e: f"{e:.2f}"),
        "channels": check["channels"].astype(int),
        "Erlang B blocking (%)": check["erlang_b"].map(lambda b: f"{100 * b:.2f}"),
        "simulated blocking (%)": [simulated(m, lo, hi) for m, lo, hi in
                                   zip(check["simulated"], check["ci_low"], check["ci_high"])],
        "Erlang B within the interval": check["agrees"].map({True: "yes", False: "no"}),
    })
