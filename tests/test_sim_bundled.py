"""Every bundled scenario file loads, runs briefly and tells its story."""
from __future__ import annotations

from pathlib import Path

import pytest

from iaxsim.experiments.sweep import load_sweep
from iaxsim.sim import OUTCOMES, load_scenario, simulate

DATA = Path(__file__).resolve().parent.parent / "data" / "scenarios"
SCENARIOS = sorted(p for p in DATA.glob("*.toml") if not p.name.startswith("sweep"))


def test_bundled_set_is_complete():
    names = {p.stem for p in SCENARIOS}
    assert {"seed_two_servers", "seed_interleaved", "one_way_firewall", "company_10", "erlang_b"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_bundled_scenario_runs(path):
    sc = load_scenario(path).with_values({"duration": 240.0})
    calls = simulate(sc, seed=3).calls
    assert len(calls) > 0
    assert set(calls["outcome"]) <= set(OUTCOMES)
    if path.stem == "one_way_firewall":
        assert set(calls.loc[calls.origin == "B", "outcome"]) == {"failed"}
        assert "failed" not in set(calls.loc[calls.origin == "A", "outcome"])
    if path.stem == "erlang_b":
        assert set(calls["outcome"]) <= {"answered", "congestion"}


def test_bundled_sweep_loads():
    spec = load_sweep(DATA / "sweep_overlap.toml")
    assert spec.replications == 3 and list(spec.grid["numbering.overlap"]) == [0.0, 0.3, 0.6, 0.9]
    assert len(spec.scenario.servers) == 10
