"""``iaxsim probe`` and ``iaxsim node``: thin wrappers over :mod:`iaxsim.net`."""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iaxsim.iax2.pcap import Datagram


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``iaxsim probe`` and ``iaxsim node``."""
    p = subparsers.add_parser("probe", help="POKE an IAX2 server: reachability and round trip",
                              description="Send IAX2 POKE and report PONG round trip, or why "
                                          "nothing came back (UDP port blocked, by which side).")
    p.add_argument("target", help="HOST[:PORT] (default port 4569)")
    p.add_argument("--from", dest="sources", action="append", default=[], metavar="ADDR[:PORT]",
                   help="local address to probe from; give it twice to spot a one-way block")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait (default 3)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_probe)

    n = subparsers.add_parser("node", help="run a minimal linked IAX2 server on UDP",
                              description="Serve the dialplan in DIR (extensions.conf, or "
                                          "external.conf + link.conf) with peers/users from "
                                          "DIR/iax.conf; log every call.")
    n.add_argument("--conf", type=Path, required=True, metavar="DIR")
    n.add_argument("--bind", action="append", default=[], metavar="ADDR:PORT",
                   help="address to listen on (repeat for internal and external addresses; "
                        "default 0.0.0.0:4569)")
    n.add_argument("--seed", type=int, default=0)
    n.add_argument("--duration", type=float, default=None,
                   help="stop after this many seconds (default: until interrupted)")
    n.add_argument("--pcap", type=Path, default=None, metavar="FILE",
                   help="write every datagram sent and received to FILE (classic pcap) on exit")
    n.set_defaults(func=run_node)


def run_probe(args: argparse.Namespace) -> int:
    from iaxsim.net.probe import probe
    from iaxsim.net.transport import parse_hostport

    target = parse_hostport(args.target)
    sources = [parse_hostport(s, default_port=0) for s in args.sources]
    report = asyncio.run(probe(target, sources, timeout=args.timeout, seed=args.seed))
    for line in report.lines():
        print(line)
    return 0 if report.reachable else 1


def run_node(args: argparse.Namespace) -> int:
    from iaxsim.net.node import Node
    from iaxsim.net.transport import parse_hostport

    binds = [parse_hostport(b) for b in args.bind] or [("0.0.0.0", 4569)]

    def log(message: str) -> None:
        print(message, flush=True)

    capture: list[Datagram] | None = [] if args.pcap is not None else None
    node = Node(args.conf, seed=args.seed, log=log, capture=capture)

    async def serve() -> None:
        addrs = await node.start(binds)
        log("listening on " + ", ".join(f"{h}:{p}" for h, p in addrs))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        try:
            await asyncio.wait_for(stop.wait(), args.duration)
        except asyncio.TimeoutError:
            pass
        finally:
            stats = node.endpoint.stats
            log(f"stopping: {stats.calls_received} calls received, {stats.calls_refused} refused, "
                f"{stats.garbage} garbage datagrams, {stats.token_rejects} token rejects")
            node.close()
            if capture is not None:
                from iaxsim.iax2.pcap import write_pcap

                count = write_pcap(args.pcap, capture)
                log(f"wrote {count} datagrams to {args.pcap}")

    asyncio.run(serve())
    sys.stdout.flush()
    return 0
