"""A server's cores (iaxsim.sim.cpu) serve jobs in the order and at the times SimPy's own
first-come-first-served ``simpy.Resource`` gives requests held for the same times, and record
the same share of cores in use."""
from __future__ import annotations

import numpy as np
import pytest
import simpy

from iaxsim.sim.cpu import Cores
from iaxsim.sim.results import TimeWeighted


def _jobs(seed: int, n: int) -> list[tuple[float, float]]:
    """(arrival, service) pairs: bursts that queue, ties included, fixed and random services."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(0.004, n)).round(3)  # rounding makes simultaneous arrivals
    services = np.where(rng.random(n) < 0.5, 0.012, rng.exponential(0.01, n))
    return list(zip(arrivals.tolist(), services.tolist()))


def _serve(jobs, cores, holder):
    """Run ``jobs`` through ``holder(env, cores, busy)``, which returns the generator that holds
    a core for a job's service time; returns each job's end time and the busy share per bin."""
    env = simpy.Environment()
    busy = TimeWeighted(1.0)
    hold = holder(env, cores, busy)
    ends: dict[int, float] = {}

    def job(i, service):
        yield from hold(service)
        ends[i] = env.now

    def arrivals():
        for i, (at, service) in enumerate(jobs):
            yield env.timeout(at - env.now)
            env.process(job(i, service))

    env.process(arrivals())
    env.run()
    return ends, busy.means(env.now + 1.0)


def _resource(env, cores, busy):
    """The reference: SimPy's own first-come-first-served resource."""
    cpu = simpy.Resource(env, capacity=cores)

    def hold(service):
        with cpu.request() as req:
            yield req
            busy.set(env.now, len(cpu.users) / cores)
            yield env.timeout(service)
        busy.set(env.now, len(cpu.users) / cores)

    return hold


def _cores(env, cores, busy):
    """iaxsim's cores, used as SimServer.charge_cpu uses them."""
    cpu = Cores(env, cores, busy)

    def hold(service):
        grant = cpu.request()
        if grant is not None:
            yield grant
            cpu.granted()
        yield env.timeout(service)
        cpu.release()

    return hold


@pytest.mark.parametrize("cores", [1, 2, 3])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cores_serve_as_a_simpy_resource_does(cores, seed):
    jobs = _jobs(seed, 400)
    ends_ref, busy_ref = _serve(jobs, cores, _resource)
    ends, busy = _serve(jobs, cores, _cores)
    assert ends == ends_ref  # every job ends at the very same time
    queued = sum(1 for i, (at, service) in enumerate(jobs) if ends_ref[i] > at + service + 1e-12)
    assert queued > 10  # the load makes jobs wait, so the queue discipline is exercised
    assert busy.keys() == busy_ref.keys()
    for b in busy_ref:
        assert busy[b] == pytest.approx(busy_ref[b], rel=1e-12, abs=1e-15)


def test_a_server_needs_a_core():
    with pytest.raises(ValueError, match="at least one core"):
        Cores(simpy.Environment(), 0, TimeWeighted(1.0))
