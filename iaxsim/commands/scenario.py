"""``iaxsim scenario from-pcap``: a thin wrapper over :mod:`iaxsim.sim.from_pcap`."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from iaxsim.errors import IaxsimError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``iaxsim scenario`` and its ``from-pcap`` sub-command."""
    p = subparsers.add_parser("scenario", help="build scenarios from measurements",
                              description="Build simulation scenarios from measurements.")
    sub = p.add_subparsers(dest="scenario_command", metavar="COMMAND", required=True)
    f = sub.add_parser(
        "from-pcap", help="infer a scenario from IAX2 captures",
        description="Measure round-trip time, loss, call arrivals, holding times, answer delay, "
                    "codec mix and trunking per pair of hosts in IAX2 captures, print what was "
                    "measured from how many frames, and write a scenario reproducing it "
                    "(docs/scenarios.md, 'Scenarios from captures').")
    f.add_argument("files", nargs="+", type=Path, metavar="FILE", help="pcap or pcapng capture")
    f.add_argument("--out", type=Path, default=None, metavar="SCENARIO.toml",
                   help="write the scenario here (default: only print the summary)")
    f.add_argument("--name", action="append", default=[], metavar="ADDR=ID",
                   help="name the server at ADDR (repeat; several addresses may share an id); "
                        "servers are named by address otherwise")
    f.add_argument("--port", type=int, action="append", default=None, metavar="N",
                   help="UDP port carrying IAX2 (repeat for several; default 4569)")
    f.add_argument("--all-ports", action="store_true", help="take every UDP datagram as IAX2")
    f.add_argument("--json", action="store_true", help="print the summary as JSON")
    f.set_defaults(func=run_from_pcap)


def _names(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        addr, sep, sid = item.partition("=")
        if not sep or not addr or not sid:
            raise IaxsimError(f"--name {item!r}: expected ADDR=ID")
        out[addr.strip()] = sid.strip()
    return out


def run_from_pcap(args: argparse.Namespace) -> int:
    from iaxsim.sim.from_pcap import json_default, measure, scenario_dict, scenario_toml, summary, summary_text
    from iaxsim.sim.scenario import scenario_from_dict

    names = _names(args.name)
    ports = None if args.all_ports else (args.port or [4569])
    m = measure(args.files, ports)
    if args.json:
        print(json.dumps(summary(m), indent=2, default=json_default))
    else:
        print(summary_text(m))
    if args.out is not None:
        data = scenario_dict(m, names, name=args.out.stem)
        scenario_from_dict(data)   # refuse to write a file load_scenario would reject
        header = ("Inferred by iaxsim scenario from-pcap from " + ", ".join(str(p) for p in args.files)
                  + f"\n{m.iax2_frames} IAX2 frames, {len(m.calls)} calls "
                  f"({m.truncated_start + m.truncated_end()} truncated), {m.undecodable} undecodable")
        args.out.write_text(scenario_toml(data, header), encoding="utf-8")
        if not args.json:
            print(f"\nscenario written: {args.out}")
    return 0
