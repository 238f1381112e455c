"""Instructions per simulated call, model against the same-flow skeleton (deterministic).

Run: ``.venv/bin/python benchmarks/bench_sim_instructions.py`` (needs valgrind; ~10 min).

CPU time on a shared machine drifts by up to a third between runs; instruction counts do not.
Each figure runs ``valgrind --tool=callgrind`` on a fresh interpreter with a fixed hash seed,
no address randomisation and one OpenBLAS thread, at two traffic levels; the difference
divided by the difference in calls is the *marginal* count per call, without the start-up
(imports, scenario set-up) both levels share:

* the model: ``bench_sim.py --model-only N`` (two servers, every call over IAX2, as part 1 of
  ``bench_sim.py``), N = 6000 and 3000 calls/h;
* the bare SimPy skeleton of the same call flow (``bench_sim.skeleton_faithful``), same levels.

Instructions are not time: the model's larger code and data make each instruction dearer
(cache misses), so the CPU-time ratio ``bench_sim.py`` prints is the larger of the two.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKELETON = ("import sys; sys.path.insert(0, 'benchmarks'); import bench_sim; "
            "r = bench_sim.skeleton_faithful({rate}, 1.0); print('calls', r.started)")
MODEL = ("import sys; sys.path.insert(0, 'benchmarks'); import bench_sim; "
         "from iaxsim.sim import simulate; "
         "r = simulate(bench_sim.two_servers({rate}), seed=1); print('calls', len(r.calls))")


def count(code: str) -> tuple[int, int]:
    """(instructions, calls) of one Python snippet run under callgrind."""
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    cmd = ["setarch", platform.machine(), "-R", "valgrind", "--tool=callgrind",
           "--callgrind-out-file=/dev/null", sys.executable, "-c", code]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    calls = re.search(r"calls (\d+)", proc.stdout)
    if proc.returncode != 0 or not found or not calls:
        raise SystemExit(f"valgrind run failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return int(found.group(1)), int(calls.group(1))


def marginal(template: str, high: int, low: int) -> float:
    i_high, c_high = count(template.format(rate=high))
    i_low, c_low = count(template.format(rate=low))
    return (i_high - i_low) / (c_high - c_low)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--high", type=int, default=6000, help="calls/h of the larger run (default 6000)")
    ap.add_argument("--low", type=int, default=3000, help="calls/h of the smaller run (default 3000)")
    args = ap.parse_args(argv)
    if args.high <= args.low:
        ap.error("--high must be more than --low")
    if shutil.which("valgrind") is None or shutil.which("setarch") is None:
        print("needs valgrind and setarch (apt-get install valgrind)", file=sys.stderr)
        return 2
    model = marginal(MODEL, args.high, args.low)
    skeleton = marginal(SKELETON, args.high, args.low)
    print(f"  model, marginal instructions per call      {model / 1e3:8.0f} k")
    print(f"  same-flow skeleton, the same                {skeleton / 1e3:8.0f} k")
    print(f"  ratio model / skeleton (instructions)       {model / skeleton:8.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
