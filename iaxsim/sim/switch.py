"""``linking = "switch"``: numbers not found locally are asked of the peers with DPREQ.

The origin's dialplan is external.conf plus one ``switch => IAX2/<peer>/external`` per peer,
in scenario order. Every dialplan query a call makes (``ast_exists_extension``, the spawn of a
priority, ...) runs ``pbx_find_extension`` (main/pbx.c): the context's own extensions first,
then each switch in order until one says yes. An IAX2 switch answers through
``find_cache`` (chan_iax2.c): a DPREQ over the standing TBD call to the peer (opened on first
use, hung up 30 s after its last DPREQ), waiting at most ``iaxdefaulttimeout`` (5 s) for the
DPREP. Asterisk 22 keeps nothing between queries, so every query asks again
(``switch_cache = 0``, the default); ``switch_cache = 600`` keeps answers 600 s (timeouts
60 s), as chan_iax2's ``iaxdefaultdpcache`` documents.
"""
from __future__ import annotations

import functools
from typing import Generator

import simpy

from iaxsim.iax2.constants import DPStatus
from iaxsim.iax2.engine import (CallFailed, CallHungUp, CallRejected, DialplanReply, DialplanTimeout,
                                Event)
from iaxsim.sim.calls import CallRecord
from iaxsim.sim.driver import Mailbox
from iaxsim.sim.network import Network
from iaxsim.sim.scenario import IAX2_PORT
from iaxsim.sim.server import CONTEXT, SimServer

DP_CACHE_TIMEOUT = 60.0  # chan_iax2 find_cache: a timed-out answer is kept 60 s (when caching)


class SwitchLookup:
    """The origin's switches: dialplan queries through them, DPREQ lookups (cached if asked to)."""

    def __init__(self, env: simpy.Environment, network: Network, servers: dict[str, SimServer],
                 cache_seconds: float = 0.0):
        self.env = env
        self.cache_seconds = cache_seconds
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

    def find(self, o: SimServer, number: str,
             rec: CallRecord | None) -> Generator[simpy.Event, object, SimServer | None]:
        """Generator: one dialplan query (``pbx_find_extension``) of ``number`` at the origin:
        external.conf first (``o`` if it has the number), then each switch in order until one
        answers EXISTS (that peer), or None."""
        ext, cost = o.local_dp.lookup(number, CONTEXT, engine=o.spec.matcher)
        yield from o.charge_cpu(cost.comparisons, rec)
        if ext is not None:
            return o
        for peer in self.peers(o):
            status = yield from self.query(o, peer, number, rec)
            if status & DPStatus.EXISTS:
                return peer
        return None

    def query(self, o: SimServer, peer: SimServer, number: str,
              rec: CallRecord | None) -> Generator[simpy.Event, object, int]:
        """Generator: DPSTATUS of ``number`` at ``peer`` via DPREQ (from the origin's cache
        when ``switch_cache`` > 0 and the answer is still kept)."""
        env = self.env
        key = (peer.id, number)
        if self.cache_seconds > 0:
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
        mb = Mailbox(env, o.deadlines)
        self._waiters[tbd].setdefault(number, []).append(mb)
        o.driver.pump()
        # Asterisk's dialplan thread waits at most iaxdefaulttimeout for the answer
        event = yield from mb.wait(o.endpoint.config.dp_timeout)
        cost = peer.meter.last_cost.pop(number, 0)
        if rec is not None:
            rec.comparisons += cost
        if isinstance(event, DialplanReply):
            status = int(event.status)
            if self.cache_seconds > 0:
                o.dp_cache[key] = (env.now + self.cache_seconds, status)
            return status
        if self.cache_seconds > 0:
            o.dp_cache[key] = (env.now + min(DP_CACHE_TIMEOUT, self.cache_seconds), 0)  # timeout, or the TBD call died
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
