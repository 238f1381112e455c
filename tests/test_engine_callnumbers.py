"""The call-number pool hands numbers out in ``random.shuffle``'s order, drawing lazily.

The expected orders come from the standard library: ``random.shuffle`` of the whole range with
a generator seeded alike, taken from the end as ``list.pop()`` would.
"""
from __future__ import annotations

import random

import pytest

from iaxsim.iax2.engine import Endpoint, EndpointConfig
from iaxsim.iax2.engine.callnumbers import CallNumberPool


def shuffled(low: int, high: int, seed: object) -> list[int]:
    """What the pool used to hold: the range shuffled, to be popped from the end."""
    numbers = list(range(low, high + 1))
    random.Random(seed).shuffle(numbers)
    return numbers


@pytest.mark.parametrize("seed", [0, 1, 7, 2**31 - 1, "pbx-a", 1.5])
@pytest.mark.parametrize("low, high", [(2, 16383), (16384, 32767), (2, 3), (5, 5)])
def test_the_whole_order_is_random_shuffles(seed, low, high):
    pool = CallNumberPool(low, high, random.Random(seed))
    got = [pool.allocate(0.0) for _ in range(high - low + 1)]
    expected = shuffled(low, high, seed)
    expected.reverse()
    assert got == expected
    assert pool.allocate(0.0) is None and pool.available == 0


@pytest.mark.parametrize("seed", [3, 11, 12345])
def test_released_numbers_come_back_first_as_with_the_shuffled_list(seed):
    # the old pool appended numbers back from their hold-off to the shuffled list and popped
    # from its end: replay that list by hand next to the pool
    old = shuffled(2, 200, seed)
    pool = CallNumberPool(2, 200, random.Random(seed), hold_off=60.0)
    rng = random.Random(seed + 1)
    in_use: list[int] = []
    held: list[tuple[float, int]] = []
    now = 0.0
    for _ in range(400):
        now += 1.0
        if in_use and rng.random() < 0.4:
            n = in_use.pop(rng.randrange(len(in_use)))
            pool.release(n, now)
            held.append((now + 60.0, n))
        while held and held[0][0] <= now:
            old.append(held.pop(0)[1])
        got = pool.allocate(now)
        assert got == (old.pop() if old else None)
        if got is not None:
            in_use.append(got)
    assert pool.available == len(old)


def test_an_endpoint_draws_numbers_tokens_and_challenges_from_streams_of_its_seed():
    # ordinary numbers: random.shuffle order of the seed's own generator; trunk numbers and the
    # call-token secret (31 bits, then challenges): generators seeded "<seed>/trunk", "<seed>/tokens"
    ordinary = list(range(2, 16384))
    random.Random(42).shuffle(ordinary)
    trunk = list(range(16384, 32768))
    random.Random("42/trunk").shuffle(trunk)
    secret = str(random.Random("42/tokens").getrandbits(31))
    ep = Endpoint(EndpointConfig(trunk_peers=[("10.0.0.9", 4569)]), seed=42)
    assert ep.place_call(("10.0.0.2", 4569), "6000", now=0.0) == ordinary[-1]
    assert ep.place_call(("10.0.0.9", 4569), "6000", now=0.0) == trunk[-1]
    assert ep._core.tokens._secret == secret
