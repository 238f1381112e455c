"""The cyclic garbage collector is paused only while a simulation runs."""
from __future__ import annotations

import gc

import pytest

from iaxsim.sim import collector
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
