"""Explorer benchmark: how long one widget change takes to recompute (lint + post-dial delay
estimate, :func:`iaxsim.study.explore.estimate`), the notebook's 2 s budget.

Run: ``.venv/bin/python benchmarks/bench_explore.py``. Each setting is timed 3 times (wall,
best of 3, and process CPU time of that run) over the widgets' range (up to 50 servers of 100
extensions); the last rows, beyond the widgets, are the study benchmark's 50 × 400 network.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iaxsim.study.explore import estimate  # noqa: E402

# the notebook's default, then the widgets' far ends (50 servers of 100 extensions)
SETTINGS = [
    dict(servers=5, per_server=100, overlap=0.3, link_mode="block", length=4),
    dict(servers=50, per_server=100, overlap=1.0, link_mode="block", length=4),
    dict(servers=50, per_server=100, overlap=1.0, link_mode="exact", length=4),
    dict(servers=50, per_server=100, overlap=1.0, link_mode="switch", length=4),
]
# beyond the widgets, for information: the study benchmark's 20,000 extensions
LARGE = [dict(servers=50, per_server=400, overlap=0.3, link_mode=m, length=5)
         for m in ("block", "exact", "switch")]


def main() -> int:
    worst = 0.0
    for s in SETTINGS + LARGE:
        best, cpu = float("inf"), 0.0
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            estimate(**s)  # type: ignore[arg-type]
            wall = time.perf_counter() - t0
            if wall < best:
                best, cpu = wall, time.process_time() - c0
        if s in SETTINGS:
            worst = max(worst, best)
        label = ", ".join(f"{k}={v}" for k, v in s.items())
        print(f"{label:<70} {best:6.2f} s wall (CPU {cpu:.2f} s)  {'ok' if best < 2 else 'OVER 2 s'}")
    return 0 if worst < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
