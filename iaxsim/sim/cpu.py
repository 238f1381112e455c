"""A server's CPU cores: lookups served first come, first served, each for its own time.

The cores are a counter of idle cores and a first-in-first-out line of jobs waiting for one,
as ``simpy.Resource`` keeps them, without its request and release events: a job that finds a
core idle takes it at once; otherwise it waits for the event :meth:`Cores.request` returns,
which succeeds when a job ending hands its core over. A job then holds the core for its
service time (one SimPy timeout) and :meth:`Cores.release` frees it.
"""
from __future__ import annotations

from collections import deque

import simpy

from iaxsim.sim.results import TimeWeighted


class Cores:
    """``cores`` CPU cores; ``busy`` records the share of them in use over time."""

    __slots__ = ("env", "cores", "idle", "waiting", "busy")

    def __init__(self, env: simpy.Environment, cores: int, busy: TimeWeighted):
        if cores < 1:
            raise ValueError(f"a server needs at least one core, got {cores}")
        self.env = env
        self.cores = cores
        self.idle = cores
        self.waiting: deque[simpy.Event] = deque()  # jobs waiting for a core, first come first
        self.busy = busy

    def request(self) -> simpy.Event | None:
        """Take a core: None when one was idle (it is taken now), else an event that succeeds
        when a core is handed over; call :meth:`granted` then."""
        if self.idle:
            self.idle -= 1
            self._record()
            return None
        grant = self.env.event()
        self.waiting.append(grant)
        return grant

    def granted(self) -> None:
        """A waiting job got its core (the event :meth:`request` returned has succeeded)."""
        self._record()

    def release(self) -> None:
        """A job is done: its core goes to the first job waiting, or becomes idle."""
        if self.waiting:
            self.waiting.popleft().succeed()
        else:
            self.idle += 1
        self._record()

    def _record(self) -> None:
        self.busy.set(self.env.now, (self.cores - self.idle) / self.cores)
