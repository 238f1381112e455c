"""``iaxsim study`` benchmark: the whole command, wall time, on the bundled five-site plan and on a
synthetic 50-site network of 20,000 extensions.

Run: ``.venv/bin/python benchmarks/bench_study.py`` (``--five-only``: skip the 50-site network;
``--stages S``: instead of the whole command, the CPU time of each stage on the 50-site network,
the busy-hour runs cut to S simulated seconds and their cost given per call).

Each case runs ``iaxsim study PLAN --out DIR`` with the command's defaults (600 call attempts per
server in a simulated busy hour of 3600 s, at most 3,000 attempts measured per ``link.conf`` run
and 600 per ``switch =>`` run — a larger network measures a shorter stretch of its busy hour at
the busy hour's rate — 3 seeds, every condition, the capacity check, the executed notebook and
its HTML page) and prints the wall time and the process CPU time of the run. The 50-site plan is
``iaxsim plan synth --servers 50 --per-server 400 --overlap 0.3 --length 5 --seed 1``. Targets:
five_sites < 60 s, 50 sites < 5 min on a 2-core machine.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iaxsim.cli import main  # noqa: E402


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_case(name: str, plan: Path, out: Path, extra: list[str], target_s: float) -> bool:
    """Time one ``iaxsim study`` run; True when it met ``target_s``."""
    t0, c0 = time.perf_counter(), _cpu()
    code = main(["study", str(plan), "--out", str(out), "--no-progress", *extra])
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    ok = code == 0 and wall < target_s
    print(f"{name:<34} wall {wall:7.1f} s  cpu {cpu:7.1f} s  target < {target_s:.0f} s  "
          f"{'ok' if ok else 'MISSED'}", flush=True)
    return ok


def stages(plan_path: Path, duration: float, out: Path) -> None:
    """CPU seconds of each stage of the study of ``plan_path`` (one process, seed 1)."""
    from iaxsim.numbering import LinkTable, analyze, link_confs, renumber, write_server_confs
    from iaxsim.sim import scenario_from_dict
    from iaxsim.sim.model import Model
    from iaxsim.study import StudyOptions, busy_hour_scenario, load_network
    from iaxsim.study.output import verify_routes

    def timed(label: str, fn):  # type: ignore[no-untyped-def]
        c0 = time.process_time()
        value = fn()
        print(f"  {label:<58} {time.process_time() - c0:7.1f} s CPU", flush=True)
        return value

    net = load_network(plan_path)
    timed("lint (block and exact)", lambda: (analyze(net.plan, "block"), analyze(net.plan, "exact")))
    proposal = timed("renumbering proposal", lambda: renumber(net.plan))
    for name, plan, mode in (("current", net.plan, "block"), ("current", net.plan, "exact"),
                             ("proposed", proposal.plan, "exact")):
        timed(f"link.conf of every server, {name} plan, {mode}", lambda: link_confs(plan, mode))
    table = LinkTable(proposal.plan, "exact")
    folders = {}
    for server in proposal.plan.servers:
        write_server_confs(proposal.plan, server, out / server, mode="exact", table=table)
        folders[server] = out / server
    timed("route check of the proposed link.conf (1 process)",
          lambda: verify_routes(proposal.plan, folders))
    for cond, plan, mode, linking in (("current, block", net.plan, "block", "linked"),
                                      ("current, exact", net.plan, "exact", "linked"),
                                      ("proposed, exact", proposal.plan, "exact", "linked"),
                                      ("switch =>", proposal.plan, "exact", "switch")):
        scenario = scenario_from_dict(busy_hour_scenario(plan, StudyOptions(duration=duration), mode, linking))
        model = timed(f"{cond}: build the model (first seed)", lambda: Model(scenario, 1))
        timed(f"{cond}: build the model (next seed, same process)", lambda: Model(scenario, 2))
        c0 = time.process_time()
        result = model.run()
        cpu = time.process_time() - c0
        calls = len(result.calls)
        print(f"  {cond + f': busy hour of {duration:g} s, {calls} calls':<58} {cpu:7.1f} s CPU "
              f"({cpu / max(calls, 1) * 1000:.1f} ms per call; simulated until {model.env.now:.0f} s)",
              flush=True)


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--five-only", action="store_true", help="only the five-site plan")
    parser.add_argument("--fifty-only", action="store_true", help="only the 50-site network")
    parser.add_argument("--stages", type=float, default=None, metavar="S",
                        help="CPU time per stage on the 50-site network, busy hour cut to S seconds")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        if args.stages is not None:
            plan = base / "fifty.csv"
            assert main(["plan", "synth", "--servers", "50", "--per-server", "400", "--overlap", "0.3",
                         "--length", "5", "--seed", "1", "--out", str(plan)]) == 0
            print("50 sites, 20,000 extensions: CPU time per stage")
            stages(plan, args.stages, base / "confs")
            return 0
        if not args.fifty_only:
            ok &= run_case("five_sites.csv (5 sites, 582 ext.)", ROOT / "data/plans/five_sites.csv",
                           base / "five", [], 60.0)
        if not args.five_only:
            plan = base / "fifty.csv"
            assert main(["plan", "synth", "--servers", "50", "--per-server", "400", "--overlap", "0.3",
                         "--length", "5", "--seed", "1", "--out", str(plan)]) == 0
            ok &= run_case("50 sites, 20,000 extensions", plan, base / "fifty", [], 300.0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main_bench())
