"""``iaxsim plan``: lint numbering plans, generate link.conf, propose a renumbering."""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iaxsim.numbering import NumberingPlan


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=88)

_EPILOG_LINT = """exit status: 0 when the plan is clean, 1 when it has conflicts, prefix hazards or
reserved-prefix collisions, 2 on unreadable input.

example:
  iaxsim plan lint data/plans/five_sites.csv
  iaxsim plan lint plan.csv --mode exact --outside-line 0 --emergency 112,999
"""


def _common_analysis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=("block", "exact"), default="block",
                   help="link.conf patterns whose overlap is measured: 'block' claims every "
                        "10^N-number block a server uses (as admins write _60XX), 'exact' matches "
                        "exactly its extensions (default: block)")
    p.add_argument("--block-digits", type=int, default=2, metavar="N",
                   help="trailing digits a block pattern leaves open (default 2: 100-number blocks)")
    p.add_argument("--outside-line", default="9", metavar="DIGITS",
                   help="comma-separated outside-line prefixes extensions must avoid (default 9; '' for none)")
    p.add_argument("--emergency", default="112,911,999", metavar="NUMBERS",
                   help="comma-separated emergency numbers (default 112,911,999; '' for none)")
    p.add_argument("--reserved", default="", metavar="PREFIXES",
                   help="further comma-separated reserved prefixes")
    p.add_argument("--servers", default=None, metavar="IDS",
                   help="comma-separated server ids the plan may use (others are an error)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``iaxsim plan lint|linkconf|renumber|cover|synth``."""
    p = subparsers.add_parser(
        "plan", help="numbering plans: lint, link.conf generation, renumbering",
        description="Numbering plans of linked servers (CSV: server,extension or server,first,last "
                    "with an optional name column).")
    sub = p.add_subparsers(dest="plan_command", metavar="ACTION", required=True)

    lint = sub.add_parser(
        "lint", help="report conflicts, prefix hazards, pattern overlap and reserved-prefix collisions",
        description=_wrap("Analyse a numbering plan: the same number on two servers (conflict), numbers "
                    "that prefix others (each costs a 5 s digit timeout), how much the servers' "
                    "link.conf patterns overlap (score 0 = disjoint blocks, 1 = fully interleaved), "
                    "extension lengths and collisions with the outside-line digit and emergency numbers."),
        epilog=_EPILOG_LINT, formatter_class=argparse.RawDescriptionHelpFormatter)
    lint.add_argument("plan", type=Path, help="plan CSV")
    _common_analysis_options(lint)
    lint.add_argument("--limit", type=int, default=10, help="items listed per finding (default 10)")
    lint.add_argument("--json", action="store_true", help="print the findings as JSON")
    lint.add_argument("--no-link-sizes", action="store_true",
                      help="skip counting each server's link.conf patterns (slow on huge plans)")
    lint.add_argument("--tables", type=Path, default=None, metavar="DIR",
                      help="also write every finding table as DIR/<name>.csv (routes, conflicts, ...)")
    lint.set_defaults(func=run_lint)

    lc = sub.add_parser(
        "linkconf", help="write a server's external.conf and link.conf",
        description=_wrap("Write DIR/external.conf (the server's own extensions, context [external]) and "
                    "DIR/link.conf (context [link]: for each pattern, priority 1 dials the owning "
                    "peer's internal address, priority 2 its external one, as in trixbox), loadable "
                    "by 'iaxsim dialplan resolve --dir DIR' and 'iaxsim node --conf DIR'. With --all, "
                    "writes DIR/server<ID>/ for every server."),
        epilog="example:\n  iaxsim plan linkconf data/plans/seed.csv --server A --out /tmp/serverA",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    lc.add_argument("plan", type=Path, help="plan CSV")
    who = lc.add_mutually_exclusive_group(required=True)
    who.add_argument("--server", help="server id to generate for")
    who.add_argument("--all", action="store_true", help="every server, one sub-folder each")
    lc.add_argument("--out", type=Path, required=True, help="output folder")
    lc.add_argument("--mode", choices=("exact", "block"), default="exact",
                    help="'exact' patterns match exactly each server's extensions; 'block' claims "
                         "whole 10^N-number blocks (default: exact)")
    lc.add_argument("--block-digits", type=int, default=2, metavar="N", help="block size for --mode block")
    lc.add_argument("--external", choices=("literal", "patterns"), default="literal",
                    help="external.conf with one literal per extension (default) or cover patterns")
    lc.set_defaults(func=run_linkconf)

    rn = sub.add_parser(
        "renumber", help="propose own leading digit(s) per server with the fewest changed extensions",
        description=_wrap("Give each server its own leading digit(s) (two-digit site prefixes when servers "
                    "outnumber free digits), one extension length, no reserved prefix; keep as many "
                    "extensions as possible. Prints the proposal with before/after findings, writes "
                    "the new plan CSV and optionally the old -> new table."),
        epilog="example:\n  iaxsim plan renumber data/plans/five_sites.csv --out new.csv --map changes.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    rn.add_argument("plan", type=Path, help="plan CSV")
    rn.add_argument("--out", type=Path, required=True, help="new plan CSV to write")
    rn.add_argument("--map", type=Path, default=None, help="also write server,old,new,changed here")
    _common_analysis_options(rn)
    rn.add_argument("--length", type=int, default=None, help="extension length (default: most common)")
    rn.add_argument("--first-digits", default="123456789",
                    help="leading digits servers may get (default 1-9; 0 is never used)")
    rn.add_argument("--limit", type=int, default=20, help="changes listed (default 20)")
    rn.set_defaults(func=run_renumber)

    cv = sub.add_parser("cover", help="smallest Asterisk patterns matching exactly some numbers",
                        description="Print patterns matching exactly the given numbers and ranges.",
                        epilog="example:\n  iaxsim plan cover 6000-6049      # _60[0-4]X",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    cv.add_argument("numbers", nargs="+", help="NUMBER or FIRST-LAST, any number of them")
    cv.add_argument("--verify", action="store_true",
                    help="check with the dialplan engine that the patterns match exactly these numbers")
    cv.set_defaults(func=run_cover)

    sy = sub.add_parser("synth", help="write a synthetic plan (for sweeps)",
                        description="Deterministic synthetic plan: overlap 0 = disjoint blocks, "
                                    "1 = fully interleaved; see iaxsim.numbering.synthetic.")
    sy.add_argument("--servers", type=int, required=True)
    sy.add_argument("--per-server", type=int, required=True, help="extensions per server")
    sy.add_argument("--overlap", type=float, default=0.0, help="0..1 (default 0)")
    sy.add_argument("--length", type=int, default=4, help="digits per extension (default 4)")
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--out", type=Path, required=True, help="CSV to write")
    sy.set_defaults(func=run_synth)


def _list(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def _load(args: argparse.Namespace) -> NumberingPlan:
    from iaxsim.numbering import NumberingPlan

    servers = _list(args.servers) if getattr(args, "servers", None) else None
    return NumberingPlan.from_csv(args.plan, servers=servers)


def run_lint(args: argparse.Namespace) -> int:
    from iaxsim.numbering import analyze

    report = analyze(_load(args), mode=args.mode, block_digits=args.block_digits,
                     outside_line=_list(args.outside_line), emergency=_list(args.emergency),
                     reserved=_list(args.reserved), link_sizes=not args.no_link_sizes)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(report.summary(limit=args.limit))
    if args.tables is not None:
        for path in report.write_tables(args.tables):
            print(f"table written: {path}", file=sys.stderr)
    return 0 if report.is_clean else 1


def run_linkconf(args: argparse.Namespace) -> int:
    from iaxsim.numbering import write_all_confs, write_server_confs

    plan = _load(args)
    if args.all:
        for server, folder in write_all_confs(plan, args.out, args.mode, args.block_digits,
                                              args.external).items():
            print(f"{server}: {folder / 'external.conf'}, {folder / 'link.conf'}")
    else:
        ext, link = write_server_confs(plan, args.server, args.out, args.mode, args.block_digits,
                                       args.external)
        print(f"{args.server}: {ext}, {link}")
    return 0


def run_renumber(args: argparse.Namespace) -> int:
    from iaxsim.numbering import renumber

    res = renumber(_load(args), outside_line=_list(args.outside_line), emergency=_list(args.emergency),
                   reserved=_list(args.reserved), length=args.length, first_digits=args.first_digits,
                   mode=args.mode, block_digits=args.block_digits)
    print(res.summary(limit=args.limit))
    res.plan.to_csv(args.out)
    print(f"new plan written: {args.out}")
    if args.map is not None:
        res.mapping.to_csv(args.map, index=False)
        print(f"old -> new table written: {args.map}")
    return 0


def run_cover(args: argparse.Namespace) -> int:
    from iaxsim.numbering.cover import cover, numbers_from_specs

    numbers = numbers_from_specs(args.numbers)
    pats = cover(numbers)
    for pat in pats:
        print(pat)
    print(f"{len(pats)} pattern(s) for {len(set(numbers))} number(s)", file=sys.stderr)
    if args.verify:
        from iaxsim.numbering.cover import verify_cover

        try:
            verify_cover(pats, numbers)
        except AssertionError as err:
            print(f"verification FAILED: {err}", file=sys.stderr)
            return 1
        print("verified with the dialplan engine: exact", file=sys.stderr)
    return 0


def run_synth(args: argparse.Namespace) -> int:
    from iaxsim.numbering import synthetic_plan

    plan = synthetic_plan(args.servers, args.per_server, args.overlap, args.length, args.seed)
    plan.to_csv(args.out)
    print(f"{plan!r} written: {args.out}")
    return 0
