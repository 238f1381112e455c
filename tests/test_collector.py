"""The cyclic garbage collector is paused inside ``collector.paused()`` only: while a simulation
runs, and while a dialplan is loaded."""
from __future__ import annotations

import gc

import pytest

from iaxsim import collector
from iaxsim.sim.model import Model
from iaxsim.sim.scenarios import erlang_b


def test_paused_switches_the_collector_off_and_back_on():
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_restores_the_collector_when_the_block_raises():
    with pytest.raises(RuntimeError):
        with collector.paused():
            raise RuntimeError("a run that fails")
    assert gc.isenabled()


def test_paused_leaves_a_collector_switched_off_by_the_caller_off():
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


class CollectorWatch:
    """A progress watcher noting, at each call attempt, whether the collector is on."""

    def __init__(self) -> None:
        self.states: list[bool] = []

    def at(self, now: float) -> None:
        self.states.append(gc.isenabled())


def test_a_simulation_runs_with_the_collector_paused_and_restores_it():
    watch = CollectorWatch()
    result = Model(erlang_b(erlangs=5, channels=5, hours=0.2), seed=1, progress=watch).run()
    assert len(result.calls) > 0
    assert len(watch.states) >= len(result.calls)  # told at every attempt
    assert not any(watch.states)
    assert gc.isenabled()


def collector_states_at(monkeypatch, cls: type, method: str) -> list[bool]:
    """Whether the collector is on at each call of ``cls.method`` from now on (the list fills)."""
    states: list[bool] = []
    original = getattr(cls, method)

    def noting(self, *args, **kwargs):
        states.append(gc.isenabled())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, noting)
    return states


def test_a_dialplan_loads_with_the_collector_paused_and_restores_it(monkeypatch):
    from iaxsim.dialplan import Dialplan, parser

    states = collector_states_at(monkeypatch, parser.DialplanBuilder, "add_extension")
    dp = Dialplan.from_string("[external]\nexten => _6XXX,1,Answer()\nexten => 7000,1,Answer()\n",
                              "x.conf")
    assert dp.lookup("6001", "external")[0] is not None
    assert states == [False, False]
    assert gc.isenabled()


def test_the_route_check_looks_numbers_up_with_the_collector_paused(monkeypatch, tmp_path):
    from iaxsim.dialplan.linked import LinkedServer
    from iaxsim.numbering import NumberingPlan, write_server_confs
    from iaxsim.study.output import verify_routes

    plan = NumberingPlan.from_dict({"A": ["6001", "6002"], "B": ["7001"]})
    folders = {s: write_server_confs(plan, s, tmp_path / s)[0].parent for s in plan.servers}
    states = collector_states_at(monkeypatch, LinkedServer, "first_dial")
    assert verify_routes(plan, folders) == []
    assert states == [False] * 6  # 3 numbers, checked at each of 2 servers
    assert gc.isenabled()
