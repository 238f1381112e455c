"""``iaxsim dialplan``: show, look up and resolve numbers in extensions.conf files."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iaxsim.dialplan import Dialplan


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``iaxsim dialplan show|find|resolve``."""
    p = subparsers.add_parser("dialplan", help="Asterisk-compatible dialplan tools",
                              description="Load an Asterisk extensions.conf and answer as Asterisk would.")
    sub = p.add_subparsers(dest="dialplan_command", metavar="ACTION", required=True)

    s = sub.add_parser("show", help="print like Asterisk's 'dialplan show [[NUMBER@]CONTEXT]'")
    s.add_argument("target", nargs="?", default=None, help="[NUMBER@]CONTEXT (default: everything)")
    s.add_argument("--conf", type=Path, required=True, help="extensions.conf to load")
    s.add_argument("--strict", action="store_true", help="treat load warnings as errors")
    s.set_defaults(func=run_show)

    f = sub.add_parser("find", help="which extension runs for NUMBER@CONTEXT, and what finding it cost")
    f.add_argument("target", help="NUMBER@CONTEXT")
    f.add_argument("--conf", type=Path, required=True, help="extensions.conf to load")
    f.add_argument("--engine", choices=("linear", "trie"), default="linear")
    f.add_argument("--mode", choices=("match", "canmatch", "matchmore"), default="match")
    f.add_argument("--callerid", default=None, help="caller's number, for CID-qualified extensions")
    f.set_defaults(func=run_find)

    r = sub.add_parser("resolve", help="linked-server lookup: external.conf, then link.conf")
    r.add_argument("number")
    r.add_argument("--dir", type=Path, required=True, help="directory with external.conf and link.conf")
    r.add_argument("--account", default="1001", help="value of ${ACCOUNT} (default 1001)")
    r.add_argument("--engine", choices=("linear", "trie"), default="linear")
    r.set_defaults(func=run_resolve)


def _warn(dp: Dialplan) -> None:
    for w in dp.warnings:
        print(f"WARNING: {w}", file=sys.stderr)


def run_show(args: argparse.Namespace) -> int:
    from iaxsim.dialplan import Dialplan
    from iaxsim.dialplan.show import show_dialplan

    dp = Dialplan.from_file(args.conf, strict=args.strict)
    _warn(dp)
    text, ok = show_dialplan(dp, args.target)
    sys.stdout.write(text)
    return 0 if ok else 1


def run_find(args: argparse.Namespace) -> int:
    from iaxsim.dialplan import Dialplan

    number, sep, context = args.target.rpartition("@")
    if not sep:
        number, context = args.target, "default"
    dp = Dialplan.from_file(args.conf)
    _warn(dp)
    ext, cost = dp.lookup(number, context, engine=args.engine, mode=args.mode, callerid=args.callerid)
    where = f"'{ext.name}' in context '{ext.context}'" if ext else "no extension"
    print(f"{number}@{context} ({args.mode}, {args.engine}): {where}")
    print(f"cost: {cost.comparisons} comparisons, {cost.chars_compared} characters, "
          f"{cost.contexts_searched} contexts, {cost.switches} switches")
    return 0 if ext else 1


def run_resolve(args: argparse.Namespace) -> int:
    from iaxsim.dialplan.linked import LinkedServer

    srv = LinkedServer.from_dir(args.dir, account=args.account)
    for w in srv.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    res = srv.resolve(args.number, engine=args.engine)
    if res.local is not None:
        print(f"{args.number}: local extension '{res.local.name}'")
    elif res.attempts:
        for a in res.attempts:
            print(f"{args.number}: priority {a.priority} -> {a.peer} ({a.address}) {a.dial_string}")
    else:
        print(f"{args.number}: not found locally nor in link.conf")
    c = res.cost
    print(f"cost: {c.comparisons} comparisons, {c.chars_compared} characters, {c.contexts_searched} contexts")
    return 0 if res.found else 1
