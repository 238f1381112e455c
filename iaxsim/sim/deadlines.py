"""Many cancellable timeouts behind one SimPy timeout.

A mailbox wait with a time limit (a DPREQ's 5 s ``iaxdefaulttimeout``, a phone ringing until it
is answered) usually ends before its limit, yet a SimPy timeout, once scheduled, cannot be
taken back: it would still come due and be stepped through. :class:`Deadlines` keeps the
limits in a heap and schedules one SimPy timeout, for the earliest limit still running; a
limit whose wait ended is cancelled and skipped, so an expiry costs an event and a wait
answered in time costs none. Each expiry runs at the very time the limit names.
"""
from __future__ import annotations

import heapq
import itertools
from typing import Callable

import simpy

from iaxsim.sim.clock import delay_until


class Deadline:
    """One time limit (its time is its key in :class:`Deadlines`' heap): ``expire()`` runs then
    unless it was cancelled first."""

    __slots__ = ("expire", "live")

    def __init__(self, expire: Callable[[], None]):
        self.expire = expire
        self.live = True

    def cancel(self) -> None:
        """The wait ended in time: do not expire."""
        self.live = False


class Deadlines:
    """Time limits of one SimPy environment, due in time order (ties in the order added)."""

    def __init__(self, env: simpy.Environment):
        self.env = env
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = itertools.count()
        self._armed: float | None = None  # when the scheduled SimPy timeout comes due

    def add(self, delay: float, expire: Callable[[], None]) -> Deadline:
        """Run ``expire()`` ``delay`` seconds from now (``delay`` >= 0), unless cancelled."""
        now = self.env.now
        at = now + delay  # the time a SimPy timeout of ``delay`` would come due
        limit = Deadline(expire)
        heapq.heappush(self._heap, (at, next(self._seq), limit))
        if self._armed is None or at < self._armed:
            self._armed = at
            self.env.timeout(delay, at).callbacks.append(self._fire)
        return limit

    def __len__(self) -> int:
        """Limits still running."""
        return sum(1 for _at, _n, limit in self._heap if limit.live)

    def _fire(self, event: simpy.Event) -> None:
        if event.value != self._armed:
            return  # superseded by an earlier limit, whose firing re-armed
        self._armed = None
        now = self.env.now
        heap = self._heap
        while heap and (heap[0][0] <= now or not heap[0][2].live):
            _at, _n, limit = heapq.heappop(heap)
            if limit.live:
                limit.live = False
                limit.expire()
        if heap and self._armed is None:
            at = heap[0][0]
            self._armed = at
            self.env.timeout(delay_until(now, at), at).callbacks.append(self._fire)
