"""The simulator against Erlang B: one server, Poisson arrivals, N channels, blocked calls cleared.

Expected blocking values are hand-derived from B(E,0)=1, B(E,m)=E·B/(m+E·B) or quoted in the
reference notes (§4.2: B(10,17) = 0.01295). Erlang B is insensitive to the holding-time
distribution, so fixed and log-normal holding times must give the same blocking.
"""
from __future__ import annotations

import numpy as np
import pytest

from iaxsim.theory.stats import mean_ci
from iaxsim.sim import simulate
from iaxsim.sim.scenarios import erlang_b

REPLICATIONS = 10


def blocking_ci(erlangs, channels, calls, holding=None, seed=100):
    mean_hold = 10.0
    hours = calls / REPLICATIONS * mean_hold / erlangs / 3600.0
    base = erlang_b(erlangs, channels, hours=hours, holding=holding, mean_holding=mean_hold)
    sc = base.with_values({"servers.A.extensions": ["1000-1009"]})  # a tiny dialplan keeps it fast
    shares = []
    for r in range(REPLICATIONS):
        calls_df = simulate(sc, seed=seed + r).calls
        assert set(calls_df["outcome"]) <= {"answered", "congestion"}
        shares.append(float((calls_df["outcome"] == "congestion").mean()))
    return mean_ci(shares)


@pytest.mark.parametrize("erlangs,channels,expected,calls", [
    (1.0, 2, 0.2, 10_000),          # (1/2) / (1 + 1 + 1/2)
    (5.0, 5, 0.28487, 10_000),      # (5^5/5!) / Σ_{k≤5} 5^k/k! = 26.042 / 91.417
    (10.0, 17, 0.01295, 40_000),    # reference §4.2
])
def test_exponential_holding_matches_erlang_b(erlangs, channels, expected, calls):
    mean, lo, hi = blocking_ci(erlangs, channels, calls)
    assert lo <= expected <= hi, (mean, lo, hi)
    assert hi - lo < 0.5 * expected  # the interval is informative, not vacuous


@pytest.mark.parametrize("holding,erlangs,channels,expected,calls", [
    ({"dist": "fixed", "value": 10.0}, 2.0, 3, 0.21053, 10_000),           # (8/6) / (1+2+2+8/6)
    ({"dist": "lognormal", "mean": 10.0, "sd": 20.0}, 5.0, 5, 0.28487, 10_000),
    ({"dist": "uniform", "low": 0.0, "high": 20.0}, 1.0, 2, 0.2, 20_000),
])
def test_non_exponential_holding_is_insensitive(holding, erlangs, channels, expected, calls):
    mean, lo, hi = blocking_ci(erlangs, channels, calls, holding=holding)
    assert lo <= expected <= hi, (mean, lo, hi)
    assert hi - lo < 0.5 * expected


def test_carried_traffic_matches_channel_occupancy():
    # Little's law on the server: mean busy channels = carried load E(1-B) = 5 × (1 - 0.28487)
    sc = erlang_b(5.0, 5, hours=20.0, mean_holding=10.0, warmup=0.0).with_values(
        {"servers.A.extensions": ["1000-1009"]})
    res = simulate(sc, seed=7)
    s = res.servers
    busy = float(np.average(s["channels_busy"], weights=s["seconds"]))
    assert busy == pytest.approx(5 * (1 - 0.28487), rel=0.05)
