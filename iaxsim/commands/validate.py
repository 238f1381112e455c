"""``iaxsim validate``: the simulator against real nodes on loopback (:mod:`iaxsim.validate`)."""
from __future__ import annotations

import argparse
import json
import math
import tomllib
from pathlib import Path
from typing import Any

from iaxsim.errors import IaxsimError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``iaxsim validate``."""
    p = subparsers.add_parser(
        "validate", help="compare the simulator with real nodes (or Asterisk) on loopback, call by call",
        description="Run a scenario in the simulator, replay its first N measured calls on real "
                    "iaxsim nodes (or, with --asterisk, real Asterisk servers) on loopback UDP "
                    "through the WAN emulator, and compare each call: outcome, answering server "
                    "and attempts must be equal, post-dial delay within 10 % or 5 ms. Exit status "
                    "1 when any call disagrees, 2 for bad input (docs/validate.md).")
    p.add_argument("scenario", type=Path, help="scenario TOML file")
    p.add_argument("--calls", type=int, default=30, metavar="N",
                   help="calls to replay (default 30; they run in real time)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--asterisk", type=Path, default=None, metavar="DIR",
                   help="replay on real Asterisk servers instead of nodes: DIR is an unpacked "
                        "Asterisk build (the directory holding sbin/asterisk and lib/, with "
                        "chan_iax2, pbx_config, app_dial, app_originate, res_clioriginate, "
                        "app_stack, app_verbose, func_strings, func_channel, func_callerid); one "
                        "instance per scenario server, configured from its external.conf and "
                        "link.conf, own extensions answering at once")
    p.add_argument("--model-set", dest="model_set", action="append", default=[],
                   metavar="FIELD=VALUE",
                   help="run the simulator with a scenario field changed (e.g. network.latency=0.04), "
                        "the nodes without: checks that validate catches a wrong model")
    p.set_defaults(func=run_validate)


def _value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _fmt(v: float) -> str:
    return "-" if math.isnan(v) else f"{v * 1000:.1f} ms"


def run_validate(args: argparse.Namespace) -> int:
    from iaxsim.sim import load_scenario
    from iaxsim.validate import validate

    if args.calls < 1:
        raise IaxsimError(f"--calls must be at least 1, got {args.calls}")
    scenario = load_scenario(args.scenario)
    values = {}
    for item in args.model_set:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise IaxsimError(f"--model-set {item!r}: expected FIELD=VALUE")
        values[name.strip()] = _value(text.strip())
    model = scenario.with_values(values) if values else None
    report = validate(scenario, calls=args.calls, seed=args.seed, model=model,
                      asterisk=args.asterisk)
    if args.json:
        print(json.dumps(report.as_dict()))
        return 0 if report.ok else 1
    print(f"{report.scenario}: {report.calls} calls, seed {report.seed}, "
          f"{report.agree:.0%} agree, {len(report.loss_affected)} loss-affected, "
          f"{report.wall:.1f} s wall")
    other = "asterisk" if report.replay == "asterisk" else "node"
    width = max(12, len(other) + 6)
    print(f"{'class':<24}{'calls':>6}{'sim pdd':>12}{other + ' pdd':>{width}}{'agree':>8}{'loss':>6}")
    for c in report.classes:
        print(f"{c.name:<24}{c.calls:>6}{_fmt(c.sim_pdd):>12}{_fmt(c.node_pdd):>{width}}"
              f"{c.agree:>8.0%}{c.loss_affected:>6}")
    if report.disagreements:
        print("disagreements:")
        for d in report.disagreements:
            fields = ", ".join(f"{k} sim {s!r} {other} {n!r}" for k, (s, n) in d.fields.items())
            print(f"  call {d.index} at {d.start:.3f} s, {d.origin} dials {d.dialled} "
                  f"({d.call_class}): {fields}")
    return 0 if report.ok else 1
