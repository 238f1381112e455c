"""``iaxsim study``: the study of one network, from its plan or configs to advice."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

_EPILOG = """INPUT is a plan CSV, a scenario TOML or a folder written by `iaxsim import`.

writes:
  DIR/index.html      executive summary and recommendation, then figures and tables
  DIR/study.ipynb     the executed study notebook (open in JupyterLab, change, re-run)
  DIR/study.html      the notebook as a page, code hidden
  DIR/artefacts/      <server>/external.conf and link.conf, renumber-map.csv,
                      plan-proposed.csv, calls.csv, calls.parquet, summary.json

exit status: 0 on success, 2 on bad input (nothing is written then).

example:
  iaxsim study data/plans/five_sites.csv --out study-five
  iaxsim study net/ --out study --erlangs 8 --remote 0.3 --latency 0.040 --seeds 5
  iaxsim study data/plans/five_sites.csv --out study-sized --erlangs-per-extension 0.1
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``iaxsim study``."""
    p = subparsers.add_parser(
        "study", help="study a network: lint, renumbering, link.conf, busy hour, capacity, advice",
        description="Lint the plan, compare exact and block link.conf, propose a renumbering, "
                    "simulate the busy hour before and after (several seeds, 95 % intervals), "
                    "compare link.conf with switch =>, size servers and links, and write a report "
                    "that says what to change.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", type=Path, metavar="INPUT", help="plan CSV, scenario TOML or NETDIR")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="report folder")
    load = p.add_mutually_exclusive_group()
    load.add_argument("--calls", type=float, default=None, metavar="N",
                      help="busy-hour call attempts per server (default 600)")
    load.add_argument("--erlangs", type=float, default=None, metavar="E",
                      help="or offered Erlangs per server")
    load.add_argument("--erlangs-per-extension", type=float, default=None, metavar="E",
                      help="or offered Erlangs per extension, e.g. 0.1: each server offers E × its "
                           "extensions, and its remote calls go to the others in proportion to "
                           "their extensions")
    p.add_argument("--remote", type=float, default=0.5, help="share of calls to other servers (default 0.5)")
    p.add_argument("--latency", type=float, default=0.020, metavar="S",
                   help="one-way latency between sites, s (default 0.020; a scenario's [network] "
                        "latency wins)")
    p.add_argument("--holding", type=float, default=180.0, metavar="S", help="mean holding time, s (default 180)")
    p.add_argument("--seeds", type=int, default=3, help="replications per condition (default 3)")
    p.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    p.add_argument("--duration", type=float, default=3600.0, metavar="S",
                   help="simulated busy hour, s (default 3600)")
    p.add_argument("--max-calls", type=int, default=3000, metavar="N",
                   help="call attempts measured per run, all servers together (default 3000): a "
                        "larger network measures a shorter stretch of its busy hour at the full "
                        "rate; the report says how long")
    p.add_argument("--switch-calls", type=int, default=600, metavar="N",
                   help="the same for the switch => runs (default 600): each of their calls asks "
                        "the peers in turn, so it costs as much to simulate as dozens of "
                        "link.conf calls on a large network")
    p.add_argument("--dialling", choices=("digits", "enbloc"), default="digits",
                   help="phones dial digit by digit (default) or en bloc")
    p.add_argument("--gos", type=float, default=0.01, help="target blocking for capacity (default 0.01)")
    p.add_argument("--codecs", default="ulaw,g729", help="codecs for link bandwidth (default ulaw,g729)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="processes running the simulations (default: 2, or 1 on a one-core machine)")
    p.add_argument("--no-notebook", action="store_true", help="skip the notebook (index.html and artefacts only)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from iaxsim.study import StudyOptions, write_study

    opts = StudyOptions(calls_per_hour=args.calls, erlangs=args.erlangs,
                        erlangs_per_extension=args.erlangs_per_extension, remote=args.remote,
                        latency=args.latency, holding=args.holding, seeds=args.seeds, seed=args.seed,
                        duration=args.duration, max_calls=args.max_calls,
                        switch_calls=args.switch_calls, dialling=args.dialling, gos=args.gos,
                        codecs=tuple(c.strip() for c in args.codecs.split(",") if c.strip()))
    out = write_study(args.input, args.out, opts, progress=not args.no_progress,
                      notebook=not args.no_notebook, workers=max(1, args.workers))
    print(f"study written: {out / 'index.html'}")
    return 0
