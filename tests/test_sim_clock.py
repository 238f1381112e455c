"""``delay_until``: the delay that makes SimPy's ``now + delay`` land on a time worked out
elsewhere, so an event scheduled for it never runs a rounding early."""
from __future__ import annotations

import math

import simpy

from iaxsim.sim.clock import delay_until


def test_a_plain_difference_is_kept_when_it_lands():
    assert delay_until(10.0, 10.5) == 0.5
    assert delay_until(3.0, 3.0) == 0.0


def test_the_delay_lands_on_the_time_when_the_difference_does_not():
    # 0.36 + (1.7 - 0.36) is 1.6999999999999997, not 1.7: the difference alone lands early
    now, at = 0.36, 1.7
    assert now + (at - now) != at
    d = delay_until(now, at)
    assert now + d == at


def test_an_unreachable_time_is_passed_by_one_float_never_undershot():
    # the sum rounds half-way to even on both sides of 3.555: no delay lands on it
    now, at = 0.00482478105362838, 3.555
    d = delay_until(now, at)
    assert now + d == math.nextafter(at, math.inf)
    assert now + math.nextafter(d, -math.inf) < at


def test_a_simpy_timeout_with_that_delay_runs_at_the_time():
    env = simpy.Environment()
    seen = []
    env.timeout(0.36).callbacks.append(
        lambda _e: env.timeout(delay_until(env.now, 1.7)).callbacks.append(lambda _e: seen.append(env.now)))
    env.run()
    assert seen == [1.7]
