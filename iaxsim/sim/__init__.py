"""SimPy model of linked PBXs running the real IAX2 engine and dialplan matcher.

>>> from iaxsim.sim import simulate
>>> from iaxsim.sim.scenarios import erlang_b
>>> result = simulate(erlang_b(erlangs=5, channels=5, hours=0.2), seed=1)
>>> sorted(set(result.calls["outcome"])) <= ["answered", "congestion"]
True
"""
from __future__ import annotations

from iaxsim.sim.calls import Outcome
from iaxsim.sim.results import CALL_COLUMNS, OUTCOMES, SimResult
from iaxsim.sim.scenario import (CpuModel, FirewallRule, LinkSpec, NetworkSpec, NumberingSpec, Scenario,
                                 ServerSpec, TrafficSpec, load_scenario, scenario_from_dict)
from iaxsim.sim.distributions import Distribution


def simulate(scenario: Scenario, seed: int | None = None, progress: bool = False) -> SimResult:
    """Run one replication of ``scenario`` (with ``seed``, default the scenario's own).

    ``progress=True`` shows a progress bar (tqdm, on stderr) in simulated seconds of the
    warm-up plus measured period; the results are the same with or without it."""
    from iaxsim.sim.model import Model
    from iaxsim.sim.progress import SimClockBar

    seed = scenario.seed if seed is None else int(seed)
    if not progress:
        return Model(scenario, seed).run()
    with SimClockBar(scenario.warmup + scenario.duration, desc=scenario.name) as bar:
        return Model(scenario, seed, progress=bar).run()


__all__ = ["simulate", "SimResult", "CALL_COLUMNS", "OUTCOMES", "Outcome", "Scenario", "ServerSpec", "NetworkSpec",
           "TrafficSpec", "LinkSpec", "FirewallRule", "CpuModel", "NumberingSpec", "Distribution",
           "load_scenario", "scenario_from_dict"]
