"""Erlang traffic theory: Erlang B/C, channels for a grade of service, offered and carried load.

Erlang B uses the numerically stable recursion ``B(E,0)=1, B(E,m)=E·B/(m+E·B)``; Erlang C is
derived from it.
"""
from __future__ import annotations

import math

from iaxsim.errors import IaxsimError


class TheoryError(IaxsimError, ValueError):
    """A theory function was called with arguments outside its domain."""

def _check_load(erlangs: float, channels: int) -> None:
    if not (isinstance(erlangs, (int, float)) and math.isfinite(erlangs) and erlangs >= 0):
        raise TheoryError(f"offered load must be a finite number ≥ 0 Erlang, got {erlangs!r}")
    if not isinstance(channels, int) or isinstance(channels, bool) or channels < 0:
        raise TheoryError(f"channels must be an integer ≥ 0, got {channels!r}")


def erlang_b(erlangs: float, channels: int) -> float:
    """Blocking probability of an M/G/N/N loss system (blocked calls cleared)."""
    _check_load(erlangs, channels)
    b = 1.0
    for m in range(1, channels + 1):
        b = erlangs * b / (m + erlangs * b)
    return b


def erlang_c(erlangs: float, channels: int) -> float:
    """Probability that a call waits in an M/M/N queue (blocked calls delayed).

    Returns 1.0 when the offered load is at or above the number of channels.
    """
    _check_load(erlangs, channels)
    if channels == 0 or erlangs >= channels:
        return 1.0
    b = erlang_b(erlangs, channels)
    return channels * b / (channels - erlangs * (1.0 - b))


def channels_for(erlangs: float, blocking: float) -> int:
    """Smallest number of channels whose Erlang B blocking is ≤ ``blocking``."""
    _check_load(erlangs, 0)
    if not 0 < blocking < 1:
        raise TheoryError(f"target blocking must lie strictly between 0 and 1, got {blocking!r}")
    b, m = 1.0, 0
    while b > blocking:
        m += 1
        b = erlangs * b / (m + erlangs * b)
    return m


def offered_load(calls_per_hour: float, mean_holding_s: float) -> float:
    """Offered traffic in Erlang: arrival rate × mean holding time."""
    if calls_per_hour < 0 or mean_holding_s < 0:
        raise TheoryError("calls per hour and holding time must be ≥ 0")
    return calls_per_hour * mean_holding_s / 3600.0


def carried_load(erlangs: float, channels: int) -> float:
    """Traffic carried by N channels when ``erlangs`` is offered: E·(1 − B(E, N))."""
    return erlangs * (1.0 - erlang_b(erlangs, channels))


