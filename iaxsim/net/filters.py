"""Ready-made datagram filters for :attr:`Transport.filters` (tests and experiments).

A filter is ``f(direction, local, remote, data) -> True to drop``; ``direction`` is "in" or
"out". None of these touch the system firewall: they act inside the transport only.
"""
from __future__ import annotations

from collections.abc import Iterable

from iaxsim.net.transport import Address


class DropLocal:
    """Drop everything received on (and sent from) the given local addresses: an interface
    that is down or firewalled, e.g. a node's internal address."""

    def __init__(self, addresses: Iterable[Address]):
        self.addresses = {(h, int(p)) for h, p in addresses}

    def __call__(self, direction: str, local: Address, remote: Address, data: bytes) -> bool:
        return local in self.addresses


class DropRemote:
    """Drop datagrams to and from the given remote hosts (any port) in ``directions``."""

    def __init__(self, hosts: Iterable[str], directions: Iterable[str] = ("in", "out")):
        self.hosts = set(hosts)
        self.directions = set(directions)

    def __call__(self, direction: str, local: Address, remote: Address, data: bytes) -> bool:
        return direction in self.directions and remote[0] in self.hosts


class StatefulInbound:
    """A stateful firewall that blocks *new* inbound flows from ``hosts``: a datagram from
    them is let in only if we sent to that (remote, local) pair first -- replies to our own
    calls pass, their calls to us do not. This is the one-way block of the trixbox notes:
    calls work from this side only."""

    def __init__(self, hosts: Iterable[str]):
        self.hosts = set(hosts)
        self.flows: set[tuple[Address, Address]] = set()

    def __call__(self, direction: str, local: Address, remote: Address, data: bytes) -> bool:
        if direction == "out":
            self.flows.add((local, remote))
            return False
        return remote[0] in self.hosts and (local, remote) not in self.flows
