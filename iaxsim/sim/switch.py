"""``linking = "switch"``: numbers not found locally are asked of the peers with DPREQ.

The origin's dialplan is external.conf plus one ``switch => IAX2/<peer>/external`` per peer.
As chan_iax2 does (``iax2_exists`` → ``find_cache``), a lookup goes out as a DPREQ over a
standing TBD call to the peer, waits at most ``iaxdefaulttimeout`` (5 s) for the DPREP, and
its answer is cached (600 s, a timeout 60 s).
"""
from __future__ import annotations

import functools
from typing import Generator

import simpy

from iaxsim.iax2.engine import (CallFailed, CallHungUp, CallRejected, DialplanReply, DialplanTimeout,
                                Event)
from iaxsim.sim.calls import CallRecord
from iaxsim.sim.driver import Mailbox
from iaxsim.sim.network import Network
from iaxsim.sim.scenario import IAX2_PORT
from iaxsim.sim.server import CONTEXT, SimServer

DP_CACHE = 600.0
DP_CACHE_TIMEOUT = 60.0


class SwitchLookup:
    """DPREQ lookups of the origin's switches, through its answer cache."""

    def __init__(self, env: simpy.Environment, network: Network, servers: dict[str, SimServer]):
        self.env = env
        self.network = network
        self.servers = servers
        # per origin server and TBD call number: the waiters of each number asked, and the dialog
        self._waiters: dict[tuple[str, int], dict[str, list[Mailbox]]] = {}
        self._dialogs: dict[tuple[str, int], object] = {}  # the engine's dialog on that call

    def peers(self, o: SimServer) -> list[SimServer]:
        """The origin's switches, in order: every other server."""
        return [s for sid, s in self.servers.items() if sid != o.id]

    def address(self, o: SimServer, peer: SimServer) -> str:
        """The peer's address the origin's switch names: internal if reachable, else external."""
        return peer.spec.internal if self.network.reachable(o.id, peer.spec.internal) else peer.spec.external

    def query(self, o: SimServer, peer: SimServer, number: str,
              rec: CallRecord) -> Generator[simpy.Event, object, int]:
        """Generator: DPSTATUS of ``number`` at ``peer`` via DPREQ, through the origin's cache."""
        env = self.env
        key = (peer.id, number)
        hit = o.dp_cache.get(key)
        if hit is not None and hit[0] > env.now:
            return hit[1]
        ip = self.address(o, peer)
        cid = o.endpoint.dial_lookup((ip, IAX2_PORT), number, CONTEXT, now=env.now)
        dialog = o.endpoint.call_info(cid)
        tbd = (o.id, cid)
        if self._dialogs.get(tbd) is not dialog:
            # a new TBD call (call numbers are reused once a closed one's hold-off ends):
            # one dispatcher serves every lookup on it
            self._dialogs[tbd] = dialog
            self._waiters[tbd] = {}
            o.driver.handlers[cid] = functools.partial(self._tbd_event, o, cid)
        mb = Mailbox(env)
        self._waiters[tbd].setdefault(number, []).append(mb)
        o.driver.pump()
        # Asterisk's dialplan thread waits at most iaxdefaulttimeout for the answer
        event = yield from mb.wait(o.endpoint.config.dp_timeout)
        if isinstance(event, DialplanReply):
            status = int(event.status)
            o.dp_cache[key] = (env.now + DP_CACHE, status)
            rec.comparisons += peer.meter.last_cost.pop(number, 0)
            return status
        o.dp_cache[key] = (env.now + DP_CACHE_TIMEOUT, 0)  # timeout, or the TBD call died
        return 0

    def _tbd_event(self, o: SimServer, cid: int, event: Event) -> None:
        tbd = (o.id, cid)
        waiting = self._waiters.get(tbd, {})
        if isinstance(event, (DialplanReply, DialplanTimeout)):
            for mb in waiting.pop(event.number, []):
                mb.put(event)
        elif isinstance(event, (CallFailed, CallHungUp, CallRejected)):
            self._waiters.pop(tbd, None)
            self._dialogs.pop(tbd, None)
            o.driver.handlers.pop(cid, None)
            for boxes in waiting.values():
                for mb in boxes:
                    mb.put(event)
