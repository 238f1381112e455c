"""Asterisk's ``qualify=yes``: each server POKEs its peers' addresses and marks them OK, LAGGED
or UNREACHABLE; a Dial skips an address that is LAGGED or UNREACHABLE at once. The timings are
the engine's :class:`~iaxsim.iax2.engine.Qualify` (``chan_iax2.c``: ``iax2_poke_peer``,
``iax2_poke_noanswer``): an unanswered POKE marks the address UNREACHABLE 22 s after it went out,
and the next POKE follows 10 s later (60 s after a timely PONG)."""
from __future__ import annotations

from typing import Generator

import simpy

from iaxsim.iax2.engine import PokeTimeout, PongReceived, Qualify
from iaxsim.sim.scenario import IAX2_PORT
from iaxsim.sim.server import SimServer


def qualify(env: simpy.Environment, o: SimServer, ip: str, offset: float) -> Generator[simpy.Event, object, None]:
    """Process: ``o`` qualifies ``ip``, first POKE after ``offset`` s; ``o.qualified[ip]`` is the
    address's :class:`~iaxsim.iax2.engine.Qualify` state (its ``status`` and ``usable``)."""
    yield env.timeout(offset)
    state = Qualify.from_config(o.endpoint.config)
    o.qualified[ip] = state
    while True:
        cid = o.endpoint.poke((ip, IAX2_PORT), now=env.now, timeout=state.poke_timeout())
        mb = o.watch(cid)
        o.driver.pump()
        ev = yield from mb.wait()
        while ev is not None and not isinstance(ev, (PongReceived, PokeTimeout)):
            ev = yield from mb.wait()
        o.unwatch(cid)
        wait = state.answered(ev.rtt) if isinstance(ev, PongReceived) else state.unanswered()
        yield env.timeout(wait)
