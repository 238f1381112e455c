"""Call attempts: Poisson arrivals at each server, with their destination, number and
holding time drawn from the server's traffic spec."""
from __future__ import annotations

from typing import Generator, Protocol

import numpy as np
import simpy

from iaxsim.errors import ConfigError
from iaxsim.sim.caller import CallerSide
from iaxsim.sim.calls import CallLog, CallRecord
from iaxsim.sim.scenario import Scenario, TrafficSpec
from iaxsim.sim.server import SimServer

BATCH = 4096  # draws made at once per server


class ClockWatcher(Protocol):
    """Told the simulated time as call attempts arrive (a progress bar)."""

    def at(self, now: float) -> None: ...


class Traffic:
    """Generates the call attempts of every server."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, servers: dict[str, SimServer],
                 caller: CallerSide, log: CallLog, progress: ClockWatcher | None = None):
        self.env = env
        self.scenario = scenario
        self.servers = servers
        self.caller = caller
        self.log = log
        self.progress = progress
        self.end = scenario.warmup + scenario.duration
        self.owner: dict[str, str] = {}  # number -> the server that owns it (first listed)
        for sid, srv in servers.items():
            for n in srv.numbers:
                self.owner.setdefault(n, sid)
        self._lengths = sorted({len(n) for n in self.owner}) or [4]

    def destinations(self, sid: str, tr: TrafficSpec) -> tuple[list[str], np.ndarray]:
        """Where ``sid``'s calls go: "local", another server's id, or "" (an unassigned
        number), with their probabilities (:meth:`TrafficSpec.calling_shares`)."""
        others = {s: len(srv.numbers) for s, srv in self.servers.items() if s != sid}
        local, to = tr.calling_shares(len(self.servers[sid].numbers), others)
        kinds = ["local", *to, ""]
        p = np.array([local, *to.values(), tr.unassigned], dtype=float)
        return kinds, p / p.sum()

    def arrivals(self, srv: SimServer, rng: np.random.Generator) -> Generator[simpy.Event, object, None]:
        """Process: Poisson call attempts at ``srv`` from time 0 to the end of the measured period."""
        tr = srv.traffic
        rate = tr.attempts_per_hour() / 3600.0
        if rate <= 0:
            return
        kinds, probs = self.destinations(srv.id, tr)
        for k, share in zip(kinds, probs):
            if share > 0 and k not in ("", "local") and not len(self.servers[k].numbers):
                raise ConfigError(f"[traffic] server {srv.id!r} calls {k!r}, which has no extensions")
        if probs[0] > 0 and not len(srv.numbers):
            raise ConfigError(f"[traffic] server {srv.id!r} makes local calls but has no extensions")
        env, end, warmup, log, place = self.env, self.end, self.scenario.warmup, self.log, self.caller.place
        pools = {k: (srv.numbers if k == "local" else self.servers[k].numbers) for k in kinds if k}
        targets = {k: (srv.id if k == "local" else k) for k in kinds if k}
        tick = self.progress.at if self.progress is not None else None
        while True:
            # Python floats: a numpy scalar here would make the whole simulation clock (env.now
            # and every time derived from it) numpy.float64, whose arithmetic and comparisons
            # are several times slower; the values are the same
            gaps = rng.exponential(1.0 / rate, BATCH).tolist()
            dests = rng.choice(len(kinds), BATCH, p=probs).tolist()
            picks = rng.random(BATCH).tolist()
            holds = tr.holding.sample(rng, BATCH).tolist()
            for gap, dest, pick, hold in zip(gaps, dests, picks, holds):
                yield env.timeout(gap)
                now = env.now
                if now >= end:
                    return
                if tick is not None:
                    tick(now)
                kind = kinds[dest]
                if kind:
                    pool = pools[kind]
                    number = str(pool[int(pick * len(pool))])
                    target = targets[kind]
                else:
                    number = self.unassigned(rng)
                    target = ""
                rec = CallRecord(now, srv.id, number, target)
                log.started(rec, now >= warmup)
                env.process(place(srv, rec, tr, hold, rng))

    def unassigned(self, rng: np.random.Generator) -> str:
        """A number of a length in use that no server owns."""
        length = self._lengths[int(rng.integers(len(self._lengths)))]
        for _ in range(1000):
            n = str(int(rng.integers(10 ** (length - 1), 10 ** length)))
            if n not in self.owner:
                return n
        raise ConfigError("cannot find an unassigned number: every number of that length is taken")
