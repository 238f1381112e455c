"""link.conf dialling against ``switch =>`` lookups: what each way of linking servers costs callers.

Two ways of reaching another server's extensions, both run by :mod:`iaxsim.sim` on the real
engine and matcher (``linking = "linked"`` / ``"switch"``, docs/scenarios.md):

* **linked** (trixbox/FONcore): external.conf, then link.conf's patterns dial the claimed
  peers at once — internal address, then external; a wrong server answers REJECT (cause 3)
  and the next candidate is tried. Peers are qualified (POKE every 60 s, 10 s while not OK).
* **switch** (Asterisk's ``switch => IAX2/peer/external``): every dialplan query of a call
  (the entry check, the spawn of priority 1 and ``iax2_exec``'s own check, then "h" and a
  device-state check after the call) asks the peers in turn with DPREQ over a standing "TBD"
  call (opened on first use, hung up 30 s after its last DPREQ; 5 s wait for the DPREP).
  Asterisk 22 caches no answer (``switch_cache = 0``); ``switch_cache = 600`` models the
  documented 600 s cache. Dialling digit by digit asks about each prefix no local extension
  can complete, peer by peer until one answers MATCHMORE.

:func:`compare_linking` runs the grid linking mode × number of servers × plan (disjoint or
interleaved blocks) × dialling (en bloc or digit by digit) × call rate, with replications, through
:func:`iaxsim.experiments.sweep.run_sweep`, and returns one tidy row per run
(:data:`COLUMNS`). :func:`label_calls` marks, per call, whether the origin's DP cache held the
dialled number's answer (asked less than 600 s before by a query that was not itself a hit).

Measurement window: scenarios run without a warm-up (``warmup = 0``) so that the signalling
counters (``link_totals``) and the calls table cover the same calls; per-call delays are
averaged over calls starting after ``settle`` seconds (qualify has found the unreachable
internal addresses by then), while datagrams and bytes per call are every datagram the
servers exchanged in the whole run — qualify POKEs, TBD calls, DPREQ/DPREP and acknowledgements
included — divided by every call of the run. Holding times are short and fixed (they change
no set-up signalling; a short one ends the run soon after the last arrival, so background
traffic after it stays small) and extensions are never busy, so outcome differences come
from the linking alone.
"""
from __future__ import annotations

import functools
import math
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from iaxsim.errors import ConfigError
from iaxsim import theory
from iaxsim.experiments.sweep import run_sweep
from iaxsim.sim.scenario import DIALLING_MODES, LINKING_MODES, Scenario, scenario_from_dict

__all__ = ["PLANS", "COLUMNS", "DP_CACHE_SECONDS", "linking_scenario", "label_calls", "run_metrics",
           "compare_linking", "headline", "cache_break_even", "dp_cache_hit_share"]

#: Plan name → share of each server's extensions dealt from blocks other servers use too
#: (``numbering.overlap`` of the synthetic plan; link.conf claims 100-number blocks).
PLANS: dict[str, float] = {"disjoint": 0.0, "interleaved": 1.0}

#: Asterisk's ``iaxdefaultdpcache``: how long a DPREP answer is kept (s).
DP_CACHE_SECONDS = 600.0

#: Columns of :func:`compare_linking`'s table, in order (units in the names' docs below).
COLUMNS: tuple[str, ...] = (
    "linking", "servers", "plan", "dialling", "calls_per_hour", "replication", "seed",
    "calls",                     # calls measured (started after the settle time)
    "p_answered", "p_busy", "p_congestion", "p_rejected", "p_failed", "p_misrouted",  # shares [0, 1]
    "pdd",                       # s, mean post-dial delay of every measured call
    "pdd_remote",                # s, mean post-dial delay of answered calls to another server's number
    "pdd_remote_miss",           # s, the same for calls whose number was not in the DP cache (label_calls)
    "pdd_remote_hit",            # s, … and for calls whose number was (switch: answered from the cache)
    "hit_share",                 # share of answered remote calls whose number was in the DP cache
    "pdd_rejected",              # s, mean time to refuse a number nobody owns
    "attempts",                  # IAX2 dial attempts per call (mean)
    "comparisons",               # patterns tested / trie nodes visited per call, all servers (mean)
    "datagrams_per_call",        # every datagram between servers in the run ÷ every call of the run
    "bytes_per_call",            # their bytes at the IP layer (IAX2 + 8 UDP + 20 IPv4 each) ÷ every call
)

_OUTCOMES = ("answered", "busy", "congestion", "rejected", "failed", "misrouted")
#: The columns that name one condition of the comparison (a mode's runs share them).
_CONDITION = ["servers", "plan", "dialling", "calls_per_hour"]


def _require_columns(table: pd.DataFrame, columns: Iterable[str], what: str = "table") -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ConfigError(f"{what} lacks column(s) {', '.join(missing)}")


def linking_scenario(servers: int = 2, plan: str = "disjoint", linking: str = "linked",
                     dialling: str = "enbloc", *, calls_per_hour: float = 300.0, duration: float = 300.0,
                     extensions_per_server: int = 100, latency: float = 0.02, holding: float = 20.0,
                     seed: int = 1, switch_cache: float = 0.0) -> Scenario:
    """The comparison's scenario: ``servers`` sites (A, B, …) with synthetic 4-digit plans.

    Each server originates ``calls_per_hour`` attempts (Poisson): half to its own extensions,
    45 % to the other servers' (spread evenly), 5 % to numbers nobody owns. Fixed one-way
    ``latency`` (s) between sites, default addresses (internal reachable only within a site),
    qualify on, fixed ``holding`` (s), extensions never busy, no warm-up (see the module doc).
    ``switch_cache`` (s): how long the switch keeps DPREP answers (0: Asterisk 22, nothing).
    """
    if plan not in PLANS:
        raise ConfigError(f"plan: must be one of {', '.join(PLANS)}, got {plan!r}")
    if isinstance(servers, bool) or not isinstance(servers, (int, np.integer)) or not 2 <= servers <= 26:
        raise ConfigError(f"servers: must be an integer from 2 to 26 (a peer to link to), got {servers!r}")
    return scenario_from_dict({
        "name": f"linking_{linking}_{servers}_servers_{plan}_{dialling}",
        "duration": float(duration), "warmup": 0.0, "seed": int(seed), "linking": linking,
        "switch_cache": float(switch_cache),
        "numbering": {"extensions_per_server": int(extensions_per_server), "overlap": PLANS[plan],
                      "link_mode": "block", "seed": 0},
        "servers": [{"id": chr(ord("A") + i)} for i in range(int(servers))],
        "network": {"latency": float(latency)},
        "traffic": {"calls_per_hour": float(calls_per_hour), "local": 0.5,
                    "remote": 0.45, "unassigned": 0.05,
                    "dialling": dialling, "extension_busy": False,
                    "holding": {"dist": "fixed", "value": float(holding)}},
    })


def label_calls(calls: pd.DataFrame, cache_seconds: float = DP_CACHE_SECONDS) -> pd.DataFrame:
    """The calls table with two more columns.

    ``remote``: the dialled number belongs to another server. ``cached``: the origin's DP cache
    holds the number's answer when the call starts — the origin asked for that number less than
    ``cache_seconds`` before, with a query that was not itself answered from the cache (a hit
    does not refresh the entry; Asterisk's ``iaxdefaultdpcache``). The rule is the same for
    every mode, so in linked mode ``cached`` says which calls *would* have been cache hits.
    (Answers are cached from their DPREP, a few round trips after the query; calls that close
    to the 600 s edge are rare.)
    """
    _require_columns(calls, ("dialled", "origin", "start", "target"), "calls table")
    out = calls.copy()
    out["remote"] = (out["target"] != "") & (out["target"] != out["origin"])
    hits = []
    ordered = out.sort_values("start", kind="stable")
    for _key, starts in ordered.groupby(["origin", "dialled"], sort=False)["start"]:
        asked = -math.inf
        for idx, t in starts.items():
            if t - asked < cache_seconds:
                hits.append(idx)
            else:
                asked = t
    out["cached"] = out.index.isin(hits)
    return out


def dp_cache_hit_share(calls_per_hour: float, servers: int, extensions_per_server: int = 100,
                       remote: float = 0.45, cache_seconds: float = DP_CACHE_SECONDS) -> float:
    """Steady-state share of remote calls answered from the DP cache, for uniformly dialled numbers.

    One origin dials each remote number as a Poisson stream of rate λ = ``calls_per_hour`` ×
    ``remote`` / ((``servers`` − 1) × ``extensions_per_server``) per hour. A miss opens a
    ``cache_seconds`` window in which the λT calls expected are hits (hits do not refresh the
    entry), so per miss there are λT hits: the hit share is λT / (1 + λT).
    """
    if servers < 2 or extensions_per_server < 1 or calls_per_hour < 0 or not 0 <= remote <= 1:
        raise ConfigError("dp_cache_hit_share needs servers ≥ 2, extensions_per_server ≥ 1, "
                          "calls_per_hour ≥ 0 and remote in [0, 1]")
    lam_t = calls_per_hour * remote / ((servers - 1) * extensions_per_server) * cache_seconds / 3600.0
    return lam_t / (1.0 + lam_t)


def _mean(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.mean()) if len(values) else math.nan


def run_metrics(scenario_dict: dict[str, Any], seed: int, settle: float = 60.0) -> pd.DataFrame:
    """Sweep runner: simulate one scenario and return its one-row table of :data:`COLUMNS`
    metrics (the grid labels are added by :func:`compare_linking`)."""
    from iaxsim.sim import simulate

    scenario = scenario_from_dict(scenario_dict, base_dir=scenario_dict.get("base_dir"))
    result = simulate(scenario, seed=seed)
    every = result.calls
    totals = result.link_totals
    calls = label_calls(every)
    calls = calls[calls["start"] >= settle]
    row: dict[str, Any] = {"calls": len(calls)}
    for outcome in _OUTCOMES:
        row[f"p_{outcome}"] = float((calls["outcome"] == outcome).mean()) if len(calls) else math.nan
    row["pdd"] = _mean(calls["post_dial_delay"])
    remote = calls[calls["remote"] & (calls["outcome"] == "answered")]
    row["pdd_remote"] = _mean(remote["post_dial_delay"])
    row["pdd_remote_miss"] = _mean(remote.loc[~remote["cached"], "post_dial_delay"])
    row["pdd_remote_hit"] = _mean(remote.loc[remote["cached"], "post_dial_delay"])
    row["hit_share"] = float(remote["cached"].mean()) if len(remote) else math.nan
    row["pdd_rejected"] = _mean(calls.loc[(calls["target"] == "") & (calls["outcome"] == "rejected"),
                                          "post_dial_delay"])
    row["attempts"] = _mean(calls["attempts"].astype(float))
    row["comparisons"] = _mean(calls["comparisons"].astype(float))
    n_all = len(every)
    row["datagrams_per_call"] = float(totals["datagrams"].sum()) / n_all if n_all else math.nan
    ip_bytes = float(totals["bytes"].sum()) + theory.IP_UDP_BYTES * float(totals["datagrams"].sum())
    row["bytes_per_call"] = ip_bytes / n_all if n_all else math.nan
    return pd.DataFrame([row])


def _check_choice(name: str, values: Sequence[Any], allowed: Iterable[Any]) -> list[Any]:
    values = list(values)
    allowed = list(allowed)
    bad = [v for v in values if v not in allowed]
    if not values or bad:
        raise ConfigError(f"{name}: must be a non-empty list of {', '.join(map(str, allowed))}, got {values!r}")
    return values


def compare_linking(*, servers: Sequence[int] = (2, 3, 5), plans: Sequence[str] = ("disjoint", "interleaved"),
                    dialling: Sequence[str] = ("enbloc", "digits"), linking: Sequence[str] = LINKING_MODES,
                    calls_per_hour: Sequence[float] = (300.0,), replications: int = 3, seed: int = 1,
                    duration: float = 300.0, settle: float = 60.0, extensions_per_server: int = 100,
                    latency: float = 0.02, holding: float = 20.0, workers: int = 1,
                    cache_dir: str | Path | None = None, switch_cache: float = 0.0) -> pd.DataFrame:
    """Run linked against switch over the grid; one row per run × mode × condition (:data:`COLUMNS`).

    Replications use seeds ``seed``, ``seed + 1`` … at every grid point, so both modes see the
    same arrivals and dialled numbers. ``duration`` (s) is the simulated period, of which the
    first ``settle`` seconds are not measured; ``workers`` > 1 runs on a local process pool.
    Runs are cached in ``cache_dir`` (a fresh temporary folder when not given; the cache key
    does not know the measuring rules, so keep one folder per ``settle``). ``switch_cache`` (s)
    is the switch's DPREP cache (0, the default: Asterisk 22, which keeps nothing).
    """
    plans = _check_choice("plans", plans, PLANS)
    dialling = _check_choice("dialling", dialling, DIALLING_MODES)
    linking = _check_choice("linking", linking, LINKING_MODES)
    servers = list(servers)
    rates = [float(r) for r in calls_per_hour]
    if not servers or not rates:
        raise ConfigError("servers and calls_per_hour need at least one value each")
    if not 0 <= settle < duration:
        raise ConfigError(f"settle: must be ≥ 0 and shorter than duration ({duration} s), got {settle}")
    runner = functools.partial(run_metrics, settle=float(settle))
    grid = {"traffic.calls_per_hour": rates, "numbering.overlap": [PLANS[p] for p in plans],
            "traffic.dialling": dialling, "linking": linking}
    frames = []
    with tempfile.TemporaryDirectory(prefix="iaxsim-linking-") as tmp:
        for n in servers:
            base = linking_scenario(n, plans[0], linking[0], dialling[0], calls_per_hour=rates[0],
                                    duration=duration, extensions_per_server=extensions_per_server,
                                    latency=latency, holding=holding, seed=seed, switch_cache=switch_cache)
            folder = Path(cache_dir) / f"servers_{n}" if cache_dir is not None else Path(tmp) / f"servers_{n}"
            runs = run_sweep(base, grid, replications=replications, seed=seed, cache_dir=folder,
                             runner=runner, workers=workers, progress=False)
            frames.append(runs.assign(servers=int(n)))
    table = pd.concat(frames, ignore_index=True)
    names = {v: k for k, v in PLANS.items()}
    table = table.rename(columns={"traffic.calls_per_hour": "calls_per_hour", "traffic.dialling": "dialling"})
    table["plan"] = table["numbering.overlap"].map(names)
    table = table[list(COLUMNS)]
    return table.sort_values(["servers", "plan", "dialling", "calls_per_hour", "linking", "replication"],
                             kind="stable", ignore_index=True)


def headline(table: pd.DataFrame, metrics: Sequence[str] = ("pdd_remote", "attempts", "datagrams_per_call"),
             ) -> pd.DataFrame:
    """Mean over replications of ``metrics``, linked and switch side by side, with switch − linked."""
    _require_columns(table, [*_CONDITION, "linking", *metrics])
    means = table.groupby([*_CONDITION, "linking"])[list(metrics)].mean().unstack("linking")
    out = pd.DataFrame(index=means.index)
    for m in metrics:
        for mode in means[m].columns:
            out[f"{m}_{mode}"] = means[(m, mode)]
        if {"linked", "switch"} <= set(means[m].columns):
            out[f"{m}_switch_minus_linked"] = means[(m, "switch")] - means[(m, "linked")]
    return out.reset_index()


def cache_break_even(table: pd.DataFrame) -> pd.DataFrame:
    """Per condition: link.conf's mean post-dial delay of remote calls, the switch's for cache misses
    and hits, the switch's observed hit share, and the break-even hit share ``(miss − linked) /
    (miss − hit)`` above which the switch's mean delay is below link.conf's, cut to [0, 1] (0: the
    switch is quicker even uncached; 1: never quicker). Meaningful for runs with ``switch_cache`` >
    0 (Asterisk 22 caches nothing: every switch call is a miss). Means over replications; delays
    in seconds."""
    keys = _CONDITION
    _require_columns(table, [*keys, "linking", "pdd_remote", "pdd_remote_miss", "pdd_remote_hit", "hit_share"])
    modes = set(table["linking"])
    if not {"linked", "switch"} <= modes:
        raise ConfigError(f"the table needs runs of both modes, linked and switch (has {sorted(modes)})")
    linked = table[table["linking"] == "linked"].groupby(keys)["pdd_remote"].mean().rename("pdd_linked")
    switch = table[table["linking"] == "switch"].groupby(keys)[
        ["pdd_remote", "pdd_remote_miss", "pdd_remote_hit", "hit_share"]].mean()
    switch.columns = ["pdd_switch", "pdd_switch_miss", "pdd_switch_hit", "hit_share"]
    out = pd.concat([linked, switch], axis=1, join="inner")
    spread = out["pdd_switch_miss"] - out["pdd_switch_hit"]
    share = (out["pdd_switch_miss"] - out["pdd_linked"]) / spread.where(spread > 0)
    out["break_even_hit_share"] = share.clip(0.0, 1.0)  # a share lies in [0, 1]; the ends say "always", "never"
    return out.reset_index()
