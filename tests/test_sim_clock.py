"""``delay_until``: the delay that makes SimPy's ``now + delay`` land on a time worked out
elsewhere, so an event scheduled for it never runs a rounding early."""
from __future__ import annotations

import math
import random

import simpy

from iaxsim.sim.clock import delay_until


def test_a_plain_difference_is_kept_when_it_lands():
    assert delay_until(10.0, 10.5) == 0.5
    assert delay_until(3.0, 3.0) == 0.0
    assert delay_until(0.1, 0.7) == 0.7 - 0.1


def test_a_time_no_delay_reaches_is_passed_by_one_float_never_undershot():
    # 0.36 + (1.7 - 0.36) is 1.6999999999999997: the difference alone lands early
    now, at = 0.36, 1.7
    assert now + (at - now) < at
    d = delay_until(now, at)
    assert now + d == math.nextafter(at, math.inf)
    assert now + math.nextafter(d, -math.inf) < at


def test_the_delay_lands_on_the_time_or_the_next_float_never_before():
    rng = random.Random(7)
    for _ in range(20_000):
        now = rng.random() * rng.choice([1e-3, 1.0, 100.0, 1e4])
        at = now + rng.random() * rng.choice([1e-6, 1.0, 100.0, 1e4])
        d = delay_until(now, at)
        assert d >= 0.0
        assert now + d in (at, math.nextafter(at, math.inf))
        if now + (at - now) == at:
            assert d == at - now


def test_a_simpy_timeout_with_that_delay_runs_at_the_time_or_just_after():
    env = simpy.Environment()
    seen = []

    def schedule(at):
        env.timeout(delay_until(env.now, at)).callbacks.append(lambda _e: seen.append(env.now))

    env.timeout(0.36).callbacks.append(lambda _e: (schedule(1.7), schedule(0.5)))
    env.run()
    assert seen == [0.5, math.nextafter(1.7, math.inf)]
