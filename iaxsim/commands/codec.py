"""``iaxsim decode HEX`` and ``iaxsim pcap FILE``: print IAX2 datagrams decoded."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``decode`` and ``pcap`` sub-commands."""
    d = subparsers.add_parser(
        "decode", help="decode one IAX2 datagram given in hex",
        description="Decode one IAX2 datagram (a UDP payload) written in hex; spaces, colons "
                    "and a 0x prefix are ignored.")
    d.add_argument("hex", nargs="+", metavar="HEX", help="datagram bytes in hex")
    d.add_argument("--json", action="store_true", help="write one JSON object instead of a table")
    d.set_defaults(func=run_decode)

    p = subparsers.add_parser(
        "pcap", help="decode every IAX2 datagram of a pcap/pcapng capture",
        description="Print every IAX2 datagram of a pcap or pcapng capture (UDP port 4569 "
                    "unless --port is given) as a table, or as JSON Lines with --json.")
    p.add_argument("file", metavar="FILE", help="pcap or pcapng capture")
    p.add_argument("--port", type=int, action="append", metavar="N",
                   help="UDP port carrying IAX2 (repeat for several; default 4569)")
    p.add_argument("--all-ports", action="store_true", help="try every UDP datagram as IAX2")
    p.add_argument("--json", action="store_true", help="write JSON Lines, one object per datagram")
    p.set_defaults(func=run_pcap)


def _print_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    widths = [len(h) for h in header[:-1]]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r[:-1])]
    for r in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "  " + r[-1])


def run_decode(args: argparse.Namespace) -> int:
    """``iaxsim decode``: print one datagram decoded."""
    from iaxsim.iax2 import DecodeError, decode
    from iaxsim.iax2.pcap import TABLE_HEADER, record_json, table_row

    text = "".join(args.hex).replace(":", "").replace(" ", "").replace("-", "")
    if text.lower().startswith("0x"):
        text = text[2:]
    try:
        data = bytes.fromhex(text)
    except ValueError as err:
        raise DecodeError(f"argument is not hexadecimal: {err}") from None
    frame = decode(data)
    if args.json:
        print(json.dumps(record_json(frame)))
    else:
        _print_table([table_row(frame)], TABLE_HEADER)
    return 0


def run_pcap(args: argparse.Namespace) -> int:
    """``iaxsim pcap``: print every IAX2 datagram of a capture."""
    from iaxsim.iax2.constants import DEFAULT_PORT, DecodeError
    from iaxsim.iax2.pcap import TABLE_HEADER, _addr, iter_iax2, record_json, table_row

    ports = None if args.all_ports else (args.port or [DEFAULT_PORT])
    reader, items = iter_iax2(args.file, ports)
    rows = []
    bad = 0
    t0 = None
    for dg, frame in items:
        if isinstance(frame, DecodeError):
            bad += 1
            print(f"iaxsim: warning: {args.file}: datagram at {dg.time:.6f} {_addr(dg.src)} -> "
                  f"{_addr(dg.dst)} is not valid IAX2: {frame}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(record_json(frame, dg)))
        else:
            if t0 is None:
                t0 = dg.time
            rows.append(table_row(frame, dg, t0))
    if not args.json:
        _print_table(rows, TABLE_HEADER)
    skipped = {k: v for k, v in reader.stats.skipped().items() if k != "filtered_port"}
    if bad or skipped:
        parts = [f"{bad} malformed IAX2 datagram(s)"] if bad else []
        parts += [f"{v} packet(s) {k.replace('_', ' ')}" for k, v in skipped.items()]
        print(f"iaxsim: {args.file}: " + ", ".join(parts), file=sys.stderr)
    return 0
