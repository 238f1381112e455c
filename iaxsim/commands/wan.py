"""``iaxsim wan``: run the WAN emulator (:mod:`iaxsim.net.wan`) between servers on loopback."""
from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from pathlib import Path
from types import FrameType

from iaxsim.errors import IaxsimError

#: options that describe the network (argparse dest -> option), which a scenario gives instead
_NETWORK_OPTIONS = {"latency": "--latency", "site_latency": "--site-latency", "jitter": "--jitter",
                    "loss": "--loss", "duplicate": "--duplicate", "reorder": "--reorder",
                    "links": "--link", "drops": "--drop", "stateful_drops": "--drop-stateful",
                    "conntrack_timeout": "--conntrack-timeout", "internal_scope": "--internal-scope",
                    "sites": "--site", "nat": "--nat"}


def register(subparsers) -> None:
    """Add ``iaxsim wan``."""
    p = subparsers.add_parser(
        "wan", help="relay UDP between IAX2 servers on loopback with latency, loss and firewalls",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Relay UDP datagrams between IAX2 servers listening on loopback addresses\n"
                    "(ours, Asterisk, any IAX2 peer), applying per direction a one-way latency,\n"
                    "jitter, loss, duplication and firewall drops, seeded. No root, no kernel\n"
                    "support.\n\n"
                    "It prints, for every server, the address at which it must reach each other\n"
                    "server (put it in that server's iax.conf host=/port=), then relays until\n"
                    "interrupted or --duration, and prints counters per direction. Every address\n"
                    "must be in 127.0.0.0/8 or ::1.",
        epilog="example:\n  iaxsim wan --server A=127.0.0.2:4569 --server B=127.0.0.3:4569 \\\n"
               "      --latency 0.02 --loss 0.01 --drop 'B->A:4569' --seed 1 --duration 60\n"
               "docs/wan.md explains the wiring.")
    p.add_argument("--server", dest="servers", action="append", default=[],
                   metavar="NAME[.KIND]=HOST:PORT",
                   help="a server's real address (KIND internal or external, default external); "
                        "repeat per server and per address")
    p.add_argument("--site", dest="sites", action="append", default=[], metavar="NAME=SITE",
                   help="put a server in a site (default: a site of its own); internal "
                        "addresses are reachable only within their site")
    p.add_argument("--nat", dest="nat", action="append", default=[], metavar="NAME",
                   help="the server is behind NAT: replies to its flows pass drop rules on its port")
    p.add_argument("--scenario", type=Path, default=None, metavar="FILE",
                   help="take sites, NAT and the [network] table from a simulator scenario "
                        "(docs/scenarios.md); --server gives each of its servers' addresses")
    p.add_argument("--latency", type=float, metavar="S", default=None,
                   help="one-way latency between sites, s (default 0)")
    p.add_argument("--site-latency", type=float, metavar="S", default=None,
                   help="one-way latency within a site, s (default 0)")
    p.add_argument("--jitter", type=float, metavar="S", default=None, help="extra delay drawn from [0, S] per datagram, s")
    p.add_argument("--loss", type=float, metavar="P", default=None, help="probability a datagram is lost")
    p.add_argument("--duplicate", type=float, metavar="P", default=None,
                   help="probability a datagram is sent twice")
    p.add_argument("--reorder", action="store_true",
                   help="let jittered datagrams overtake each other (default: FIFO per direction)")
    p.add_argument("--link", dest="links", action="append", default=[],
                   metavar="SRC->DST:latency=S,jitter=S,loss=P,duplicate=P",
                   help="impairments of one direction between two servers (replaces the defaults)")
    p.add_argument("--drop", dest="drops", action="append", default=[],
                   metavar="SRC->DST[.KIND][:PORT]",
                   help="drop datagrams from SRC to DST (on PORT; default DST's own port); '*' "
                        "for any server: a one-way firewall")
    p.add_argument("--drop-stateful", dest="stateful_drops", action="append", default=[],
                   metavar="SRC->DST[.KIND][:PORT]",
                   help="like --drop, but let through replies to what DST sent SRC within "
                        "--conntrack-timeout")
    p.add_argument("--conntrack-timeout", type=float, metavar="S", default=None,
                   help="how long a stateful rule remembers a flow, s (default 30)")
    p.add_argument("--internal-scope", choices=("site", "global"), default=None,
                   help="internal addresses reachable only within their site (default) or from "
                        "everywhere")
    p.add_argument("--proxy-net", default=None, metavar="NET",
                   help="give every proxy address an IP of its own in this loopback network "
                        "(e.g. 127.77.0.0/16), with the port of the address it stands for "
                        "(default: 127.0.0.1, free ports)")
    p.add_argument("--seed", type=int, metavar="N", default=None, help="random seed (default 0, or the scenario's)")
    p.add_argument("--duration", type=float, metavar="S", default=None,
                   help="stop after this many seconds (default: until interrupted)")
    p.add_argument("--json", action="store_true",
                   help="print the proxy addresses and the final counters as JSON objects")
    p.set_defaults(func=run_wan)


def _config(args: argparse.Namespace):
    """The :class:`~iaxsim.net.wan.WanConfig` the options describe."""
    from iaxsim.net.wan import (DropRule, Impairment, WanConfig, WanServer, parse_drop, parse_link,
                                parse_server)
    from iaxsim.net.transport import Address, NetError

    def option(name: str, text: str, parse):
        try:
            return parse(text)
        except NetError as err:
            raise IaxsimError(f"--{name} {text!r}: {err}") from None

    if not args.servers:
        raise IaxsimError("--server: give at least two servers' addresses")
    addresses: dict[str, dict[str, Address]] = {}
    given: dict[str, str] = {}
    for text in args.servers:
        name, kind, addr = option("server", text, parse_server)
        given.setdefault(name, text)
        if kind in addresses.get(name, {}):
            raise IaxsimError(f"--server {text!r}: {name}.{kind} given twice")
        addresses.setdefault(name, {})[kind] = addr
    sites: dict[str, str] = {}
    for text in args.sites:
        name, sep, site = text.partition("=")
        if not sep or name not in addresses or not site:
            raise IaxsimError(f"--site {text!r}: expected NAME=SITE with NAME given by --server")
        sites[name] = site
    for name in args.nat:
        if name not in addresses:
            raise IaxsimError(f"--nat {name!r}: no --server {name}")

    if args.scenario is not None:
        network = [o for n, o in _NETWORK_OPTIONS.items() if getattr(args, n) not in (None, [], False)]
        if network:
            raise IaxsimError(f"{network[0]}: the scenario gives the network; edit the scenario "
                              "instead")
        from iaxsim.sim import load_scenario

        scenario = load_scenario(args.scenario).to_dict()
        try:
            return WanConfig.from_scenario(scenario, addresses, seed=args.seed,
                                           proxy_network=args.proxy_net)
        except NetError as err:
            raise IaxsimError(f"--scenario {args.scenario}: {err}") from None

    checks = {"latency": lambda v: Impairment(latency=float(v)),
              "site-latency": lambda v: Impairment(latency=float(v)),
              "jitter": lambda v: Impairment(jitter=float(v)),
              "loss": lambda v: Impairment(loss=float(v)),
              "duplicate": lambda v: Impairment(duplicate=float(v))}
    for name, check in checks.items():
        value = getattr(args, name.replace("-", "_"))
        if value is not None:
            option(name, str(value), check)
    default = Impairment(args.latency or 0.0, args.jitter or 0.0, args.loss or 0.0,
                         args.duplicate or 0.0, args.reorder)
    site = Impairment(args.site_latency or 0.0, args.jitter or 0.0, args.loss or 0.0,
                      args.duplicate or 0.0, args.reorder)
    links = dict(option("link", t, parse_link) for t in args.links)
    rules: list[DropRule] = [option("drop", t, parse_drop) for t in args.drops]
    rules += [option("drop-stateful", t, lambda s: parse_drop(s, stateful=True))
              for t in args.stateful_drops]
    servers = []
    for name, addrs in addresses.items():
        try:
            servers.append(WanServer(name, addrs, sites.get(name, ""), name in args.nat))
        except NetError as err:
            bad = next((t for t in args.servers if str(err).find(t.partition("=")[2]) >= 0),
                       given[name])
            raise IaxsimError(f"--server {bad!r}: {err}") from None
    try:
        return WanConfig(tuple(servers), default, site, links, tuple(rules),
                         args.internal_scope or "site",
                         30.0 if args.conntrack_timeout is None else args.conntrack_timeout,
                         args.seed or 0, args.proxy_net)
    except NetError as err:
        raise IaxsimError(f"--server: {err}" if len(servers) < 2 else str(err)) from None


def run_wan(args: argparse.Namespace) -> int:
    from iaxsim.net.wan import WanEmulator

    if args.duration is not None and args.duration < 0:
        raise IaxsimError(f"--duration must be >= 0, got {args.duration}")
    wan = WanEmulator(_config(args))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with wan:
            faces = [{"viewer": f.viewer, "target": f.target, "kind": f.kind,
                      "address": f"{f.address[0]}:{f.address[1]}", "nat": f.nat} for f in wan.faces]
            if args.json:
                print(json.dumps({"proxies": faces}), flush=True)
            else:
                for f in wan.faces:
                    if f.nat:
                        continue
                    several = len(wan.config.server(f.target).addresses) > 1
                    target = f"{f.target}.{f.kind}" if several else f.target
                    host, port = f.address
                    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                    print(f"{f.viewer} reaches {target} at {where}")
                print("relaying" + (f" for {args.duration:g} s" if args.duration is not None
                                    else " until interrupted"), flush=True)
            deadline = None if args.duration is None else time.monotonic() + args.duration
            while wan.running and not stop.is_set():
                left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
                if left <= 0:
                    break
                stop.wait(left)
            failed = wan.error
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    counters = wan.counters()
    if args.json:
        print(json.dumps({"counters": {k: c.as_dict() for k, c in counters.items()},
                          "strays": wan.strays}))
    else:
        _print_counters(counters, wan.strays)
    if failed is not None:
        raise IaxsimError(f"the relay stopped: {failed}")
    return 0


def _print_counters(counters, strays: int) -> None:
    columns = ("received", "forwarded", "lost", "duplicated", "dropped_firewall", "dropped_scope",
               "discarded", "send_errors")
    heads = ("received", "forwarded", "lost", "dup", "firewall", "scope", "discarded", "errors")
    width = max([len("direction")] + [len(k) for k in counters])
    print(f"{'direction':<{width}} " + " ".join(f"{h:>9}" for h in heads))
    for name, c in counters.items():
        values = c.as_dict()
        print(f"{name:<{width}} " + " ".join(f"{values[col]:>9}" for col in columns))
    if strays:
        print(f"{strays} datagrams from addresses no server has were not relayed")
