"""Simulator benchmark: simulated calls per second, a 10-server busy hour, sweep speed-up.

Run: ``.venv/bin/python benchmarks/bench_sim.py`` (``--quick`` for a short run).

1. Two servers, every call crossing IAX2 (the real engine and codec on every datagram, the
   real matcher on every lookup): simulated calls per wall second and per CPU second, against
   a bare SimPy skeleton of the same call flow (same arrivals, channels, CPU holds and the
   same number of datagram deliveries, but no codec, engine or matcher) measured in the same
   run. Targets: ≥ 3,000 calls/s; ratio to the skeleton ≤ 3×.
2. A busy hour of 100k calls over 10 servers (``--quick``: a tenth of it, extrapolated).
   Target < 60 s.
3. A sweep of 4 runs on 1 worker, then on 2 local workers. Target speed-up ≥ 1.7×.

Wall times depend on what else the machine runs; CPU seconds (process time of this process)
are printed beside them.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iaxsim.experiments.sweep import run_sweep  # noqa: E402
from iaxsim.sim import simulate  # noqa: E402
from iaxsim.sim.scenario import scenario_from_dict  # noqa: E402
from iaxsim.sim.scenarios import seed_two_servers  # noqa: E402


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def two_servers(calls: int):
    """The seed's two servers, all traffic remote, internal addresses reachable."""
    per_server = calls / 2
    return seed_two_servers(calls_per_hour=per_server, hours=1.0, remote=1.0, seed=1, **{
        "warmup": 0.0, "network.internal_scope": "global", "servers.*.channels": 2000,
        "traffic.extension_busy": False})


def skeleton(calls_per_hour: float, hours: float, datagrams_per_call: float, seed: int = 1) -> int:
    """The same call flow as bare SimPy: Poisson arrivals at two servers, channels, two CPU
    holds, 4 one-way hops on the critical path of set-up, the remaining datagram deliveries
    as scheduled no-op events, holding time, hang-up hop. Returns the number of calls."""
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    channels = {"A": 0, "B": 0}
    cpu = {"A": simpy.Resource(env, 1), "B": simpy.Resource(env, 1)}
    extra = max(0, int(round(datagrams_per_call)) - 6)
    latency = 0.02
    count = [0]

    def lookup(server):
        with cpu[server].request() as req:
            yield req
            yield env.timeout(12e-6)

    def call(o, d, hold):
        count[0] += 1
        channels[o] += 1
        yield from lookup(o)
        for _ in range(2):  # NEW, CALLTOKEN
            yield env.timeout(latency)
        yield env.timeout(latency)  # NEW with token
        channels[d] += 1
        yield from lookup(d)
        yield env.timeout(latency)  # ACCEPT / RINGING / ANSWER
        for _ in range(extra):  # ACKs and the rest: deliveries nobody waits for
            env.timeout(latency).callbacks.append(lambda e: None)
        yield env.timeout(hold)
        yield env.timeout(latency)  # HANGUP
        channels[o] -= 1
        channels[d] -= 1

    def arrivals(o, d):
        rate = calls_per_hour / 2 / 3600.0
        while True:
            yield env.timeout(rng.exponential(1 / rate))
            if env.now >= hours * 3600:
                return
            env.process(call(o, d, rng.exponential(180.0)))

    env.process(arrivals("A", "B"))
    env.process(arrivals("B", "A"))
    env.run()
    return count[0]


def bench_calls(n: int) -> None:
    print(f"# 1. two servers, {n} calls/h offered, all crossing IAX2")
    sc = two_servers(n)
    res, wall, cpu = timed(lambda: simulate(sc, seed=1))
    calls = len(res.calls)
    dg = int(res.link_totals["datagrams"].sum()) / max(1, calls)
    print(f"  simulated calls          {calls}")
    print(f"  datagrams per call       {dg:.1f}  (every one encoded, sent, decoded by the engine)")
    print(f"  wall s / CPU s           {wall:.2f} / {cpu:.2f}")
    print(f"  calls per wall second    {calls / wall:,.0f}   (target ≥ 3,000)")
    print(f"  calls per CPU second     {calls / cpu:,.0f}")
    sk_calls, sk_wall, sk_cpu = timed(lambda: skeleton(n, 1.0, dg))
    print(f"  skeleton calls           {sk_calls}")
    print(f"  skeleton calls per CPU s {sk_calls / sk_cpu:,.0f}")
    print(f"  ratio model / skeleton   {(cpu / calls) / (sk_cpu / sk_calls):.1f}×  (CPU per call; target ≤ 3×)")


def bench_busy_hour(fraction: float) -> None:
    calls = int(100_000 * fraction)
    print(f"# 2. busy hour over 10 servers: {calls} calls ({fraction:g} of 100k)")
    sc = scenario_from_dict({
        "name": "busy_hour_10", "duration": 3600.0 * fraction, "seed": 1,
        "numbering": {"extensions_per_server": 1000, "overlap": 0.2, "length": 5},
        "servers": [{"id": chr(ord("A") + i), "channels": 2000, "matcher": "trie"} for i in range(10)],
        "traffic": {"calls_per_hour": 10_000.0, "local": 0.7, "remote": 0.3, "extension_busy": False,
                    "holding": {"dist": "exponential", "mean": 180.0}},
    })
    res, wall, cpu = timed(lambda: simulate(sc, seed=1))
    n = len(res.calls)
    print(f"  simulated calls          {n}")
    print(f"  wall s / CPU s           {wall:.2f} / {cpu:.2f}")
    print(f"  100k calls would take    {wall / n * 100_000:.1f} s wall, {cpu / n * 100_000:.1f} s CPU"
          f"   (target < 60 s)")


def bench_sweep(calls: int) -> None:
    print(f"# 3. sweep of 4 runs ({calls} calls each): 1 worker vs 2 local workers")
    sc = two_servers(calls)
    grid = {"servers.B.channels": [1000, 1500]}
    with tempfile.TemporaryDirectory() as tmp:
        _, w1, _ = timed(lambda: run_sweep(sc, grid, replications=2, cache_dir=Path(tmp) / "one",
                                           workers=1, progress=False))
        _, w2, _ = timed(lambda: run_sweep(sc, grid, replications=2, cache_dir=Path(tmp) / "two",
                                           workers=2, progress=False))
    print(f"  1 worker                 {w1:.2f} s")
    print(f"  2 workers                {w2:.2f} s")
    print(f"  speed-up                 {w1 / w2:.2f}×   (target ≥ 1.7×)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run")
    args = ap.parse_args(argv)
    bench_calls(4_000 if args.quick else 20_000)
    bench_busy_hour(0.05 if args.quick else 1.0)
    bench_sweep(1_500 if args.quick else 6_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
