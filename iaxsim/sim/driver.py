"""SimPy adapter around the sans-I/O IAX2 engine (one per simulated server).

The engine is driven exactly as the asyncio node drives it: datagrams in with ``now``,
``datagrams_to_send`` out to the simulated network, ``handle_timer`` at ``get_timer()``,
events read with ``next_event`` and handed to the handler registered for their call id
(or to the server's default handler, e.g. for ``IncomingCall``).

CPU: when the engine itself consults the dialplan (answering a DPREQ), the dialplan proxy
records the work; the driver then holds the replies until the server's CPU has served
``base + per_comparison × comparisons`` — so an overloaded server answers late.
"""
from __future__ import annotations

from typing import Callable, Generator, Protocol

import simpy

from iaxsim.iax2.engine import Endpoint, Event, IncomingCall
from iaxsim.sim.clock import delay_until
from iaxsim.sim.deadlines import Deadline, Deadlines
from iaxsim.sim.network import Network

Address = tuple[str, int]
#: serves ``comparisons`` on the server's CPU, then calls the function given
AfterCpu = Callable[[int, Callable[[], None]], None]


class WorkMeter(Protocol):
    """Counts the dialplan comparisons the engine made itself (answering DPREQs)."""

    work: int

    def take(self) -> int: ...


class Mailbox:
    """Events for one call, and the SimPy event a waiting process sleeps on."""

    __slots__ = ("env", "items", "waiter", "deadlines", "limit")

    def __init__(self, env: simpy.Environment, deadlines: Deadlines):
        self.env = env
        self.items: list[object] = []
        self.waiter: simpy.Event | None = None
        self.deadlines = deadlines  # where a wait's time limit is kept
        self.limit: Deadline | None = None  # the running wait's

    def put(self, item: object) -> None:
        """Hand the call's process an item (an engine event), waking it if it waits."""
        self.items.append(item)
        w = self.waiter
        if w is not None:
            self.waiter = None  # woken once: later items wait in the list
            if self.limit is not None:
                self.limit.cancel()
                self.limit = None
            w.succeed()

    def wait(self, timeout: float | None = None) -> Generator[simpy.Event, object, object]:
        """Generator: wait until an item is there or ``timeout`` s pass; returns the item or None."""
        if not self.items:
            self.waiter = w = self.env.event()
            if timeout is not None:
                self.limit = self.deadlines.add(max(0.0, timeout), lambda: self._expire(w))
            yield w
            self.waiter = None
            if not self.items:
                return None
        return self.items.pop(0)

    def _expire(self, waiter: simpy.Event) -> None:
        """A wait's time limit: wake ``waiter`` unless an item woke it first."""
        if self.waiter is waiter:
            self.waiter = None
            self.limit = None
            waiter.succeed()


class EngineDriver:
    """Runs one :class:`Endpoint` in simulated time on a :class:`~iaxsim.sim.network.Network`."""

    def __init__(self, env: simpy.Environment, server_id: str, endpoint: Endpoint, network: Network,
                 default_handler: Callable[[Event], None],
                 on_sent: Callable[[list[tuple[bytes, Address]]], None] | None = None,
                 after_cpu: AfterCpu | None = None, dp_proxy: WorkMeter | None = None):
        self.env = env
        self.sid = server_id
        self.ep = endpoint
        self.net = network
        self.default_handler = default_handler
        self.handlers: dict[int, Callable[[Event], None]] = {}  # call id -> who takes its events
        self.on_sent = on_sent
        self.after_cpu = after_cpu
        self.dp_proxy = dp_proxy
        self._wake_at: float | None = None
        self._on_wake = self._fire  # bound once: one callback for every wake-up
        network.attach(server_id, self.receive)

    # -- input
    def receive(self, datagrams: list[bytes], addr: Address) -> None:
        """Datagrams arrived together from ``addr`` (the network sends the replies as one
        batch): each is handed to the engine, then its replies and events go out (after the
        CPU time of any lookup the engine made)."""
        ep, now, proxy = self.ep, self.env.now, self.dp_proxy
        receive, pump = ep.receive_datagram, self.pump
        for data in datagrams:
            receive(data, addr, now)
            if proxy is not None and proxy.work:
                work = proxy.take()
                if self.after_cpu is not None:
                    self.after_cpu(work, pump)
                    continue
            pump(now)

    def _fire(self, wake: simpy.Event) -> None:
        """The engine's timer came due (a SimPy timeout whose value is the timer's time)."""
        at = wake.value
        if at != self._wake_at:
            return  # superseded by an earlier wake-up that already ran
        self._wake_at = None
        t = self.ep.get_timer()
        now = self.env.now
        if t is not None and t <= now + 1e-9:
            self.ep.handle_timer(max(now, t))
        self.pump()

    # -- output
    def pump(self, now: float | None = None) -> None:
        """Send what the engine queued, dispatch its events, re-arm its timer (``now``: the
        simulated time, when the caller has it at hand)."""
        ep = self.ep
        if now is None:
            now = self.env.now
        next_event = ep.next_event
        while True:
            out = ep.datagrams_to_send(now)
            if out:
                if self.on_sent is not None:
                    self.on_sent(out)
                self.net.send_all(self.sid, out, now)
            event = next_event()
            if event is None:
                # sending never calls back into the engine (deliveries are scheduled), so
                # with no event to dispatch nothing new can have been queued: done
                break
            handlers, default = self.handlers, self.default_handler
            while event is not None:
                # a call id announced by IncomingCall is new: a handler left under the same
                # (reused) number by a dialog the engine closed silently must not take it
                if type(event) is IncomingCall:
                    default(event)
                else:
                    (handlers.get(getattr(event, "call_id", -1)) or default)(event)
                event = next_event()
        t = ep.get_timer()
        if t is not None and (self._wake_at is None or t < self._wake_at):
            self._wake_at = t
            self.env.timeout(delay_until(now, t) if t > now else 0.0, t).callbacks.append(self._on_wake)
            self.net.close_batch(t)
