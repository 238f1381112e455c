"""Run the sans-I/O engine on real UDP sockets and the asyncio event loop's clock.

The :class:`Transport` owns one :class:`~iaxsim.iax2.engine.Endpoint` and any number of UDP
sockets (a node with an internal and an external address binds two). It does exactly four
things, and no protocol logic:

* feeds every received datagram to ``endpoint.receive_datagram(data, addr, now)``;
* sends whatever ``endpoint.datagrams_to_send(now)`` returns, from the socket that last heard
  from that destination (so replies leave from the address the request reached), else from
  the first socket;
* arms one ``loop.call_at`` for ``endpoint.get_timer()`` and calls ``handle_timer`` then;
* hands each engine event to ``on_event`` and to any coroutine waiting in :meth:`wait_for`.

Engine time is ``loop.time()`` minus the loop time at construction, so it starts near 0;
``wallclock_offset`` is set so DATETIME IEs and call tokens carry the real date.

Tests and experiments can drop datagrams without touching a firewall: ``filters`` holds
predicates ``f(direction, local, remote, data) -> bool`` ("in" or "out"; True drops). Dropped
datagrams are counted in ``stats`` like everything else. ``capture`` (a list) receives a
:class:`~iaxsim.iax2.pcap.Datagram` per datagram sent or received, for ``write_pcap``.
"""
from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from iaxsim.errors import IaxsimError
from iaxsim.iax2.engine import Endpoint, Event
from iaxsim.iax2.pcap import Datagram

Address = tuple[str, int]
#: ``f(direction, local_address, remote_address, data) -> True to drop``.
Filter = Callable[[str, Address, Address, bytes], bool]


class NetError(IaxsimError):
    """A network operation cannot be carried out (bad address, bind failure, timeout)."""


def parse_hostport(text: str, default_port: int = 4569) -> Address:
    """``"HOST[:PORT]"`` -> ``(host, port)``; ``[v6]:port`` is accepted. Raises NetError."""
    text = text.strip()
    host, port = text, default_port
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise NetError(f"bad address {text!r}: missing ']'")
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise NetError(f"bad address {text!r}")
            port = _port(rest[1:], text)
    elif text.count(":") == 1:
        host, p = text.split(":")
        port = _port(p, text)
    if not host:
        raise NetError(f"bad address {text!r}: no host")
    return host, port


def _port(p: str, text: str) -> int:
    try:
        port = int(p)
    except ValueError:
        raise NetError(f"bad port in {text!r}") from None
    if not 0 <= port <= 65535:
        raise NetError(f"port out of range in {text!r}")
    return port


@dataclass(slots=True)
class TransportStats:
    """What crossed the sockets (the engine keeps its own protocol counters)."""

    received: int = 0
    sent: int = 0
    dropped_in: int = 0       # by a filter, before the engine saw it
    dropped_out: int = 0      # by a filter, never sent
    send_errors: int = 0
    icmp_errors: int = 0      # error_received (e.g. ICMP port unreachable on a connected socket)

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, owner: "Transport", index: int):
        self.owner, self.index = owner, index

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.owner._received(data, (addr[0], addr[1]), self.index)

    def error_received(self, exc: Exception) -> None:
        self.owner._error(exc, self.index)


class Transport:
    """An :class:`Endpoint` on real UDP sockets. Create it inside a running event loop."""

    #: Most peers remembered as reaching a socket other than the first (oldest forgotten).
    max_routes = 4096

    def __init__(self, endpoint: Endpoint, on_event: Callable[[Event], None] | None = None,
                 capture: list[Datagram] | None = None):
        self.endpoint = endpoint
        self.on_event = on_event
        self.capture = capture
        self.filters: list[Filter] = []
        self.stats = TransportStats()
        self.errors: list[tuple[Address, Exception]] = []
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        endpoint.config.wallclock_offset = time.time()
        self._socks: list[asyncio.DatagramTransport] = []
        self._local: list[Address] = []
        self._connected: list[Address | None] = []
        self._routes: dict[Address, int] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._waiters: list[tuple[Callable[[Event], bool], asyncio.Future[Event]]] = []
        self._closed = False

    # ---------------------------------------------------------------- sockets
    async def bind(self, addr: Address = ("127.0.0.1", 0),
                   remote: Address | None = None, rcvbuf: int = 1 << 20) -> Address:
        """Open a UDP socket on ``addr`` (port 0: any free port); returns the bound address.
        With ``remote`` the socket is connected, so ICMP errors (nothing listening) are
        reported in ``stats.icmp_errors`` and ``errors``. ``rcvbuf`` asks the kernel for a
        receive buffer that absorbs bursts (best effort)."""
        index = len(self._socks)
        try:
            sock, _ = await self._loop.create_datagram_endpoint(
                lambda: _Proto(self, index), local_addr=(addr[0], int(addr[1])),
                remote_addr=(remote[0], int(remote[1])) if remote else None)
        except (OSError, ValueError) as err:
            raise NetError(f"cannot bind UDP {addr[0]}:{addr[1]}: {err}") from None
        raw = sock.get_extra_info("socket")
        try:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(rcvbuf))
        except (OSError, AttributeError):
            pass  # keep the system default
        local = sock.get_extra_info("sockname")
        self._socks.append(sock)
        self._local.append((local[0], local[1]))
        self._connected.append((remote[0], int(remote[1])) if remote else None)
        return self._local[-1]

    @property
    def addresses(self) -> list[Address]:
        """Local addresses of the sockets, in bind order."""
        return list(self._local)

    def close(self) -> None:
        """Close every socket and cancel the timer and any pending waiters."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for sock in self._socks:
            sock.close()
        for _, fut in self._waiters:
            fut.cancel()
        self._waiters.clear()

    # ---------------------------------------------------------------- clock and commands
    def now(self) -> float:
        """Engine time: seconds since this transport was created."""
        return self._loop.time() - self._t0

    def call_at(self, t: float, fn: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        """Run ``fn(*args)`` at engine time ``t`` (e.g. paced voice frames)."""
        return self._loop.call_at(self._t0 + t, fn, *args)

    def command(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``endpoint.<name>(*args, now=now(), **kwargs)`` and send what it produced."""
        result = getattr(self.endpoint, name)(*args, now=self.now(), **kwargs)
        self.pump()
        return result

    def expect(self, predicate: Callable[[Event], bool]) -> asyncio.Future[Event]:
        """A future resolved with the first later event for which ``predicate`` is true.
        Register it *before* issuing the command whose outcome it waits for."""
        fut: asyncio.Future[Event] = self._loop.create_future()
        entry = (predicate, fut)
        self._waiters.append(entry)

        def forget(_fut: asyncio.Future[Event]) -> None:
            if entry in self._waiters:
                self._waiters.remove(entry)

        fut.add_done_callback(forget)
        return fut

    async def wait(self, fut: asyncio.Future[Event], timeout: float | None = None) -> Event:
        """Await a future from :meth:`expect`; raises NetError after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise NetError(f"no matching event within {timeout} s") from None

    async def wait_for(self, predicate: Callable[[Event], bool],
                       timeout: float | None = None) -> Event:
        """The next event for which ``predicate`` is true (raises NetError on timeout)."""
        return await self.wait(self.expect(predicate), timeout)

    # ---------------------------------------------------------------- the pump
    def _received(self, data: bytes, addr: Address, index: int) -> None:
        if self._closed:
            return
        local = self._local[index]
        if self.capture is not None:
            self.capture.append(Datagram(time.time(), addr, local, data))
        for f in self.filters:
            if f("in", local, addr, data):
                self.stats.dropped_in += 1
                return
        self.stats.received += 1
        self._learn_route(addr, index)
        self.endpoint.receive_datagram(data, addr, self.now())
        self.pump()

    def _learn_route(self, addr: Address, index: int) -> None:
        """Remember which socket ``addr`` reached, when not the first one; the table keeps
        the ``max_routes`` most recent entries so a flood of sources cannot grow it."""
        routes = self._routes
        if index == 0:
            if addr in routes:
                del routes[addr]
            return
        routes.pop(addr, None)
        routes[addr] = index
        if len(routes) > self.max_routes:
            del routes[next(iter(routes))]

    def _error(self, exc: Exception, index: int) -> None:
        self.stats.icmp_errors += 1
        if len(self.errors) < 1000:
            self.errors.append((self._local[index], exc))

    def pump(self) -> None:
        """Send queued datagrams, deliver events, re-arm the timer."""
        if self._closed:
            return
        ep = self.endpoint
        for data, dst in ep.datagrams_to_send(self.now()):
            self._send(data, (dst[0], dst[1]))
        while True:
            event = ep.next_event()
            if event is None:
                break
            self._deliver(event)
            # a handler may have issued commands: send their output at once
            for data, dst in ep.datagrams_to_send(self.now()):
                self._send(data, (dst[0], dst[1]))
        self._arm()

    def _send(self, data: bytes, dst: Address) -> None:
        if not self._socks:
            raise NetError("transport has no socket: call bind() first")
        index = self._routes.get(dst, 0)
        local = self._local[index]
        for f in self.filters:
            if f("out", local, dst, data):
                self.stats.dropped_out += 1
                return
        if self.capture is not None:
            self.capture.append(Datagram(time.time(), local, dst, data))
        try:
            if self._connected[index] is not None:
                self._socks[index].sendto(data)
            else:
                self._socks[index].sendto(data, dst)
            self.stats.sent += 1
        except (OSError, ValueError) as err:
            self.stats.send_errors += 1
            if len(self.errors) < 1000:
                self.errors.append((local, err))

    def _deliver(self, event: Event) -> None:
        for predicate, fut in list(self._waiters):
            if not fut.done() and predicate(event):
                fut.set_result(event)
        if self.on_event is not None:
            self.on_event(event)

    def _arm(self) -> None:
        t = self.endpoint.get_timer()
        if t == self._timer_at and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = t
        if t is not None:
            self._timer = self._loop.call_at(self._t0 + t, self._on_timer, t)

    def _on_timer(self, t: float) -> None:
        self._timer = None
        self._timer_at = None
        if self._closed:
            return
        self.endpoint.handle_timer(max(self.now(), t))
        self.pump()
