"""SimPy model of linked PBXs running the real IAX2 engine and dialplan matcher.

>>> from iaxsim.sim import simulate
>>> from iaxsim.sim.scenarios import erlang_b
>>> result = simulate(erlang_b(erlangs=5, channels=5, hours=0.2), seed=1)
>>> sorted(set(result.calls["outcome"])) <= ["answered", "congestion"]
True
"""
from __future__ import annotations

from iaxsim.sim.results import CALL_COLUMNS, OUTCOMES, SimResult
from iaxsim.sim.scenario import (CpuModel, FirewallRule, LinkSpec, NetworkSpec, NumberingSpec, Scenario,
                                 ServerSpec, TrafficSpec, load_scenario, scenario_from_dict)
from iaxsim.sim.distributions import Distribution


def simulate(scenario: Scenario, seed: int | None = None) -> SimResult:
    """Run one replication of ``scenario`` (with ``seed``, default the scenario's own)."""
    from iaxsim.sim.model import Model

    return Model(scenario, scenario.seed if seed is None else int(seed)).run()


__all__ = ["simulate", "SimResult", "CALL_COLUMNS", "OUTCOMES", "Scenario", "ServerSpec", "NetworkSpec",
           "TrafficSpec", "LinkSpec", "FirewallRule", "CpuModel", "NumberingSpec", "Distribution",
           "load_scenario", "scenario_from_dict"]
