"""The simulated IP network: addresses, one-way latency, jitter, loss and firewalls.

It carries opaque datagrams (the engine's real bytes) between server addresses; it never
looks inside them. Rules, in order, for a datagram from server ``a`` to address ``x`` of
server ``b``:

0. a server behind NAT (``nat = true``) sends to external addresses from a translated
   source port (one per destination); replies to that port reach it, while nothing else
   arrives at its public address except on UDP 4569;
1. an *internal* address is reachable only from servers of the same site (unless the
   network's ``internal_scope`` is ``global``);
2. a firewall rule matching (from, to, address kind, UDP port) drops it — a *stateful*
   rule lets it through if ``b`` sent to ``a`` on that address pair within the conntrack
   timeout (a reply to a flow ``b`` opened);
3. it is lost with the link's loss probability;
4. otherwise it arrives after the link's one-way latency plus a uniform jitter draw;
   deliveries on one directed address pair never overtake each other (FIFO).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import simpy

from iaxsim.sim.capture import Captured
from iaxsim.sim.clock import delay_until
from iaxsim.sim.distributions import Distribution
from iaxsim.sim.scenario import IAX2_PORT, NetworkSpec, ServerSpec

Address = tuple[str, int]


class Delivery:
    """Datagrams from one source address arriving together at one server. It travels as the
    value of a SimPy timeout due at the arrival time, whose callback (``Network._arrive``)
    hands them to the receiver."""

    __slots__ = ("receive", "dst_id", "src_addr", "arrive", "datagrams")

    def __init__(self, receive: Callable[[list[bytes], Address], None], dst_id: str,
                 src_addr: Address, arrive: float, data: bytes):
        self.receive = receive
        self.dst_id = dst_id
        self.src_addr = src_addr
        self.arrive = arrive
        self.datagrams = [data]


@dataclass(frozen=True)
class _Path:
    latency: Distribution
    jitter: float
    loss: float


class _Route:
    """What a send from one server to one address works out from the tables alone (the
    common case: UDP 4569, no NAT translation, no firewall rule): kept per (server, address)."""

    __slots__ = ("counters", "scope_drop", "ips", "path", "delay", "dst_id", "src_addr", "src_ip",
                 "port", "fixed", "receive")

    def __init__(self, counters: "LinkCounters", scope_drop: bool, ips: tuple[str, str], path: _Path,
                 delay: float | None, dst_id: str, src_addr: Address, src_ip: str, port: int,
                 receive: Callable[[list[bytes], Address], None]):
        self.counters = counters
        self.scope_drop = scope_drop
        self.ips = ips
        self.path = path
        self.delay = delay
        self.dst_id = dst_id
        self.src_addr = src_addr
        self.src_ip = src_ip
        self.port = port
        #: a fixed latency, no jitter, no loss: every datagram arrives ``delay`` later, in order
        self.fixed = delay is not None and not path.jitter and not path.loss and not scope_drop
        self.receive = receive


@dataclass
class LinkCounters:
    """Datagrams and bytes offered to and delivered over one directed server pair."""

    sent: int = 0
    sent_bytes: int = 0
    delivered: int = 0
    dropped_firewall: int = 0
    dropped_scope: int = 0
    lost: int = 0


class Network:
    """Carries datagrams between the servers of a scenario inside a SimPy environment."""

    def __init__(self, env: simpy.Environment, servers: tuple[ServerSpec, ...], spec: NetworkSpec,
                 rng: np.random.Generator, capture: list[Captured] | None = None):
        self.env = env
        self.spec = spec
        self.rng = rng
        self.capture = capture
        self.owner: dict[str, tuple[str, str]] = {}  # ip → (server id, kind)
        self.address_of: dict[tuple[str, str], str] = {}
        self.site = {s.id: s.site for s in servers}
        for s in servers:
            self.owner[s.internal] = (s.id, "internal")
            self.owner[s.external] = (s.id, "external")
            self.address_of[(s.id, "internal")] = s.internal
            self.address_of[(s.id, "external")] = s.external
        self.receivers: dict[str, Callable[[list[bytes], Address], None]] = {}
        self.counters: dict[tuple[str, str], LinkCounters] = {}
        self._paths: dict[tuple[str, str], _Path] = {}
        overrides = {(ln.src, ln.dst): ln for ln in spec.links}
        ids = [s.id for s in servers]
        for a in ids:
            for b in ids:
                same_site = self.site[a] == self.site[b]
                base = _Path(spec.site_latency if same_site else spec.latency, spec.jitter, spec.loss)
                ov = overrides.get((a, b))
                if ov is not None:
                    base = _Path(ov.latency or base.latency,
                                 base.jitter if ov.jitter is None else ov.jitter,
                                 base.loss if ov.loss is None else ov.loss)
                self._paths[(a, b)] = base
                self.counters[(a, b)] = LinkCounters()
        self._last_seen: dict[tuple[str, str], float] = {}  # (src ip, dst ip) → last send time
        self._fifo: dict[tuple[str, str], float] = {}
        self.nat = {s.id for s in servers if s.nat}
        self._nat_port: dict[tuple[str, str], int] = {}
        self._nat_back: dict[tuple[str, int], str] = {}
        self._latency_cache: dict[tuple[str, str], float | None] = {
            k: (p.latency.params["value"] if p.latency.kind == "fixed" else None) for k, p in self._paths.items()}
        # (source server, destination address) -> what send() works out from the tables alone,
        # for the common case: UDP 4569, no NAT translation, no firewall rules
        self._routes: dict[tuple[str, Address], _Route | None] = {}
        self._open: Delivery | None = None  # the delivery the current batch may still join
        self._batching = False
        self._on_arrival = self._arrive  # bound once: the callback of every delivery

    def attach(self, server_id: str, receive: Callable[[list[bytes], Address], None]) -> None:
        """Register the function that takes datagrams arriving at ``server_id``: it gets the
        datagrams that arrive together from one source address, in order, and that address.
        What it sends meanwhile is one batch (:meth:`_arrive`)."""
        self.receivers[server_id] = receive

    def _arrive(self, event: simpy.Event) -> None:
        """A delivery's timeout came due: its datagrams arrive, and what the receiver sends
        meanwhile is one batch.

        A batch is one synchronous stretch of work at one instant, in which no SimPy event
        runs: datagrams that follow each other to the same server, from the same address,
        arriving at the same later time, travel in one :class:`Delivery`. The receiver gets
        the same datagrams in the same order at the same time as with one event each: every
        other event scheduled meanwhile is due earlier (now), or breaks the batch
        (:meth:`close_batch`). A single :meth:`send_all` is such a stretch too."""
        d = event.value
        assert isinstance(d, Delivery)  # (the value of deliveries' timeouts only)
        self._batching = True
        self._open = None
        try:
            d.receive(d.datagrams, d.src_addr)
        finally:
            self._batching = False
            self._open = None

    def source_address(self, src_id: str, dst_ip: str) -> str:
        """Which of its addresses ``src_id`` sends from towards ``dst_ip`` (same kind as the target)."""
        owner = self.owner.get(dst_ip)
        kind = owner[1] if owner else "external"
        return self.address_of[(src_id, kind)]

    def reachable(self, src_id: str, dst_ip: str) -> bool:
        """Whether the site rule lets ``src_id`` reach ``dst_ip`` at all (firewalls aside)."""
        owner = self.owner.get(dst_ip)
        if owner is None:
            return False
        dst_id, kind = owner
        return not (kind == "internal" and self.spec.internal_scope == "site"
                    and self.site[src_id] != self.site[dst_id])

    def _firewalled(self, src_id: str, src_ip: str, dst_id: str, dst_ip: str, kind: str, port: int) -> bool:
        for rule in self.spec.firewall:
            if rule.port != port or rule.src not in ("*", src_id) or rule.dst not in ("*", dst_id):
                continue
            if rule.kind not in ("any", kind):
                continue
            if rule.stateful:
                last = self._last_seen.get((dst_ip, src_ip))
                if last is not None and self.env.now - last <= self.spec.conntrack_timeout:
                    continue
            return True
        return False

    def _route(self, src_id: str, dst: Address) -> _Route | None:
        """The static part of a send from ``src_id`` to ``dst``, or None when it depends on
        state (NAT mappings, firewall conntrack) or the address is unknown."""
        dst_ip, port = dst
        owner = self.owner.get(dst_ip)
        if owner is None or port != IAX2_PORT or self.spec.firewall:
            return None
        dst_id, kind = owner
        if kind == "external" and src_id in self.nat:
            return None
        src_ip = self.address_of[(src_id, kind)]
        pair = (src_id, dst_id)
        scope_drop = (self.spec.internal_scope == "site" and kind == "internal"
                      and self.site[src_id] != self.site[dst_id])
        path = self._paths[pair]
        delay = self._latency_cache[pair]
        return _Route(self.counters[pair], scope_drop, (src_ip, dst_ip), path, delay, dst_id,
                      (src_ip, IAX2_PORT), src_ip, port, self.receivers[dst_id])

    def static_route(self, src_id: str, dst: Address) -> tuple[LinkCounters, float | None] | None:
        """When every datagram from ``src_id`` to ``dst`` meets one fate known from the tables
        alone: the link's counters and the one-way latency (a fixed latency, no jitter, no loss,
        UDP 4569, no NAT translation, no firewall rule), or None for the latency when the site
        rule drops them all. None when the fate depends on draws or state."""
        key = (src_id, dst)
        if key not in self._routes:
            self._routes[key] = self._route(src_id, dst)
        route = self._routes[key]
        if route is None:
            return None
        if route.scope_drop:
            return route.counters, None
        return (route.counters, route.delay) if route.fixed else None

    def fixed_latency(self, src_id: str, dst_id: str) -> float | None:
        """The one-way latency from server ``src_id`` to ``dst_id`` when it is fixed and
        jitter-free, else None."""
        return None if self._paths[(src_id, dst_id)].jitter else self._latency_cache[(src_id, dst_id)]

    def send_all(self, src_id: str, datagrams: list[tuple[bytes, Address]], now: float | None = None) -> None:
        """Offer datagrams sent at this instant (``now``: the simulated time, when the caller
        has it at hand), in order (batched as :meth:`_arrive` says)."""
        if not self._batching:
            self._open = None
        if now is None:
            now = self.env.now
        send = self._send_one
        for data, dst in datagrams:
            send(src_id, data, dst, now)
        if not self._batching:
            self._open = None

    def close_batch(self, at: float) -> None:
        """Something else was just scheduled at ``at``: a later datagram arriving then must
        not overtake it by joining an earlier delivery."""
        op = self._open
        if op is not None and op.arrive == at:
            self._open = None

    def _send_one(self, src_id: str, data: bytes, dst: Address, now: float) -> bool:
        key = (src_id, dst)
        try:
            route = self._routes[key]
        except KeyError:
            route = self._routes[key] = self._route(src_id, (dst[0], dst[1]))
        except TypeError:  # an unhashable address (a list): no route caching
            route = None
        if route is None:
            return self._send_general(src_id, data, dst, now)
        # the same steps as _send_general, with the table look-ups done once per route (no
        # firewall rule reads the conntrack table on a cached route: _route)
        counters = route.counters
        counters.sent += 1
        counters.sent_bytes += len(data)
        if route.fixed:  # the common case, in one stretch: delivered ``delay`` later
            counters.delivered += 1
            delay = route.delay
            assert delay is not None  # (route.fixed)
            arrive = now + delay
            if self.capture is not None:
                self.capture.append((arrive, route.src_ip, IAX2_PORT, route.ips[1], route.port, data))
            op = self._open
            if op is not None and op.arrive == arrive and op.dst_id == route.dst_id \
                    and op.src_addr == route.src_addr:
                op.datagrams.append(data)
            else:
                self._open_delivery(route.receive, route.dst_id, route.src_addr, arrive, delay, now,
                                    data)
            return True
        if route.scope_drop:
            counters.dropped_scope += 1
            return False
        path = route.path
        if path.loss and self.rng.random() < path.loss:
            counters.lost += 1
            return False
        delay = route.delay
        if delay is not None and not path.jitter:  # a fixed latency keeps sending order by itself
            arrive = now + delay
        else:
            if delay is None:
                delay = float(path.latency.sample(self.rng, 1)[0])
            if path.jitter:
                delay += float(self.rng.uniform(0.0, path.jitter))
            arrive = now + delay
            fifo = self._fifo
            ips = route.ips
            prev = fifo.get(ips)
            if prev is not None and arrive < prev:
                delay = delay_until(now, prev)
                arrive = now + delay
            fifo[ips] = arrive
        counters.delivered += 1
        if self.capture is not None:
            self.capture.append((arrive, route.src_ip, IAX2_PORT, route.ips[1], route.port, data))
        self._deliver(route.dst_id, route.src_addr, arrive, delay, now, data)
        return True

    def _deliver(self, dst_id: str, src_addr: Address, arrive: float, delay: float, now: float,
                 data: bytes) -> None:
        """Hand ``data`` to ``dst_id`` at ``arrive``: joins the batch's open delivery when it
        goes to the same place from the same address at the same time, else a new delivery on
        SimPy's event queue."""
        op = self._open
        if op is not None and op.arrive == arrive and op.dst_id == dst_id and op.src_addr == src_addr:
            op.datagrams.append(data)
            return
        self._open_delivery(self.receivers[dst_id], dst_id, src_addr, arrive, delay, now, data)

    def _open_delivery(self, receive: Callable[[list[bytes], Address], None], dst_id: str,
                       src_addr: Address, arrive: float, delay: float, now: float, data: bytes) -> None:
        """A new delivery of ``data`` on SimPy's event queue, which later datagrams of this batch
        may join."""
        op = Delivery(receive, dst_id, src_addr, arrive, data)
        # due at ``now + delay == arrive``: a datagram held back to the arrival of the one before
        # it (FIFO) must not overtake that one by a rounding (clock.delay_until)
        self.env.timeout(delay, op).callbacks.append(self._on_arrival)
        # a delivery due now could be overtaken by events scheduled for now meanwhile: never joined
        self._open = op if arrive > now else None

    def _send_general(self, src_id: str, data: bytes, dst: Address, now: float) -> bool:
        """``send`` for every case (NAT, firewalls, other ports, unknown addresses)."""
        dst_ip, port = dst
        owner = self.owner.get(dst_ip)
        if owner is None:
            return False
        dst_id, kind = owner
        if port != IAX2_PORT:
            if self._nat_back.get((dst_ip, port)) != dst_id:
                return False  # no such NAT mapping: nothing listens there
        src_ip = self.address_of[(src_id, kind)]
        src_port = IAX2_PORT
        if kind == "external" and src_id in self.nat:
            nat_port = self._nat_port.get((src_id, dst_ip))
            if nat_port is None:
                nat_port = self._nat_port[(src_id, dst_ip)] = 20000 + len(self._nat_port)
                self._nat_back[(src_ip, nat_port)] = src_id
            src_port = nat_port
        pair = (src_id, dst_id)
        counters = self.counters[pair]
        counters.sent += 1
        counters.sent_bytes += len(data)
        if self.spec.internal_scope == "site" and kind == "internal" and self.site[src_id] != self.site[dst_id]:
            counters.dropped_scope += 1
            return False
        if self.spec.firewall and self._firewalled(src_id, src_ip, dst_id, dst_ip, kind, port):
            counters.dropped_firewall += 1
            return False
        self._last_seen[(src_ip, dst_ip)] = now
        path = self._paths[pair]
        if path.loss and self.rng.random() < path.loss:
            counters.lost += 1
            return False
        delay = self._latency_cache[pair]
        if delay is None:
            delay = float(path.latency.sample(self.rng, 1)[0])
        if path.jitter:
            delay += float(self.rng.uniform(0.0, path.jitter))
        arrive = now + delay
        key = (src_ip, dst_ip)
        prev = self._fifo.get(key)
        if prev is not None and arrive < prev:
            delay = delay_until(now, prev)
            arrive = now + delay
        self._fifo[key] = arrive
        counters.delivered += 1
        if self.capture is not None:
            self.capture.append((arrive, src_ip, src_port, dst_ip, port, data))
        self._deliver(dst_id, (src_ip, src_port), arrive, delay, now, data)
        return True
