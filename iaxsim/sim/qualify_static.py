"""Qualify over a static route, worked out instead of replayed.

When every datagram between a server and a peer address meets a fate known from the network's
tables alone — delivered after a fixed one-way latency both ways (no jitter, no loss, no
firewall rule, no NAT, UDP 4569), or dropped by the site rule — the whole qualify history of
that address follows from the engine's rules, and the simulator works it out instead of
exchanging the datagrams:

* a POKE goes out, and is resent at the engine's retransmission deadlines
  (:func:`~iaxsim.iax2.engine.reliability.next_rto`, from the POKE dialog's first timeout) until
  the PONG arrives, the retransmissions give up, or the POKE's timeout
  (:meth:`Qualify.poke_timeout <iaxsim.iax2.engine.qualify.Qualify.poke_timeout>`) runs out;
* the peer answers every POKE that reaches it with a PONG at once; the first PONG back gives
  the round trip (latency there plus latency back, as the engine measures it from the POKE's
  send time) and is ACKed, each later PONG (answering a retransmission) finds the POKE call
  gone and gets an INVAL; nobody answers an ACK or an INVAL;
* :class:`~iaxsim.iax2.engine.qualify.Qualify` takes the outcome (``answered`` /
  ``unanswered``) and says when the next POKE goes.

What a Dial reads (:class:`StaticQualify`'s ``status`` and ``usable``) is that timeline at the
current simulated time, and :meth:`StaticQualifying.tally` adds every datagram sent up to the
end of the run to the network's per-link counters, as the exchange would have. The datagram
sizes come from a real exchange between two throwaway engines (:func:`probe_exchange`), which
also checks that the engine answers as described above; when it does not, or when a round trip
lands within :data:`MARGIN` of a retransmission deadline or of the timeout (the order of the
two same-time events would depend on the engine's other timers), the address is replayed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import simpy

from iaxsim.iax2.engine import Endpoint, EndpointConfig, PeerStatus, PongReceived, Qualify
from iaxsim.iax2.engine.reliability import next_rto
from iaxsim.sim.network import LinkCounters, Network
from iaxsim.sim.scenario import IAX2_PORT

if TYPE_CHECKING:
    from iaxsim.sim.server import SimServer

#: A round trip this close (s) to a retransmission deadline or to the POKE's timeout is replayed.
MARGIN = 1e-6


@dataclass(frozen=True)
class PokeExchange:
    """The sizes (bytes) of the datagrams of one POKE, as the engine encodes them, and the POKE's
    first retransmission timeout (s)."""

    poke: int
    resend: int
    pong: int
    ack: int
    inval: int
    rto: float


def probe_exchange(poker: EndpointConfig, peer: EndpointConfig) -> PokeExchange | None:
    """One POKE between two fresh engines with these configurations, each step fed by hand:
    POKE, its retransmission, the PONG to each, the ACK of the first PONG, the INVAL for the
    second. None when the engines do not answer exactly so (one datagram per step, none to the
    ACK or the INVAL, ``PongReceived`` once)."""
    a, b = ("192.0.2.1", IAX2_PORT), ("192.0.2.2", IAX2_PORT)
    p, q = Endpoint(poker, seed=0), Endpoint(peer, seed=0)

    def one(ep: Endpoint, to: tuple[str, int], now: float) -> bytes | None:
        out = ep.datagrams_to_send(now)
        return out[0][0] if len(out) == 1 and out[0][1] == to else None

    cid = p.poke(b, now=0.0, timeout=1e6)
    poke = one(p, b, 0.0)
    dialog = p.call_info(cid)
    if poke is None or dialog is None or len(dialog.pending) != 1:
        return None
    rto = next(iter(dialog.pending.values())).rto
    p.handle_timer(rto)
    resend = one(p, b, rto)
    if resend is None:
        return None
    pongs = []
    for data in (poke, resend):
        q.receive_datagram(data, a, rto)
        pongs.append(one(q, a, rto))
    if pongs[0] is None or pongs[1] is None or len(pongs[0]) != len(pongs[1]):
        return None
    p.receive_datagram(pongs[0], b, 2 * rto)
    ack = one(p, b, 2 * rto)
    if not isinstance(p.next_event(), PongReceived) or p.next_event() is not None:
        return None
    p.receive_datagram(pongs[1], b, 2 * rto)
    inval = one(p, b, 2 * rto)
    if ack is None or inval is None or p.next_event() is not None:
        return None
    for data in (ack, inval):
        q.receive_datagram(data, a, 3 * rto)
    if q.datagrams_to_send(3 * rto) or q.next_event() is not None:
        return None
    return PokeExchange(len(poke), len(resend), len(pongs[0]), len(ack), len(inval), rto)


@dataclass(frozen=True, slots=True)
class Cycle:
    """One POKE: its send times (the first, then each retransmission), when it ended (the
    PONG's arrival, or the timeout / give-up) and the round trip (None: unanswered)."""

    sends: list[float]
    done: float
    rtt: float | None


class StaticQualify:
    """The qualify state of one address over a static route: what
    :class:`~iaxsim.iax2.engine.qualify.Qualify` holds at the current simulated time."""

    __slots__ = ("env", "cfg", "x", "offset", "there", "back", "_state", "_next", "_cycle")

    def __init__(self, env: simpy.Environment | None, cfg: EndpointConfig, x: PokeExchange,
                 offset: float, there: float | None, back: float | None):
        self.env = env
        self.cfg = cfg
        self.x = x
        self.offset = offset
        self.there = there   # one-way latency to the address (None: nothing arrives)
        self.back = back     # one-way latency of the PONG
        self._state = Qualify.from_config(cfg)
        self._next = offset  # when the next POKE goes
        self._cycle: Cycle | None = None  # the POKE in progress

    def cycle(self, t: float, timeout: float) -> Cycle:
        """The POKE sent at ``t`` with ``timeout``: times worked out as the simulation does
        (each delivery ``latency`` after its send, each deadline ``rto`` after the last)."""
        cfg, there, back = self.cfg, self.there, self.back
        expire = t + timeout
        answer = (t + there) + back if there is not None and back is not None else math.inf
        sends = [t]
        rto = self.x.rto
        deadline = t + rto
        while deadline <= expire and deadline < answer:
            if len(sends) >= cfg.max_sends:  # the engine gives up: PokeTimeout then
                return Cycle(sends, deadline, None)
            sends.append(deadline)
            rto = next_rto(rto, cfg.retry_factor, cfg.max_retry)
            deadline = deadline + rto
        if answer <= expire:
            return Cycle(sends, answer, answer - t)
        return Cycle(sends, expire, None)

    def _apply(self, state: Qualify, c: Cycle) -> float:
        """The POKE's outcome into ``state``; returns when the next POKE goes."""
        wait = state.answered(c.rtt) if c.rtt is not None else state.unanswered()
        return c.done + wait

    def state_at(self, now: float) -> Qualify:
        """The address's :class:`Qualify` once every POKE outcome up to ``now`` is in."""
        state = self._state
        while self._next <= now:
            c = self._cycle
            if c is None:
                c = self._cycle = self.cycle(self._next, state.poke_timeout())
            if c.done > now:
                break
            self._next = self._apply(state, c)
            self._cycle = None
        return state

    @property
    def status(self) -> PeerStatus:
        """The status now, as Asterisk's ``peer_status`` words it."""
        return self.state_at(self._now()).status

    @property
    def usable(self) -> bool:
        """False when a Dial to the address fails at once now."""
        return self.state_at(self._now()).usable

    def _now(self) -> float:
        if self.env is None:
            raise RuntimeError("a StaticQualify without a simulation has no current time")
        return self.env.now

    def tally(self, end: float, there: LinkCounters, back: LinkCounters) -> None:
        """Add every datagram sent up to ``end`` to the counters of the link to the address
        (``there``: POKEs, ACKs, INVALs) and of the link back (``back``: PONGs)."""
        x, lat_there, lat_back = self.x, self.there, self.back
        state = Qualify.from_config(self.cfg)
        t = self.offset
        pokes = resends = acks = invals = pongs = 0
        while t <= end:
            c = self.cycle(t, state.poke_timeout())
            for i, s in enumerate(c.sends):
                if s > end:
                    break
                if i:
                    resends += 1
                else:
                    pokes += 1
                if lat_there is None or lat_back is None:
                    continue
                pong = s + lat_there
                if pong > end:
                    continue
                pongs += 1
                if pong + lat_back <= end:
                    if i:
                        invals += 1
                    else:
                        acks += 1
            if c.done > end:
                break
            t = self._apply(state, c)
        sent = pokes + resends + acks + invals
        there.sent += sent
        there.sent_bytes += pokes * x.poke + resends * x.resend + acks * x.ack + invals * x.inval
        if lat_there is None:
            there.dropped_scope += sent
        else:
            there.delivered += sent
        back.sent += pongs
        back.sent_bytes += pongs * x.pong
        back.delivered += pongs


def clear_of_deadlines(cfg: EndpointConfig, x: PokeExchange, rtt: float) -> bool:
    """Whether the round trip ``rtt`` keeps :data:`MARGIN` away from every retransmission
    deadline and from the timeout of a POKE to an address not known to be unreachable."""
    timeout = Qualify.from_config(cfg).poke_timeout()
    if rtt > timeout - MARGIN:
        return False
    unanswered = StaticQualify(None, cfg, x, 0.0, None, None).cycle(0.0, timeout)
    return all(abs(rtt - s) > MARGIN for s in unanswered.sends[1:] + [unanswered.done])


#: A server to qualify, one of its addresses and when its first POKE goes (s).
Target = tuple["SimServer", str, float]


class StaticQualifying:
    """The addresses of a model whose qualify is worked out (:class:`StaticQualify`) rather
    than replayed."""

    def __init__(self, env: simpy.Environment, network: Network):
        self.env = env
        self.network = network
        self.entries: list[tuple[StaticQualify, LinkCounters, LinkCounters]] = []
        self._probes: dict[tuple[str, str], PokeExchange | None] = {}

    def add_server(self, o: SimServer, targets: list[Target]) -> list[Target]:
        """Qualify ``o``'s ``targets`` — (peer, one of its addresses, offset of the first POKE)
        — by their static timelines where the route allows; returns those to replay. Every
        target is replayed when a round trip of any of them may fall on a retransmission
        deadline or the timeout (:data:`MARGIN`): which of the two same-time events comes
        first then depends on when the engine's timer was armed, that is on ``o``'s other
        POKEs, so none may be left out."""
        planned = []
        for peer, ip, offset in targets:
            plan = self._plan(o, peer, ip, offset)
            if plan is None and self._may_tie(o, peer):
                return targets
            planned.append((peer, ip, offset, plan))
        replay = []
        for peer, ip, offset, plan in planned:
            if plan is None:
                replay.append((peer, ip, offset))
            else:
                o.qualified[ip] = plan[0]
                self.entries.append(plan)
        return replay

    def _probe(self, o: SimServer, peer: SimServer) -> PokeExchange | None:
        key = (o.id, peer.id)
        if key not in self._probes:
            self._probes[key] = probe_exchange(o.endpoint.config, peer.endpoint.config)
        return self._probes[key]

    def _plan(self, o: SimServer, peer: SimServer, ip: str,
              offset: float) -> tuple[StaticQualify, LinkCounters, LinkCounters] | None:
        """``ip``'s timeline and the counters of the links there and back, or None when the
        route is not static or its round trip is too close to call."""
        net = self.network
        there = net.static_route(o.id, (ip, IAX2_PORT))
        if there is None:
            return None
        counters, delay = there
        counters_back = counters
        back: float | None = None
        if delay is not None:
            src_ip = net.source_address(o.id, ip)
            route_back = net.static_route(peer.id, (src_ip, IAX2_PORT))
            if route_back is None or route_back[1] is None or net.source_address(peer.id, src_ip) != ip:
                return None
            counters_back, back = route_back
        x = self._probe(o, peer)
        if x is None:
            return None
        cfg = o.endpoint.config
        if delay is not None and back is not None and not clear_of_deadlines(cfg, x, delay + back):
            return None
        return StaticQualify(self.env, cfg, x, offset, delay, back), counters, counters_back

    def _may_tie(self, o: SimServer, peer: SimServer) -> bool:
        """Whether a round trip between ``o`` and ``peer`` may land on a POKE's retransmission
        deadline or timeout (a fixed latency both ways, jitter-free, too close to call)."""
        there = self.network.fixed_latency(o.id, peer.id)
        back = self.network.fixed_latency(peer.id, o.id)
        if there is None or back is None:
            return False  # a drawn latency: no two events share a time
        x = self._probe(o, peer)
        return x is None or not clear_of_deadlines(o.endpoint.config, x, there + back)

    def tally(self, end: float) -> None:
        """Add the datagrams of every worked-out address, sent up to ``end``, to the network's
        counters."""
        for sq, there, back in self.entries:
            sq.tally(end, there, back)
