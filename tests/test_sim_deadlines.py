"""Time limits behind one SimPy timeout expire exactly when separate SimPy timeouts would,
never when cancelled, and cost an event only when one expires (or a nearer one arrives)."""
from __future__ import annotations

import numpy as np
import simpy
import simpy.core

from iaxsim.sim.deadlines import Deadlines
from iaxsim.sim.driver import Mailbox


def _script(seed: int, n: int = 300) -> list[tuple[float, float, float | None]]:
    """(add at, delay, cancel after or None): limits of mixed lengths, most cancelled in time."""
    rng = np.random.default_rng(seed)
    adds = np.cumsum(rng.exponential(0.01, n)).round(2)  # rounding: limits added at one instant
    delays = np.where(rng.random(n) < 0.7, 5.0, rng.uniform(0.0, 8.0, n).round(1))
    cancels = [float(c) if rng.random() < 0.8 else None for c in rng.uniform(0.0, 6.0, n)]
    return [(float(a), float(d), c) for a, d, c in zip(adds, delays, cancels)]


def _run(script, use_deadlines: bool) -> list[tuple[float, int]]:
    env = simpy.Environment()
    limits = Deadlines(env)
    expired: list[tuple[float, int]] = []

    def one(i: int, delay: float, cancel_after: float | None):
        done = {"cancelled": False}
        if use_deadlines:
            limit = limits.add(delay, lambda: expired.append((env.now, i)))
        else:
            def fire(_event):
                if not done["cancelled"]:
                    expired.append((env.now, i))
            env.timeout(delay).callbacks.append(fire)
        if cancel_after is not None:
            yield env.timeout(cancel_after)
            if use_deadlines:
                limit.cancel()
            done["cancelled"] = True

    def driver():
        for i, (at, delay, cancel_after) in enumerate(script):
            yield env.timeout(at - env.now)
            env.process(one(i, delay, cancel_after))

    env.process(driver())
    env.run()
    return expired


def test_limits_expire_as_separate_timeouts_would():
    for seed in (1, 2, 3):
        script = _script(seed)
        reference = _run(script, use_deadlines=False)
        assert len(reference) > 30  # some limits do expire ...
        assert len(reference) < len(script) - 30  # ... and many are cancelled first
        # the same limits expire, each at the very time its own timeout would have; limits due
        # at one instant expire in the order they were added
        assert _run(script, use_deadlines=True) == sorted(reference)


def test_limits_ended_in_time_cost_no_event():
    env = simpy.Environment()
    limits = Deadlines(env)
    steps = [0]
    original = env.step

    def counted_step() -> None:
        steps[0] += 1
        original()

    env.step = counted_step  # type: ignore[method-assign]
    expired: list[float] = []

    def asker(i: int):
        limit = limits.add(5.0, lambda: expired.append(env.now))
        yield env.timeout(0.04)  # the answer comes back in 40 ms
        if i != 500:
            limit.cancel()

    def driver():
        for i in range(1000):
            env.process(asker(i))
            yield env.timeout(0.01)

    env.process(driver())
    env.run()
    assert len(expired) == 1  # only asker 500 got no answer: it started near 5 s
    assert abs(expired[0] - (5.0 + 5.0)) < 1e-9
    # per asker: its start, its 40 ms timeout, its end, the driver's timeout: 4 events; the
    # limits add only a few firings (every 5 s and the one expiry), not one per asker
    assert steps[0] - 4 * 1000 < 10
    assert len(limits) == 0


def test_a_mailbox_wait_times_out_through_the_deadlines_and_an_item_cancels_it():
    env = simpy.Environment()
    limits = Deadlines(env)
    answered, silent = Mailbox(env, limits), Mailbox(env, limits)
    got: dict[str, tuple[float, object]] = {}

    def wait(name: str, mb: Mailbox):
        item = yield from mb.wait(5.0)
        got[name] = (env.now, item)

    def answer():
        yield env.timeout(0.04)
        answered.put("DPREP")

    env.process(wait("answered", answered))
    env.process(wait("silent", silent))
    env.process(answer())
    env.run()
    assert got == {"answered": (0.04, "DPREP"), "silent": (5.0, None)}
    assert len(limits) == 0
