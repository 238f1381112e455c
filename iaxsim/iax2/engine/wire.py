"""An in-memory network for endpoints: a virtual clock, latency, and injected faults.

Used by the engine's tests and benchmark (and handy for anything that wants two or more
endpoints talking without sockets). Every datagram is the real encoded bytes; faults are
seeded (``loss``, ``duplicate``, ``jitter`` which reorders) or targeted with filters::

    wire = Wire(latency=0.01, seed=1)
    wire.attach(("10.0.0.1", 4569), a); wire.attach(("10.0.0.2", 4569), b)
    wire.add_filter(lambda p: "drop" if p.frame_is(IAXSubclass.ACCEPT) else None)
    wire.run(until=40.0)
"""
from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, Union

from iaxsim.errors import IaxsimError
from iaxsim.iax2.constants import DecodeError, FrameType
from iaxsim.iax2.engine.events import Event
from iaxsim.iax2.frames import Frame, FullFrame, decode

if TYPE_CHECKING:
    from iaxsim.iax2.engine.endpoint import Endpoint

Address = tuple[str, int]


@dataclass
class Packet:
    """One datagram on the wire."""

    data: bytes
    src: Address
    dst: Address
    sent: float
    _frame: Union[Frame, bool, None] = field(default=None, repr=False)  # False: garbage

    @property
    def frame(self) -> Optional[Frame]:
        """The decoded frame (None if it does not decode)."""
        if self._frame is None:
            try:
                self._frame = decode(self.data)
            except DecodeError:
                self._frame = False
        return self._frame if not isinstance(self._frame, bool) else None

    @property
    def label(self) -> str:
        """Short name: the IAX or control subclass name ("NEW", "RINGING"), "VOICE" for a
        full voice frame, "MINI", "TRUNK", "VIDEO", or "GARBAGE"."""
        f = self.frame
        if f is None:
            return "GARBAGE"
        if isinstance(f, FullFrame):
            if f.frametype == FrameType.VOICE:
                return "VOICE"
            name = getattr(f.subclass, "name", None)
            return name if name is not None else f"{f.frametype}/{f.subclass}"
        return {"mini": "MINI", "trunk": "TRUNK", "video": "VIDEO"}.get(f.kind, f.kind)

    def frame_is(self, subclass: int, frametype: int = FrameType.IAX) -> bool:
        """True for a full frame of this type and subclass (IAX by default)."""
        f = self.frame
        return (isinstance(f, FullFrame) and f.frametype == frametype
                and f.subclass == subclass)


#: A filter's verdict: None (deliver), "drop", or extra seconds of delay.
Filter = Callable[[Packet], Union[None, str, float]]
#: Sees an endpoint's events: handler(event, now).
Handler = Callable[[Event, float], None]


class Wire:
    """Endpoints addressed by ``(host, port)``, joined by a lossy, delaying network.

    A filter returns None (deliver), ``"drop"``, or a number of extra seconds of delay.
    ``log`` keeps every datagram sent (dropped ones included) as Packets; ``events`` every
    event per endpoint address, in order, unless a handler consumes them.
    """

    def __init__(self, latency: float = 0.01, seed: int = 0, loss: float = 0.0,
                 duplicate: float = 0.0, jitter: float = 0.0, keep_log: bool = True):
        self.latency, self.loss, self.duplicate, self.jitter = latency, loss, duplicate, jitter
        self.now = 0.0
        self._rng = random.Random(seed)
        self._nodes: dict[Address, Endpoint] = {}
        self._queue: list[tuple[float, int, Packet]] = []
        self._seq = itertools.count()
        self.filters: list[Filter] = []
        self.handlers: dict[Address, Handler] = {}
        self.events: dict[Address, list[Event]] = {}
        self.log: list[Packet] = []
        self.keep_log = keep_log
        self.delivered = 0
        self.dropped = 0

    def attach(self, addr: Address, endpoint: Endpoint,
               handler: Optional[Handler] = None) -> None:
        """Put ``endpoint`` on the wire at ``addr``; ``handler(event, now)`` sees its events."""
        self._nodes[addr] = endpoint
        self.events[addr] = []
        if handler is not None:
            self.handlers[addr] = handler

    def add_filter(self, fn: Filter) -> None:
        """Add a per-packet filter (see the class docstring)."""
        self.filters.append(fn)

    def inject(self, data: bytes, src: Address, dst: Address, delay: float = 0.0) -> None:
        """Put raw bytes on the wire toward ``dst`` (from anyone, e.g. an attacker)."""
        heapq.heappush(self._queue, (self.now + delay, next(self._seq),
                                     Packet(data, src, dst, self.now)))

    # -- running
    def _collect(self) -> None:
        rng = self._rng
        for addr, ep in self._nodes.items():
            for data, dst in ep.datagrams_to_send(self.now):
                p = Packet(data, addr, (dst[0], dst[1]), self.now)
                if self.keep_log:
                    self.log.append(p)
                extra = 0.0
                drop = False
                for fn in self.filters:
                    verdict = fn(p)
                    if verdict == "drop":
                        drop = True
                        break
                    if verdict is not None:
                        extra += float(verdict)
                if drop or (self.loss and rng.random() < self.loss):
                    self.dropped += 1
                    continue
                copies = 2 if self.duplicate and rng.random() < self.duplicate else 1
                for _ in range(copies):
                    delay = self.latency + extra
                    if self.jitter:
                        delay += rng.random() * self.jitter
                    heapq.heappush(self._queue, (self.now + delay, next(self._seq), p))

    def _drain_events(self) -> None:
        for addr, ep in self._nodes.items():
            handler = self.handlers.get(addr)
            while True:
                e = ep.next_event()
                if e is None:
                    break
                self.events[addr].append(e)
                if handler is not None:
                    handler(e, self.now)

    def _next_time(self) -> Optional[float]:
        best = self._queue[0][0] if self._queue else None
        for ep in self._nodes.values():
            t = ep.get_timer()
            if t is not None and (best is None or t < best):
                best = t
        return best

    def step(self) -> bool:
        """Advance to the next delivery or timer and process everything due; False when
        nothing is left to do."""
        self._drain_events()
        self._collect()
        t = self._next_time()
        if t is None:
            return False
        self.now = max(self.now, t)
        q = self._queue
        while q and q[0][0] <= self.now:
            _, _, p = heapq.heappop(q)
            ep = self._nodes.get(p.dst)
            if ep is not None:
                ep.receive_datagram(p.data, p.src, self.now)
                self.delivered += 1
        for ep in self._nodes.values():
            timer = ep.get_timer()
            if timer is not None and timer <= self.now:
                ep.handle_timer(self.now)
        self._drain_events()
        self._collect()
        return True

    def run(self, until: Optional[float] = None, max_steps: int = 1_000_000,
            stop: Optional[Callable[[], bool]] = None) -> float:
        """Step until time ``until`` (the clock reaches it even when nothing is left to do),
        until idle when no ``until`` is given, or until ``stop()`` is true; returns the time
        reached."""
        for _ in range(max_steps):
            if stop is not None and stop():
                return self.now
            self._drain_events()
            self._collect()
            t = self._next_time()
            if t is None:  # idle: the clock still runs to ``until``
                if until is not None:
                    self.now = max(self.now, until)
                break
            if until is not None and t > until:
                self.now = until
                break
            self.step()
        else:
            raise IaxsimError(f"wire did not settle within {max_steps} steps")
        return self.now

    def sent(self, src: Optional[Address] = None) -> list[Packet]:
        """Logged packets, optionally only those sent by ``src``."""
        return [p for p in self.log if src is None or p.src == src]

    def labels(self, src: Optional[Address] = None) -> list[str]:
        """``Packet.label`` of every logged packet (optionally only from ``src``)."""
        return [p.label for p in self.sent(src)]
