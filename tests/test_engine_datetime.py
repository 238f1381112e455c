"""The DATETIME IE of the NEWs an endpoint sends: the wall-clock time of ``now`` to 2 s (RFC
5456 §8.6.28), whatever the engine remembers between calls."""
from __future__ import annotations

import datetime as dt

import pytest

from iaxsim.iax2 import IAXSubclass as S, IEType as T, decode
from iaxsim.iax2.engine import Endpoint, EndpointConfig

PEER = ("192.0.2.1", 4569)


def expected(now: float, offset_since_2000: float = 0.0) -> dt.datetime:
    """What the wire carries: 2000-01-01 + (offset + now) s, microseconds rounded as a
    timedelta rounds them, then seconds down to an even number."""
    t = dt.datetime(2000, 1, 1) + dt.timedelta(seconds=offset_since_2000 + now)
    return t.replace(second=t.second - t.second % 2, microsecond=0)


def new_datetime(ep: Endpoint, now: float) -> dt.datetime:
    ep.place_call(PEER, "100", now=now)
    news = [f for f in (decode(d) for d, _ in ep.datagrams_to_send(now)) if f.subclass == S.NEW]
    assert len(news) == 1
    return news[0].ie(T.DATETIME)


# times around 2-second steps, day ends and the microsecond rounding of a timedelta
TIMES = [0.0, 0.5, 1.9999, 2.0, 2.0000001, 3.9999996, 3.9999994, 59.0, 60.0, 61.9999999,
         86399.0, 86399.9999997, 86400.0, 86401.5, 31622399.0, 31622400.0]


def test_each_new_carries_its_own_time_in_order():
    ep = Endpoint(EndpointConfig(), seed=1)
    for now in TIMES:  # one endpoint: what it remembers from the call before must not leak
        assert new_datetime(ep, now) == expected(now), now


@pytest.mark.parametrize("now", TIMES)
def test_a_fresh_endpoint_sends_the_same_time(now):
    assert new_datetime(Endpoint(EndpointConfig(), seed=1), now) == expected(now)


def test_the_same_step_twice_and_back_in_time():
    ep = Endpoint(EndpointConfig(), seed=1)
    for now in (10.0, 11.9, 10.1, 8.0, 12.0, 11.99999999):
        assert new_datetime(ep, now) == expected(now), now


def test_a_wall_clock_offset_moves_the_date():
    # 2024-02-29 23:59:58 UTC as Unix time: 1709251198
    ep = Endpoint(EndpointConfig(wallclock_offset=1709251198.0), seed=1)
    assert new_datetime(ep, 0.0) == dt.datetime(2024, 2, 29, 23, 59, 58)
    assert new_datetime(ep, 1.5) == dt.datetime(2024, 2, 29, 23, 59, 58)
    assert new_datetime(ep, 2.0) == dt.datetime(2024, 3, 1, 0, 0, 0)
