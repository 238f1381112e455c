"""``iaxsim probe``: POKE an IAX2 server and say plainly whether, and how, it is reachable.

Each source address gets its own engine and a *connected* UDP socket, so an ICMP reply is
reported to us (Linux only tells connected sockets about ICMP errors). Per source the outcome
is one of:

``answered``  PONG received (round trip from the POKE's send time),
``refused``   ICMP port unreachable: the host is up but nothing listens on the port,
``rejected``  ICMP host/network unreachable or administratively prohibited: something on the
              path refused it,
``local``     the local system would not send it (EPERM/EACCES: our own firewall),
``silent``    nothing came back before the timeout: dropped somewhere.

Comparing several ``--from`` addresses tells a one-way or per-address block apart from a dead
server: if one source gets PONGs and another does not, the server is up and the traffic of
the second source (or the replies to it) is filtered.
"""
from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from dataclasses import dataclass, field
from collections.abc import Iterable

from iaxsim.iax2.engine import Endpoint, EndpointConfig, PokeTimeout, PongReceived
from iaxsim.net.transport import Address, NetError, Transport

DEFAULT_PORT = 4569


@dataclass(frozen=True)
class SourceResult:
    """What POKEs from one local address got."""

    source: Address
    status: str                 # answered | refused | rejected | local | silent
    rtt: float | None = None
    pokes_sent: int = 0
    detail: str = ""


@dataclass
class ProbeReport:
    """All sources' results for one target and the plain-language verdict."""

    target: Address
    timeout: float
    results: list[SourceResult] = field(default_factory=list)

    @property
    def reachable(self) -> bool:
        """True when every source got a PONG."""
        return bool(self.results) and all(r.status == "answered" for r in self.results)

    def verdict(self) -> str:
        """One paragraph saying what the results mean."""
        host, port = self.target
        where = f"{host}:{port}"
        by = {s: [r for r in self.results if r.status == s]
              for s in ("answered", "refused", "rejected", "local", "silent")}

        def srcs(rs: list[SourceResult]) -> str:
            return ", ".join(f"{r.source[0]}:{r.source[1]}" for r in rs)

        if self.reachable:
            return f"{where} is reachable: it answered POKE with PONG."
        if by["refused"]:
            return (f"{where}: nothing listens on UDP {port} (ICMP port unreachable) -- the host "
                    "is up, but no IAX2 server runs on that port.")
        if by["answered"]:
            blocked = by["silent"] + by["rejected"] + by["local"]
            return (f"UDP {port} is blocked one way or per address: POKEs from {srcs(by['answered'])} "
                    f"were answered, POKEs from {srcs(blocked)} were not. The server is up; a "
                    f"firewall filters the traffic of {srcs(blocked)} or the replies to it.")
        if by["local"]:
            return (f"UDP {port} is blocked on this side: the local system refused to send to "
                    f"{where} ({by['local'][0].detail}).")
        if by["rejected"]:
            return (f"UDP {port} to {where} is blocked on the path or at the server: an ICMP "
                    f"error came back ({by['rejected'][0].detail}).")
        return (f"No answer from {where} within {self.timeout:g} s: UDP {port} is probably "
                "blocked (a firewall dropping it on either side, without telling), or the server "
                "is down. Probe from a second address (--from) to tell a one-way block apart.")

    def lines(self) -> list[str]:
        """Human-readable report: one line per source, then the verdict."""
        out = []
        for r in self.results:
            src = f"{r.source[0]}:{r.source[1]}"
            tgt = f"{self.target[0]}:{self.target[1]}"
            if r.status == "answered" and r.rtt is not None:
                out.append(f"{src} -> {tgt}: PONG, round trip {r.rtt * 1000:.2f} ms "
                           f"({r.pokes_sent} POKE sent)")
            else:
                extra = f": {r.detail}" if r.detail else ""
                out.append(f"{src} -> {tgt}: {r.status} after {r.pokes_sent} POKE(s){extra}")
        out.append(self.verdict())
        return out


_REFUSED = {errno.ECONNREFUSED}
_REJECTED = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}
_LOCAL = {errno.EPERM, errno.EACCES}


def _classify(err: OSError) -> str | None:
    code = err.errno
    if code in _REFUSED:
        return "refused"
    if code in _REJECTED:
        return "rejected"
    if code in _LOCAL:
        return "local"
    return None


async def _resolve(host: str, port: int) -> Address:
    try:
        ipaddress.ip_address(host)
        return host, port
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as err:
        raise NetError(f"cannot resolve {host!r}: {err}") from None
    addr = infos[0][4]
    return str(addr[0]), int(addr[1])


async def _probe_one(target: Address, source: Address, timeout: float, seed: int,
                     qualify_maxms: float) -> SourceResult:
    ep = Endpoint(EndpointConfig(qualify_maxms=qualify_maxms), seed=seed)
    tr = Transport(ep)
    try:
        local = await tr.bind(source, remote=target)
        done = tr.expect(lambda e: isinstance(e, (PongReceived, PokeTimeout)))
        tr.command("poke", target)
        deadline = tr.now() + timeout
        while not done.done() and tr.now() < deadline:
            if tr.errors:
                break
            await asyncio.sleep(min(0.01, max(0.0, deadline - tr.now())))
        sent = ep.stats.frames_sent + ep.stats.retransmissions
        pong = done.result() if done.done() else None
        if isinstance(pong, PongReceived):
            return SourceResult(local, "answered", pong.rtt, sent)
        for _, err in tr.errors:
            if isinstance(err, OSError) and (status := _classify(err)) is not None:
                return SourceResult(local, status, None, sent, err.strerror or str(err))
        return SourceResult(local, "silent", None, sent)
    finally:
        tr.close()


async def probe(target: Address, sources: Iterable[Address] = (), timeout: float = 3.0,
                seed: int = 0, qualify_maxms: float = 2.0) -> ProbeReport:
    """POKE ``target`` from each source address (default: any local address) in parallel."""
    if timeout <= 0:
        raise NetError(f"timeout must be positive, got {timeout}")
    host, port = await _resolve(target[0], int(target[1]))
    srcs = list(sources)
    if not srcs:
        srcs = [("::" if ":" in host else "0.0.0.0", 0)]
    results = await asyncio.gather(*(
        _probe_one((host, port), s, timeout, seed + i, qualify_maxms) for i, s in enumerate(srcs)))
    return ProbeReport((host, port), timeout, list(results))
