"""Asterisk's ``qualify=yes``: each server POKEs its peers' addresses and marks them OK or
UNREACHABLE (``chan_iax2.c``, ``iax2_poke_peer``: every 60 s while OK, 10 s while not)."""
from __future__ import annotations

from typing import Generator

import simpy

from iaxsim.iax2.engine import PokeTimeout, PongReceived
from iaxsim.sim.scenario import IAX2_PORT
from iaxsim.sim.server import SimServer

QUALIFY_OK_EVERY = 60.0
QUALIFY_NOTOK_EVERY = 10.0


def qualify(env: simpy.Environment, o: SimServer, ip: str, offset: float) -> Generator[simpy.Event, object, None]:
    """Process: ``o`` POKEs ``ip`` every 60 s (10 s while not OK), starting after ``offset`` s;
    a PONG later than the engine's ``qualify_maxms`` counts as UNREACHABLE."""
    yield env.timeout(offset)
    maxms = o.endpoint.config.qualify_maxms
    while True:
        cid = o.endpoint.poke((ip, IAX2_PORT), now=env.now)
        mb = o.watch(cid)
        o.driver.pump()
        ev = yield from mb.wait()
        while ev is not None and not isinstance(ev, (PongReceived, PokeTimeout)):
            ev = yield from mb.wait()
        o.unwatch(cid)
        ok = isinstance(ev, PongReceived) and ev.rtt <= maxms
        o.peer_status[ip] = "ok" if ok else "unreachable"
        yield env.timeout(QUALIFY_OK_EVERY if ok else QUALIFY_NOTOK_EVERY)
