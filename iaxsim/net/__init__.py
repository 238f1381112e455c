"""iaxsim.net: the IAX2 engine on real UDP sockets with asyncio.

* :mod:`iaxsim.net.transport` -- ``Transport``: an ``Endpoint`` on one or more sockets, the
  loop's clock, datagram filters and capture;
* :mod:`iaxsim.net.probe` -- ``probe()``: POKE reachability with a plain-language verdict;
* :mod:`iaxsim.net.node` -- ``Node``: a minimal linked PBX (``iaxsim node``);
* :mod:`iaxsim.net.conf`, :mod:`iaxsim.net.routing` -- its iax.conf and dialplan steps;
* :mod:`iaxsim.net.filters` -- ready-made drop filters (dead address, one-way firewall).
"""
from iaxsim.net.node import CallRecord, Node
from iaxsim.net.probe import ProbeReport, probe
from iaxsim.net.transport import NetError, Transport, parse_hostport

__all__ = ["Transport", "NetError", "parse_hostport", "probe", "ProbeReport", "Node",
           "CallRecord"]
