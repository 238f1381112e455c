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


def _with_resource(jobs, cores):
    env = simpy.Environment()
    cpu = simpy.Resource(env, capacity=cores)
    tw = TimeWeighted(1.0)
    ends: dict[int, float] = {}

    def job(i, service):
        with cpu.request() as req:
            yield req
            tw.set(env.now, len(cpu.users) / cores)
            yield env.timeout(service)
        tw.set(env.now, len(cpu.users) / cores)
        ends[i] = env.now

    def arrivals():
        for i, (at, service) in enumerate(jobs):
            yield env.timeout(at - env.now)
            env.process(job(i, service))

    env.process(arrivals())
    env.run()
    return ends, tw.means(env.now + 1.0)


def _with_cores(jobs, cores):
    env = simpy.Environment()
    tw = TimeWeighted(1.0)
    cpu = Cores(env, cores, tw)
    ends: dict[int, float] = {}

    def job(i, service):
        grant = cpu.request()
        if grant is not None:
            yield grant
            cpu.granted()
        yield env.timeout(service)
        cpu.release()
        ends[i] = env.now

    def arrivals():
        for i, (at, service) in enumerate(jobs):
            yield env.timeout(at - env.now)
            env.process(job(i, service))

    env.process(arrivals())
    env.run()
    return ends, tw.means(env.now + 1.0)


@pytest.mark.parametrize("cores", [1, 2, 3])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cores_serve_as_a_simpy_resource_does(cores, seed):
    jobs = _jobs(seed, 400)
    ends_ref, busy_ref = _with_resource(jobs, cores)
    ends, busy = _with_cores(jobs, cores)
    assert ends == ends_ref  # every job ends at the very same time
    queued = sum(1 for i, (at, service) in enumerate(jobs) if ends_ref[i] > at + service + 1e-12)
    assert queued > 10  # the load makes jobs wait, so the queue discipline is exercised
    assert busy.keys() == busy_ref.keys()
    for b in busy_ref:
        assert busy[b] == pytest.approx(busy_ref[b], rel=1e-12, abs=1e-15)


def test_a_server_needs_a_core():
    with pytest.raises(ValueError, match="at least one core"):
        Cores(simpy.Environment(), 0, TimeWeighted(1.0))
