"""What a simulation returns: per-call rows, per-server and per-link time series, summary.

``SimResult.calls`` has one row per call started after the warm-up (columns in
:data:`CALL_COLUMNS`); ``servers`` gives, per time bin and server, mean busy channels,
channel utilisation and CPU utilisation; ``links`` gives, per time bin and directed server
pair, mean media bandwidth (kbit/s, by formula) and the signalling datagrams carried.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol

import numpy as np
import pandas as pd

from iaxsim.sim.calls import CallRecord, Outcome
from iaxsim.sim.capture import Captured
from iaxsim.sim.remote import FAILURES, heard, is_remote, remote_metrics, remote_table
from iaxsim.sim.scenario import Scenario
from iaxsim.theory.stats import batch_means_ci, quantile_ci

#: every outcome a call can have (:class:`~iaxsim.sim.calls.Outcome` members, equal to their strings)
OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)

BIN_SECONDS = 60.0  # width of the time bins of ``servers`` and ``links``


class LinkTotals(Protocol):
    """What ``link_totals`` reports of one directed server pair (the network's counters)."""

    sent: int
    sent_bytes: int
    delivered: int
    dropped_firewall: int
    dropped_scope: int
    lost: int

CALL_COLUMNS = {
    "start": "float64", "origin": "object", "dialled": "object", "target": "object",
    "answered_by": "object", "outcome": "object", "post_dial_delay": "float64",
    "comparisons": "int64", "attempts": "int64", "frames": "int64", "bytes": "int64",
    "lookup_cpu": "float64", "duration": "float64", "cause_code": "int64", "digit_wait": "float64",
    "wrong_server": "int64",
}


class TimeWeighted:
    """Time-weighted integral of a piecewise-constant level, accumulated into fixed bins."""

    __slots__ = ("width", "level", "last", "bins")

    def __init__(self, width: float):
        self.width = width
        self.level = 0.0
        self.last = 0.0
        self.bins: dict[int, float] = {}

    def set(self, now: float, level: float) -> None:
        """The level changes to ``level`` at time ``now``."""
        t, lv, w = self.last, self.level, self.width
        if lv and now > t:
            b = int(t // w)
            while True:
                edge = (b + 1) * w
                if now <= edge:
                    self.bins[b] = self.bins.get(b, 0.0) + lv * (now - t)
                    break
                self.bins[b] = self.bins.get(b, 0.0) + lv * (edge - t)
                t, b = edge, b + 1
        self.last, self.level = now, level

    def add(self, now: float, delta: float) -> None:
        """Change the level by ``delta`` at ``now``."""
        self.set(now, self.level + delta)

    def means(self, end: float) -> dict[int, float]:
        """Mean level per bin up to ``end``."""
        self.set(end, self.level)
        out = {}
        for b, area in self.bins.items():
            span = min(self.width, end - b * self.width)
            if span > 0:
                out[b] = area / span
        return out


@dataclass
class SimResult:
    """Everything one run produced."""

    scenario: Scenario
    seed: int
    calls: pd.DataFrame
    servers: pd.DataFrame
    links: pd.DataFrame
    link_totals: pd.DataFrame
    datagrams: list[Captured] = field(default_factory=list, repr=False)
    wall_seconds: float = 0.0

    def summary(self, batches: int = 20, by: str | None = None) -> pd.DataFrame:
        """Means and 95% confidence intervals (batch means over the measured period).

        The first rows are the headline, over **remote calls** only (to a number another server
        owns; :mod:`iaxsim.sim.remote`): ``remote_post_dial_delay`` (mean, of the remote calls
        that rang) and ``remote_post_dial_delay_p95`` (95th percentile, interval between order
        statistics), ``remote_attempts`` and ``remote_wrong_server`` (dial attempts per remote
        call), ``remote_digit_waits`` (share that waited a digit timeout) and the shares the
        caller hears as ``remote_p_busy``, ``remote_p_congestion``, ``remote_p_unobtainable``,
        ``remote_p_misrouted``. Then, over all calls: the share of each outcome
        (``p_congestion`` is the blocking), post-dial delay (all calls, and answered calls
        only), comparisons, attempts, lookup CPU, frames and bytes per call. ``by`` names a
        column of ``calls`` (e.g. ``"origin"``) to summarise each group separately (an outer
        index level).
        """
        if by is not None:
            parts = {key: self._summary(group, batches) for key, group in self.calls.groupby(by, sort=True)}
            return pd.concat(parts, names=[by])
        return self._summary(self.calls, batches)

    def remote(self) -> pd.DataFrame:
        """The remote calls per origin → target pair and in all, in a planner's units (ms, %):
        :func:`iaxsim.sim.remote.remote_table` of this run."""
        return remote_table(self.calls)

    def _summary(self, c: pd.DataFrame, batches: int) -> pd.DataFrame:
        start = self.scenario.warmup
        end = start + self.scenario.duration
        t = c["start"].to_numpy()
        rows = []

        def add(name: str, values: np.ndarray, unit: str) -> None:
            mean, lo, hi = batch_means_ci(t, values, start, end, batches)
            if unit == "share":  # a proportion's interval stays inside [0, 1]
                lo, hi = max(lo, 0.0), min(hi, 1.0)
            rows.append({"metric": name, "mean": mean, "ci_low": lo, "ci_high": hi, "unit": unit,
                         "n": int(np.sum(~np.isnan(values)))})

        remote = is_remote(c).to_numpy()
        answered = c["outcome"].isin(("answered", "misrouted")).to_numpy()
        pdd = c["post_dial_delay"].to_numpy(dtype=float).copy()

        def of_remote(values: np.ndarray) -> np.ndarray:
            return np.where(remote, values, np.nan)

        rang = np.where(remote & answered, pdd, np.nan)
        add("remote_post_dial_delay", rang, "s")
        p95, lo, hi = quantile_ci(rang, 0.95)
        rows.append({"metric": "remote_post_dial_delay_p95", "mean": p95, "ci_low": lo, "ci_high": hi,
                     "unit": "s", "n": int(np.sum(~np.isnan(rang)))})
        add("remote_attempts", of_remote(c["attempts"].to_numpy(dtype=float)), "count")
        add("remote_wrong_server", of_remote(c["wrong_server"].to_numpy(dtype=float)), "count")
        add("remote_digit_waits", of_remote((c["digit_wait"] > 0).to_numpy(dtype=float)), "share")
        what = heard(c)
        for f in FAILURES:
            add(f"remote_p_{f}", of_remote((what == f).to_numpy(dtype=float)), "share")
        for outcome in OUTCOMES:
            add(f"p_{outcome}", (c["outcome"] == outcome).to_numpy(dtype=float), "share")
        add("post_dial_delay", pdd, "s")
        pdd_ok = np.where(answered, pdd, np.nan)
        add("post_dial_delay_answered", pdd_ok, "s")
        add("comparisons", c["comparisons"].to_numpy(dtype=float), "count")
        add("attempts", c["attempts"].to_numpy(dtype=float), "count")
        add("lookup_cpu", c["lookup_cpu"].to_numpy(dtype=float), "s")
        add("frames", c["frames"].to_numpy(dtype=float), "count")
        add("bytes", c["bytes"].to_numpy(dtype=float), "B")
        return pd.DataFrame(rows).set_index("metric")

    def metrics(self) -> dict[str, Any]:
        """One flat row of run-level figures, for sweeps: the remote calls' headline
        (``remote_calls``, ``remote_mean_pdd``, ``remote_p95_pdd`` in s, ``remote_attempts``,
        ``remote_wrong_server``, ``remote_digit_waits``, ``remote_p_busy``,
        ``remote_p_congestion``, ``remote_p_unobtainable``, ``remote_p_misrouted``), then
        figures over all calls."""
        c = self.calls
        n = len(c)
        row: dict[str, Any] = {"calls": n}
        rm = remote_metrics(c)
        row["remote_calls"] = int(rm.pop("calls"))
        row["remote_mean_pdd"] = rm.pop("pdd_mean")
        row["remote_p95_pdd"] = rm.pop("pdd_p95")
        row.update({f"remote_{k}": v for k, v in rm.items()})
        for outcome in OUTCOMES:
            row[f"p_{outcome}"] = float((c["outcome"] == outcome).mean()) if n else math.nan
        row["blocking"] = row["p_congestion"]
        for col in ("post_dial_delay", "comparisons", "attempts", "lookup_cpu", "frames", "bytes", "duration"):
            row[f"mean_{col}"] = float(c[col].mean()) if n else math.nan
        row["p95_post_dial_delay"] = float(c["post_dial_delay"].quantile(0.95)) if n else math.nan
        if len(self.servers):
            row["max_cpu_utilisation"] = float(self.servers["cpu_utilisation"].max())
            row["max_channel_utilisation"] = float(self.servers["channel_utilisation"].max())
        row["max_link_kbps"] = float(self.links["media_kbps"].max()) if len(self.links) else 0.0
        if len(self.link_totals):
            row["datagrams"] = int(self.link_totals["datagrams"].sum())
            row["dropped_firewall"] = int(self.link_totals["dropped_firewall"].sum())
        return row

    def write_pcap(self, path: str | Path) -> int:
        """Write every datagram exchanged (needs ``capture=True``) as a pcap; returns the count."""
        from iaxsim.sim.capture import write_pcap

        return write_pcap(path, self.datagrams)


def calls_frame(records: Iterable[CallRecord]) -> pd.DataFrame:
    """``SimResult.calls``: one row per record, the outcome as its plain string."""
    df = pd.DataFrame.from_records([r.row() for r in records], columns=list(CALL_COLUMNS))
    return df.astype(CALL_COLUMNS)


def servers_frame(levels: Iterable[tuple[str, TimeWeighted, TimeWeighted, int]], end: float) -> pd.DataFrame:
    """``SimResult.servers`` from (server id, busy channels, CPU utilisation, channels) per server."""
    rows = []
    for sid, channels, cpu, capacity in levels:
        ch = channels.means(end)
        cp = cpu.means(end)
        for b in sorted(set(ch) | set(cp)):
            rows.append({"time": b * BIN_SECONDS, "seconds": min(BIN_SECONDS, end - b * BIN_SECONDS),
                         "server": sid, "channels_busy": ch.get(b, 0.0),
                         "channel_utilisation": ch.get(b, 0.0) / capacity,
                         "cpu_utilisation": cp.get(b, 0.0)})
    return pd.DataFrame(rows, columns=["time", "seconds", "server", "channels_busy", "channel_utilisation",
                                       "cpu_utilisation"])


def links_frame(links: Iterable[tuple[tuple[str, str], TimeWeighted]], end: float) -> pd.DataFrame:
    """``SimResult.links`` from the media bandwidth over time of each directed server pair."""
    rows = []
    for (a, b), tw in links:
        for k, kbps in sorted(tw.means(end).items()):
            rows.append({"time": k * BIN_SECONDS, "seconds": min(BIN_SECONDS, end - k * BIN_SECONDS),
                         "src": a, "dst": b, "media_kbps": kbps})
    return pd.DataFrame(rows, columns=["time", "seconds", "src", "dst", "media_kbps"])


def link_totals_frame(counters: Iterable[tuple[tuple[str, str], LinkTotals]]) -> pd.DataFrame:
    """``SimResult.link_totals``: datagrams and bytes offered to, and delivered over or dropped
    by, each directed server pair."""
    rows = []
    for (a, b), c in counters:
        rows.append({"src": a, "dst": b, "datagrams": c.sent, "bytes": c.sent_bytes,
                     "delivered": c.delivered, "dropped_firewall": c.dropped_firewall,
                     "dropped_scope": c.dropped_scope, "lost": c.lost})
    return pd.DataFrame(rows, columns=["src", "dst", "datagrams", "bytes", "delivered",
                                       "dropped_firewall", "dropped_scope", "lost"])
