"""``iaxsim simulate`` and ``iaxsim sweep``: thin wrappers over iaxsim.sim and iaxsim.experiments."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client

from iaxsim.errors import IaxsimError, PlanWarning


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "simulate", help="run one scenario and print its summary",
        description="Run the SimPy model of linked PBXs on a scenario TOML file and print means "
                    "with 95% confidence intervals (docs/scenarios.md documents the file).")
    p.add_argument("scenario", type=Path, help="scenario TOML file")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    p.add_argument("--out", type=Path, default=None, help="write the per-call rows as Parquet")
    p.add_argument("--pcap", type=Path, default=None, help="write every datagram exchanged as a pcap")
    p.add_argument("--by", default=None, metavar="COLUMN",
                   help="summarise each group of calls separately, e.g. --by origin")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (by default one shows simulated seconds on stderr)")
    p.set_defaults(func=run_simulate)

    s = subparsers.add_parser(
        "sweep", help="run a grid of scenarios x replications (cached, resumable)",
        description="Run a sweep TOML file (scenario, [grid], replications, seed, cache, out) on a "
                    "local process pool or a Dask scheduler; finished runs are cached so an "
                    "interrupted sweep resumes.")
    s.add_argument("sweep", type=Path, help="sweep TOML file")
    s.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPUs)")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (needs the optional dask extra)")
    s.add_argument("--out", type=Path, default=None, help="write the result table as Parquet")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=run_sweep)


def run_simulate(args: argparse.Namespace) -> int:
    from iaxsim.sim import CALL_COLUMNS, load_scenario, simulate

    scenario = load_scenario(args.scenario)
    if args.pcap is not None and not scenario.capture:
        scenario = scenario.with_values({"capture": True})
    if args.by is not None and args.by not in CALL_COLUMNS:
        raise IaxsimError(f"--by {args.by}: no such column (choose from {', '.join(CALL_COLUMNS)})")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlanWarning)
        result = simulate(scenario, seed=args.seed, progress=not args.no_progress)
    for w in caught:
        if issubclass(w.category, PlanWarning):
            print(f"warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    print(f"{scenario.name}: {len(result.calls)} calls, seed {result.seed}, "
          f"{result.wall_seconds:.2f} s wall")
    print(result.calls["outcome"].value_counts().to_string())
    print("\nRemote calls per origin -> target (post-dial delay of the calls that rang, in ms; "
          "attempts per call; shares in %):")
    print(result.remote().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print()
    print(result.summary(by=args.by).to_string(float_format=lambda v: f"{v:.6g}"))
    if args.out is not None:
        result.calls.to_parquet(args.out, index=False)
        print(f"calls written: {args.out}")
    if args.pcap is not None:
        n = result.write_pcap(args.pcap)
        print(f"{n} datagrams written: {args.pcap}")
    return 0


def _client(address: str) -> Client:
    try:
        from distributed import Client
    except ImportError:
        raise IaxsimError("--scheduler needs Dask: pip install 'iaxsim[dask]'") from None
    return Client(address)


def run_sweep(args: argparse.Namespace) -> int:
    from iaxsim.experiments.sweep import SweepStats, load_sweep
    from iaxsim.experiments.sweep import run_sweep as sweep

    spec = load_sweep(args.sweep)
    executor = _client(args.scheduler) if args.scheduler else None
    stats = SweepStats()
    try:
        table = sweep(spec.scenario, spec.grid, replications=spec.replications, seed=spec.seed,
                      cache_dir=spec.cache, executor=executor, workers=args.workers,
                      progress=not args.no_progress, stats=stats)
    finally:
        if executor is not None:
            executor.close()
    print(f"{len(table)} runs: {stats.computed} computed, {stats.cached} from the cache ({spec.cache})")
    cols = [c for c in table.columns if c not in ("key",)]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    out = args.out or spec.out
    if out is not None:
        table.to_parquet(out, index=False)
        print(f"table written: {out}")
    return 0
