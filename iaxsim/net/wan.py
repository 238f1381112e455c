"""A WAN emulator on real UDP: a userspace relay between IAX2 servers on loopback.

It needs no kernel support (``tc netem``) and no root. Each server keeps its real address(es);
for every server ``V`` and every address ``T.kind`` of another server ``T`` the emulator binds
one *face*: the address at which ``V`` reaches ``T.kind``. A datagram arriving at that face
from any of ``V``'s real addresses travels the direction ``V.k -> T.kind``, where ``V.k`` is
``V``'s address of the same kind (its only one when it has one), as in the simulator:

1. an *internal* address is reachable only from servers of the same site (unless
   ``internal_scope = "global"``): otherwise it is dropped (``dropped_scope``);
2. a drop rule matching (from, to, address kind, destination port) drops it
   (``dropped_firewall``); a *stateful* rule lets it through when the reverse direction of the
   same address pair passed within ``conntrack_timeout`` (a reply to a flow the other side
   opened);
3. it is lost with the direction's ``loss`` probability (``lost``);
4. otherwise it is sent after ``latency`` plus a uniform draw from ``[0, jitter]``, never before
   the datagram before it in the same direction unless ``reorder`` is set; with probability
   ``duplicate`` a second copy follows it (``duplicated``).

It is sent from the face at which ``T`` reaches ``V.k`` to ``T.kind``'s real address, so ``T``
sees the sender at the address it was itself configured with and its replies travel back
through the direction ``T.kind -> V.k``. A server behind NAT (``nat = True``) sends to other
servers' *external* addresses from a translated face instead (one per destination address): the
replies sent there reach it whatever the drop rules on its own port say, while datagrams the
other side opens itself go to the face of its configured address and meet those rules -- the
"calls work one way only" of a firewall dropping UDP 4569 one way.

Every random draw comes from one ``random.Random`` per direction, seeded from the emulator's
seed and the direction's name, so the same seed and the same datagrams repeat the same losses,
duplicates and jitter. Datagrams are received and sent by one thread that waits in
``select(2)`` (microsecond timeouts) for the next datagram or the next due send, at most
``_NAP`` at a time, and delays each datagram from its arrival as the kernel stamped it
(``SO_TIMESTAMPNS``, on Linux) or else as :func:`time.monotonic` read it.

Safety: every real address and every face must be a literal loopback address (127.0.0.0/8 or
``::1``), checked when the configuration is built and again on each address a socket is bound
to or sends to; the emulator never sends anywhere else.
"""
from __future__ import annotations

import ipaddress
import platform
import random
import select
import selectors
import socket
import struct
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from heapq import heappop, heappush
from types import TracebackType
from typing import Any, Callable, Iterator, Mapping, NamedTuple

from iaxsim.net.transport import Address, NetError, parse_hostport

KINDS = ("internal", "external")
RULE_KINDS = ("any",) + KINDS
INTERNAL_SCOPES = ("site", "global")
IAX2_PORT = 4569
#: largest UDP payload
_MAX_DATAGRAM = 65535
#: datagrams read from one socket before looking at the others and the send queue again
_BURST = 64
#: select(2) takes descriptors below FD_SETSIZE (1024 on Linux)
_SELECT_FDS = 1024
#: receive buffer asked for each socket (the kernel caps it at net.core.rmem_max)
_RCVBUF = 1 << 20
#: Longest wait (s) while datagrams are delayed. A long timer sleep can end milliseconds late
#: (measured in a virtual machine: 1 wake in 8 was 3-4 ms late after 30 ms, 1 in 15 after
#: 2 ms naps), so the relay thread naps in short steps; it costs about 1% of a core.
_NAP = 0.002
#: Linux stamps each datagram with its arrival time (struct timespec, CLOCK_REALTIME) on request:
#: SO_TIMESTAMPNS, which Python's socket module may not name; 35 in the kernel's
#: include/uapi/asm-generic/socket.h, used by every architecture but alpha, parisc and sparc
_STAMPS: int | None = getattr(socket, "SO_TIMESTAMPNS", None)
if _STAMPS is None and sys.platform == "linux" and \
        not platform.machine().startswith(("alpha", "parisc", "sparc")):
    _STAMPS = 35
_TIMESPEC = struct.Struct("@ll")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0


# --------------------------------------------------------------------------- configuration


def require_loopback(addr: Address, what: str) -> None:
    """Raise :class:`NetError` naming ``what`` unless ``addr`` is a literal loopback IP."""
    try:
        ip = ipaddress.ip_address(addr[0])
    except ValueError:
        raise NetError(f"{what} {addr[0]}:{addr[1]} is not a literal IP address "
                       "(the WAN emulator only uses loopback addresses)") from None
    if not ip.is_loopback:
        raise NetError(f"{what} {addr[0]}:{addr[1]} is outside the loopback range "
                       "(127.0.0.0/8, ::1): the WAN emulator never sends there")


def _probability(value: float, what: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise NetError(f"{what} must be a probability in [0, 1], got {value}")


@dataclass(frozen=True)
class Impairment:
    """What one direction does to datagrams: one-way ``latency`` and ``jitter`` (s), ``loss``
    and ``duplicate`` probabilities; ``reorder`` lets jittered datagrams overtake each other."""

    latency: float = 0.0
    jitter: float = 0.0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: bool = False

    def __post_init__(self) -> None:
        if not (self.latency >= 0.0 and self.jitter >= 0.0):  # also refuses NaN
            raise NetError(f"latency and jitter must be >= 0 s, got {self.latency}, {self.jitter}")
        _probability(self.loss, "loss")
        _probability(self.duplicate, "duplicate")


@dataclass(frozen=True)
class WanServer:
    """An IAX2 server: its real addresses by kind (``internal``/``external``), its site, and
    whether it sits behind NAT."""

    name: str
    addresses: Mapping[str, Address]
    site: str = ""
    nat: bool = False

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in " .>,=:"):
            raise NetError(f"bad server name {self.name!r}")
        if not self.addresses:
            raise NetError(f"server {self.name} has no address")
        for kind, addr in self.addresses.items():
            if kind not in KINDS:
                raise NetError(f"server {self.name}: address kind must be one of "
                               f"{', '.join(KINDS)}, got {kind!r}")
            require_loopback(addr, f"server {self.name} {kind} address")
            if not 0 < addr[1] < 65536:
                raise NetError(f"server {self.name} {kind} address {addr[0]}:{addr[1]}: "
                               "give the port the server listens on")
        if self.nat and "external" not in self.addresses:
            raise NetError(f"server {self.name} is behind NAT but has no external address")

    @property
    def site_name(self) -> str:
        """The site (servers of one site reach each other's internal addresses)."""
        return self.site or self.name


@dataclass(frozen=True)
class DropRule:
    """Drop datagrams from server ``src`` to the ``kind`` address(es) of server ``dst`` (``"*"``:
    any server) on UDP ``port`` (``None``: the server's own port, whatever it is). A
    ``stateful`` rule lets a datagram through when ``dst`` sent to ``src`` on the same address
    pair within the emulator's ``conntrack_timeout``."""

    src: str = "*"
    dst: str = "*"
    kind: str = "any"
    port: int | None = None
    stateful: bool = False

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise NetError(f"drop rule kind must be one of {', '.join(RULE_KINDS)}, got {self.kind!r}")
        if self.port is not None and not 0 < self.port < 65536:
            raise NetError(f"drop rule port out of range: {self.port}")


@dataclass(frozen=True)
class WanConfig:
    """Servers, per-direction impairments and drop rules of one emulated WAN.

    ``default`` applies between servers of different sites, ``site`` within a site, and
    ``links[(src, dst)]`` overrides either for one direction between two servers.
    ``proxy_network`` (e.g. ``"127.77.0.0/16"``) gives every face an address of its own in that
    loopback network, with the port of the address it stands for (so peers need only an IP);
    by default faces share ``127.0.0.1`` (``::1`` for IPv6 servers) on free ports.
    """

    servers: tuple[WanServer, ...]
    default: Impairment = field(default_factory=Impairment)
    site: Impairment = field(default_factory=Impairment)
    links: Mapping[tuple[str, str], Impairment] = field(default_factory=dict)
    rules: tuple[DropRule, ...] = ()
    internal_scope: str = "site"
    conntrack_timeout: float = 30.0
    seed: int = 0
    proxy_network: str | None = None

    def __post_init__(self) -> None:
        names = [s.name for s in self.servers]
        if len(names) < 2:
            raise NetError("the WAN emulator needs at least two servers")
        if len(set(names)) != len(names):
            raise NetError(f"server names repeat: {', '.join(sorted(names))}")
        reals = [a for s in self.servers for a in s.addresses.values()]
        if len(set(reals)) != len(reals):
            raise NetError("two servers (or two addresses of one) share an address")
        families = {":" in a[0] for a in reals}
        if len(families) > 1:
            raise NetError("mix of IPv4 and IPv6 addresses: use one family for every server")
        for src, dst in self.links:
            for name in (src, dst):
                if name not in names:
                    raise NetError(f"link {src}->{dst}: no server {name!r}")
        for rule in self.rules:
            for name in (rule.src, rule.dst):
                if name != "*" and name not in names:
                    raise NetError(f"drop rule {rule.src}->{rule.dst}: no server {name!r}")
        if self.internal_scope not in INTERNAL_SCOPES:
            raise NetError(f"internal_scope must be one of {', '.join(INTERNAL_SCOPES)}, "
                           f"got {self.internal_scope!r}")
        if not self.conntrack_timeout >= 0.0:
            raise NetError(f"conntrack_timeout must be >= 0 s, got {self.conntrack_timeout}")
        if self.proxy_network is not None:
            net = self._proxy_net()
            if not (net.network_address.is_loopback and net.broadcast_address.is_loopback):
                raise NetError(f"proxy network {self.proxy_network} is outside the loopback range "
                               "(127.0.0.0/8, ::1)")
            if (net.version == 6) != families.pop():
                raise NetError(f"proxy network {self.proxy_network} is not of the servers' "
                               "address family")

    def _proxy_net(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        try:
            return ipaddress.ip_network(str(self.proxy_network), strict=False)
        except ValueError:
            raise NetError(f"bad proxy network {self.proxy_network!r}") from None

    def server(self, name: str) -> WanServer:
        """The server called ``name``."""
        for s in self.servers:
            if s.name == name:
                return s
        raise NetError(f"no server {name!r}")

    def impairment(self, src: str, dst: str) -> Impairment:
        """What the direction from server ``src`` to server ``dst`` does to datagrams."""
        over = self.links.get((src, dst))
        if over is not None:
            return over
        same = self.server(src).site_name == self.server(dst).site_name
        return self.site if same else self.default

    @classmethod
    def from_scenario(cls, scenario: Mapping[str, Any],
                      addresses: Mapping[str, Mapping[str, Address]], seed: int | None = None,
                      proxy_network: str | None = None) -> "WanConfig":
        """The network of a simulator scenario, in its TOML shape (``Scenario.to_dict()`` or the
        parsed file): ``[[servers]]`` ``site``/``nat``, ``[network]`` ``latency``,
        ``site_latency``, ``jitter``, ``loss``, ``internal_scope``, ``conntrack_timeout``,
        ``[[network.links]]`` and ``[[network.firewall]]``, with the real loopback
        ``addresses`` of each server by kind. A rule on UDP 4569 (IAX2's port) applies to
        whatever port each server really listens on. Latencies must be constants: the
        emulator has no latency distributions."""
        net = scenario.get("network", {})
        servers = []
        for s in scenario.get("servers", []):
            sid = str(s["id"])
            if sid not in addresses:
                raise NetError(f"no address given for server {sid}")
            servers.append(WanServer(sid, dict(addresses[sid]), str(s.get("site") or sid),
                                     bool(s.get("nat", False))))
        unknown = sorted(set(addresses) - {s.name for s in servers})
        if unknown:
            raise NetError(f"the scenario has no server {', '.join(unknown)}")
        site = {s.name: s.site_name for s in servers}
        latency = _constant(net.get("latency", 0.020), "network latency")
        site_latency = _constant(net.get("site_latency", 0.0005), "network site_latency")
        jitter = float(net.get("jitter", 0.0))
        loss = float(net.get("loss", 0.0))
        links = {}
        for ln in net.get("links", []):
            src, dst = str(ln["from"]), str(ln["to"])
            # as the simulator: a link without a latency keeps the pair's (site or not)
            base = site_latency if site.get(src, src) == site.get(dst, dst) else latency
            links[(src, dst)] = Impairment(
                _constant(ln["latency"], f"network.links {src}->{dst} latency") if "latency" in ln
                else base, float(ln.get("jitter", jitter)), float(ln.get("loss", loss)))
        rules = tuple(DropRule(str(r.get("from", "*")), str(r.get("to", "*")), str(r.get("kind", "any")),
                               None if int(r.get("port", IAX2_PORT)) == IAX2_PORT else int(r["port"]),
                               bool(r.get("stateful", True)))
                      for r in net.get("firewall", []))
        return cls(
            servers=tuple(servers),
            default=Impairment(latency, jitter, loss),
            site=Impairment(site_latency, jitter, loss),
            links=links, rules=rules,
            internal_scope=str(net.get("internal_scope", "site")),
            conntrack_timeout=float(net.get("conntrack_timeout", 30.0)),
            seed=int(scenario.get("seed", 0) if seed is None else seed),
            proxy_network=proxy_network)


def _constant(value: Any, what: str) -> float:
    """A scenario latency: a number or ``{dist = "fixed", value = ...}``."""
    if isinstance(value, Mapping):
        if value.get("dist") != "fixed":
            raise NetError(f"{what}: the WAN emulator needs a constant latency, "
                           f"got a {value.get('dist')} distribution")
        value = value["value"]
    return float(value)


# --------------------------------------------------------------------------- counters


@dataclass
class WanCounters:
    """Datagrams of one direction (or a sum of directions)."""

    received: int = 0
    forwarded: int = 0         # sent on, duplicates included
    lost: int = 0
    duplicated: int = 0
    dropped_firewall: int = 0  # by a drop rule
    dropped_scope: int = 0     # to an internal address of another site
    discarded: int = 0         # still delayed when the emulator stopped
    send_errors: int = 0

    def add(self, other: "WanCounters") -> None:
        """Add ``other``'s counts to these."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)


# --------------------------------------------------------------------------- the relay


class _Direction:
    """One direction of one address pair: impairments, RNG, counters, where it sends."""

    __slots__ = ("name", "src", "dst", "sock", "to", "imp", "rng", "counters", "blocked_by_scope",
                 "rules", "pair", "reverse_pair", "last_due")

    def __init__(self, name: str, src: str, dst: str, sock: socket.socket, to: Address,
                 imp: Impairment, seed: int, blocked_by_scope: bool, rules: tuple[DropRule, ...],
                 pair: tuple[Address, Address]):
        require_loopback(to, f"destination of {name}")
        self.name, self.src, self.dst = name, src, dst
        self.sock, self.to, self.imp = sock, to, imp
        self.rng = random.Random(f"{seed}:{name}")
        self.counters = WanCounters()
        self.blocked_by_scope = blocked_by_scope
        self.rules = rules
        self.pair = pair                      # (source real address, destination real address)
        self.reverse_pair = (pair[1], pair[0])
        self.last_due = 0.0


class TapRecord(NamedTuple):
    """A full frame the emulator saw: when (:func:`time.monotonic`), ``"in"`` (arrived from
    ``src``) or ``"out"`` (sent on towards ``dst``), the real addresses of its direction (a NAT
    server's replies carry its real address as ``dst``), and the datagram."""

    time: float
    way: str
    src: Address
    dst: Address
    data: bytes


@dataclass(frozen=True)
class Face:
    """An address the emulator listens on: where ``viewer`` reaches ``target``'s ``kind``
    address (``nat``: the translated address at which ``target`` reaches ``viewer``)."""

    viewer: str
    target: str
    kind: str
    address: Address
    nat: bool = False


class WanEmulator:
    """Relay UDP datagrams between servers with per-direction impairments (see the module).

    Use ``with WanEmulator(config) as wan:`` (or ``async with``), or :meth:`start` and
    :meth:`stop`. :meth:`proxy` says where each server must send to reach each other one;
    :meth:`counters` can be read at any time.
    """

    def __init__(self, config: WanConfig, tap: bool = False):
        """``tap``: keep every full frame the emulator receives and sends (:meth:`tapped`)."""
        self.config = config
        self._tap: list[TapRecord] | None = [] if tap else None
        self.faces: list[Face] = []
        self._socks: list[socket.socket] = []
        self._proxy: dict[tuple[str, str, str], Address] = {}
        self._directions: list[_Direction] = []
        # socket fileno -> {source address: direction}
        self._routes: dict[int, dict[Address, _Direction]] = {}
        self._conntrack: dict[tuple[Address, Address], float] = {}
        self._heap: list[tuple[float, int, _Direction, bytes]] = []
        self._seq = 0
        self.strays = 0             # datagrams from an address no direction expects
        self._thread: threading.Thread | None = None
        self._started = False
        self._stopping = False
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self.error: BaseException | None = None

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> "WanEmulator":
        """Bind every face and start relaying (in a thread of its own)."""
        if self._started:
            raise NetError("a WAN emulator starts once: make a new one")
        self._started = True
        try:
            self._build()
        except BaseException:
            self._close_sockets()
            raise
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="iaxsim-wan", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop relaying, close every socket; datagrams still delayed are counted ``discarded``."""
        thread = self._thread
        if thread is not None:
            self._stopping = True
            if self._wake_w is not None:
                try:
                    self._wake_w.send(b"x")
                except OSError:
                    pass
            thread.join()
            self._thread = None
        for _, _, direction, _ in self._heap:
            direction.counters.discarded += 1
        self._heap.clear()
        self._close_sockets()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> "WanEmulator":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> "WanEmulator":
        return self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.stop()

    # ----------------------------------------------------------------- what users read
    def proxy(self, viewer: str, target: str, kind: str | None = None) -> Address:
        """The address at which server ``viewer`` reaches server ``target`` (its ``kind``
        address; by default its only one, else its external one)."""
        if kind is None:
            kinds = list(self.config.server(target).addresses)
            kind = kinds[0] if len(kinds) == 1 else "external"
        try:
            return self._proxy[(viewer, target, kind)]
        except KeyError:
            raise NetError(f"no face for {viewer} reaching {target}.{kind} "
                           "(unknown server or address, or the emulator is not started)") from None

    def counters(self) -> dict[str, WanCounters]:
        """A snapshot of every direction's counters, by name (``"A.external>B.external"``;
        ``" nat"`` marks a NAT server's translated flows)."""
        return {d.name: WanCounters(**d.counters.as_dict()) for d in self._directions}

    def pair_counters(self, src: str, dst: str) -> WanCounters:
        """A snapshot of the counters of every direction from server ``src`` to ``dst``."""
        total = WanCounters()
        for d in self._directions:
            if d.src == src and d.dst == dst:
                total.add(d.counters)
        return total

    def tapped(self) -> list[TapRecord]:
        """The full frames seen since the last call (and clears them), in order: each as it
        arrived (``"in"``, before loss or drop rules) and as it was sent on (``"out"``), with
        the real addresses of its direction; empty unless the emulator was made with ``tap``."""
        if self._tap is None:
            return []
        out, self._tap = self._tap, []
        return out

    def totals(self) -> WanCounters:
        """All directions' counters added up."""
        total = WanCounters()
        for d in self._directions:
            total.add(d.counters)
        return total

    # ----------------------------------------------------------------- set-up
    def _build(self) -> None:
        cfg = self.config
        reals = [a for s in cfg.servers for a in s.addresses.values()]
        family = socket.AF_INET6 if ":" in reals[0][0] else socket.AF_INET
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        hosts: Iterator[str] | None = None
        if cfg.proxy_network is not None:
            taken = {a[0] for a in reals}
            hosts = (str(h) for h in cfg._proxy_net().hosts() if str(h) not in taken and str(h) != host)

        def bind(addr: Address, what: str) -> socket.socket:
            require_loopback(addr, what)
            sock = socket.socket(family, socket.SOCK_DGRAM)
            self._socks.append(sock)
            try:
                sock.bind(addr)
            except OSError as err:
                raise NetError(f"cannot bind {what} {addr[0]}:{addr[1]}: {err.strerror}") from None
            sock.setblocking(False)
            try:  # absorb bursts while the relay thread is off the CPU (best effort)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            except OSError:
                pass
            if _STAMPS is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, _STAMPS, 1)
                except OSError:
                    pass  # arrival then read from the clock when the datagram is read
            bound = sock.getsockname()
            require_loopback((bound[0], bound[1]), what)
            return sock

        def next_host(what: str) -> str:
            if hosts is None:
                return host
            try:
                return next(hosts)
            except StopIteration:
                raise NetError(f"proxy network {cfg.proxy_network} has no address left for "
                               f"{what}") from None

        # faces: viewer reaches target.kind
        face_sock: dict[tuple[str, str, str], socket.socket] = {}
        for viewer in cfg.servers:
            for target in cfg.servers:
                if target is viewer:
                    continue
                for kind, real in target.addresses.items():
                    what = f"face of {target.name}.{kind} for {viewer.name}"
                    port = real[1] if hosts is not None else 0
                    sock = bind((next_host(what), port), what)
                    bound = sock.getsockname()
                    face_sock[(viewer.name, target.name, kind)] = sock
                    self._proxy[(viewer.name, target.name, kind)] = (bound[0], bound[1])
                    self.faces.append(Face(viewer.name, target.name, kind, (bound[0], bound[1])))

        for v in cfg.servers:
            for t in cfg.servers:
                if t is v:
                    continue
                imp = cfg.impairment(v.name, t.name)
                for tkind, treal in t.addresses.items():
                    front = face_sock[(v.name, t.name, tkind)]
                    # as in the simulator, v sends to an address of one kind from its own address
                    # of that kind, whichever of its sockets the datagram left from
                    vkind = tkind if tkind in v.addresses else next(iter(v.addresses))
                    name = f"{v.name}.{vkind}>{t.name}.{tkind}"
                    if not (v.nat and vkind == "external" and tkind == "external"):
                        out = self._direction(name, v, vkind, t, tkind,
                                              face_sock[(t.name, v.name, vkind)], imp, True)
                    else:
                        # v's datagrams leave from a translated address of its own (the IP of
                        # v's face for t, another port); t's replies there go back to v, and
                        # rules on v's own port do not apply: the translated port is not it
                        what = f"NAT face of {v.name} for {t.name}.{tkind}"
                        nat_host = self._proxy[(t.name, v.name, vkind)][0] if hosts is not None else host
                        nat_sock = bind((nat_host, 0), what)
                        bound = nat_sock.getsockname()
                        self.faces.append(Face(t.name, v.name, vkind, (bound[0], bound[1]), nat=True))
                        out = self._direction(name, v, vkind, t, tkind, nat_sock, imp, True)
                        ret = self._direction(f"{t.name}.{tkind}>{v.name}.{vkind} nat", t, tkind, v,
                                              vkind, front, cfg.impairment(t.name, v.name), False,
                                              port=bound[1])
                        self._routes[nat_sock.fileno()] = {treal: ret}
                    routes = self._routes.setdefault(front.fileno(), {})
                    for vreal in v.addresses.values():
                        routes[vreal] = out

        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        self._wake_r, self._wake_w = wake_r, wake_w

    def _direction(self, name: str, src: WanServer, src_kind: str, dst: WanServer, dst_kind: str,
                   sock: socket.socket, imp: Impairment, port_rule: bool,
                   port: int | None = None) -> _Direction:
        cfg = self.config
        to = dst.addresses[dst_kind]
        wire_port = to[1] if port is None else port
        scope = (dst_kind == "internal" and cfg.internal_scope == "site"
                 and src.site_name != dst.site_name)
        rules = tuple(r for r in cfg.rules
                      if r.src in ("*", src.name) and r.dst in ("*", dst.name)
                      and r.kind in ("any", dst_kind)
                      and (r.port == wire_port or (r.port is None and port_rule)))
        d = _Direction(name, src.name, dst.name, sock, to, imp, cfg.seed, scope, rules,
                       (src.addresses[src_kind], to))
        self._directions.append(d)
        return d

    def _close_sockets(self) -> None:
        for sock in self._socks:
            sock.close()
        self._socks.clear()
        for s in (self._wake_r, self._wake_w):
            if s is not None:
                s.close()
        self._wake_r = self._wake_w = None

    # ----------------------------------------------------------------- the relay thread
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as err:  # kept for the owner to see; the thread must not die silently
            self.error = err
            raise

    def _loop(self) -> None:
        """Wait in ``select(2)`` (microsecond timeouts; epoll takes milliseconds) for a datagram
        or the next due send, as long as every descriptor is below FD_SETSIZE; beyond that in
        the system's default selector, which may wake up to 1 ms late."""
        wake = self._wake_r
        assert wake is not None
        socks = [s for s in self._socks if s.fileno() in self._routes]
        if max(s.fileno() for s in socks + [wake]) < _SELECT_FDS:
            self._select_loop(socks, wake)
        else:
            self._selector_loop(socks, wake)

    def _select_loop(self, socks: list[socket.socket], wake: socket.socket) -> None:
        heap = self._heap
        clock = time.monotonic
        readers = socks + [wake]
        drain, send = self._drain, self._send
        while not self._stopping:
            timeout = None
            if heap:
                timeout = min(_NAP, max(0.0, heap[0][0] - clock()))
            ready, _, _ = select.select(readers, (), (), timeout)
            for sock in ready:
                if sock is wake:
                    self._clear_wake(wake)
                else:
                    drain(sock, clock)
            now = clock()
            while heap and heap[0][0] <= now:
                _, _, direction, data = heappop(heap)
                send(direction, data)

    def _selector_loop(self, socks: list[socket.socket], wake: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        heap = self._heap
        clock = time.monotonic
        try:
            sel.register(wake, selectors.EVENT_READ, None)
            for sock in socks:
                sel.register(sock, selectors.EVENT_READ, sock)
            while not self._stopping:
                timeout = None
                if heap:
                    timeout = min(_NAP, max(0.0, heap[0][0] - clock()))
                for key, _ in sel.select(timeout):
                    if key.data is None:
                        self._clear_wake(wake)
                    else:
                        self._drain(key.data, clock)
                now = clock()
                while heap and heap[0][0] <= now:
                    _, _, direction, data = heappop(heap)
                    self._send(direction, data)
        finally:
            sel.close()

    @staticmethod
    def _clear_wake(wake: socket.socket) -> None:
        try:
            wake.recv(64)
        except BlockingIOError:
            pass

    def _drain(self, sock: socket.socket, clock: Callable[[], float]) -> None:
        """Read what ``sock`` holds (up to ``_BURST`` datagrams) and offer each to its direction,
        stamped with the kernel's arrival time when the system gives it (``SO_TIMESTAMPNS``), so
        a relay thread that was kept off the CPU still delays each datagram from its arrival."""
        routes = self._routes[sock.fileno()]
        if _STAMPS is None:
            for _ in range(_BURST):
                try:
                    data, src = sock.recvfrom(_MAX_DATAGRAM)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:  # an ICMP error reported on the socket: nothing to relay
                    continue
                direction = routes.get((src[0], src[1]))
                if direction is None:
                    self.strays += 1
                    continue
                self._offer(direction, data, clock())
            return
        now = clock()
        offset = time.time() - now  # CLOCK_REALTIME (the kernel's stamps) - CLOCK_MONOTONIC
        for _ in range(_BURST):
            try:
                data, anc, _flags, src = sock.recvmsg(_MAX_DATAGRAM, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            direction = routes.get((src[0], src[1]))
            if direction is None:
                self.strays += 1
                continue
            arrived = now
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == _STAMPS and len(cdata) >= _TIMESPEC.size:
                    sec, nsec = _TIMESPEC.unpack_from(cdata)
                    arrived = min(now, sec + nsec * 1e-9 - offset)
            self._offer(direction, data, arrived)

    def _offer(self, d: _Direction, data: bytes, now: float) -> None:
        c = d.counters
        c.received += 1
        if self._tap is not None and data[:1] >= b"\x80":
            self._tap.append(TapRecord(now, "in", d.pair[0], d.pair[1], data))
        if d.blocked_by_scope:
            c.dropped_scope += 1
            return
        if d.rules and self._firewalled(d, now):
            c.dropped_firewall += 1
            return
        self._conntrack[d.pair] = now
        imp = d.imp
        rng = d.rng
        if imp.loss and rng.random() < imp.loss:
            c.lost += 1
            return
        copies = 1
        if imp.duplicate and rng.random() < imp.duplicate:
            copies = 2
            c.duplicated += 1
        due = now + imp.latency
        if imp.jitter:
            due += rng.uniform(0.0, imp.jitter)
        if not imp.reorder:
            if due < d.last_due:
                due = d.last_due
            d.last_due = due
        for _ in range(copies):
            self._seq += 1
            heappush(self._heap, (due, self._seq, d, data))

    def _firewalled(self, d: _Direction, now: float) -> bool:
        for rule in d.rules:
            if rule.stateful:
                last = self._conntrack.get(d.reverse_pair)
                if last is not None and now - last <= self.config.conntrack_timeout:
                    continue
            return True
        return False

    def _send(self, d: _Direction, data: bytes) -> None:
        try:
            d.sock.sendto(data, d.to)
            d.counters.forwarded += 1
            if self._tap is not None and data[:1] >= b"\x80":
                self._tap.append(TapRecord(time.monotonic(), "out", d.pair[0], d.pair[1], data))
        except OSError:
            d.counters.send_errors += 1


def parse_server(text: str) -> tuple[str, str, Address]:
    """``"NAME=HOST:PORT"`` or ``"NAME.KIND=HOST:PORT"`` -> ``(name, kind, address)``; the kind
    defaults to ``external``. Raises NetError."""
    name, sep, addr = text.partition("=")
    if not sep or not name or not addr:
        raise NetError(f"bad server {text!r}: expected NAME=HOST:PORT or NAME.KIND=HOST:PORT")
    name, _, kind = name.partition(".")
    return name, kind or "external", parse_hostport(addr)


def _pair(text: str, what: str) -> tuple[str, str, str]:
    """``"SRC->DST[.KIND]"`` -> ``(src, dst, kind)``."""
    src, sep, dst = text.partition("->")
    if not sep or not src.strip() or not dst.strip():
        raise NetError(f"bad {what} {text!r}: expected SRC->DST")
    dst, _, kind = dst.strip().partition(".")
    return src.strip(), dst, kind or "any"


def parse_drop(text: str, stateful: bool = False) -> DropRule:
    """``"SRC->DST[.KIND][:PORT]"`` -> a :class:`DropRule` (``*`` for any server; no port: the
    receiving server's own port). ``"B->A:4569"`` drops UDP 4569 from B to A. Raises NetError."""
    head, sep, port = text.rpartition(":")
    if not sep:
        head, port = text, ""
    src, dst, kind = _pair(head, "drop rule")
    number: int | None = None
    if port:
        try:
            number = int(port)
        except ValueError:
            raise NetError(f"bad drop rule {text!r}: port {port!r} is not a number") from None
    return DropRule(src, dst, kind, number, stateful)


def parse_link(text: str) -> tuple[tuple[str, str], Impairment]:
    """``"SRC->DST:latency=0.03,jitter=0.002,loss=0.01,duplicate=0,reorder=1"`` -> the direction
    and its :class:`Impairment` (fields not given are 0). Raises NetError."""
    head, sep, body = text.partition(":")
    src, dst, kind = _pair(head, "link")
    if kind != "any":
        raise NetError(f"bad link {text!r}: a link joins two servers, not an address")
    values: dict[str, float] = {}
    for item in filter(None, body.split(",")):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in ("latency", "jitter", "loss", "duplicate", "reorder"):
            raise NetError(f"bad link {text!r}: expected latency=, jitter=, loss=, duplicate= "
                           f"or reorder=, got {item!r}")
        try:
            values[key] = float(value)
        except ValueError:
            raise NetError(f"bad link {text!r}: {key} {value!r} is not a number") from None
    reorder = bool(values.pop("reorder", 0.0))
    return (src, dst), Impairment(reorder=reorder, **values)
