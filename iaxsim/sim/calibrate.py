"""Calibrate the lookup CPU model (``[cpu]`` base and per_comparison) on this machine.

Times the real matcher on contexts of a few sizes (distinct unmatched numbers, so a linear
lookup scans every entry; the linear engine is timed on its plain walk,
``Dialplan.reference_lookup``, the walk whose comparisons the model charges, not on the index
that answers the simulator's lookups faster) and fits ``time = base + per_comparison × comparisons`` by least squares
— the same measurement ``benchmarks/bench_dialplan.py`` reports, reduced to the two model
parameters.
"""
from __future__ import annotations

import time

import numpy as np

from iaxsim.sim.scenario import CpuModel


def _context(n: int) -> str:
    lines = ["[external]"]
    lines += [f"exten => {2000000 + i},1,Dial(IAX2/${{EXTEN}},20)" for i in range(n)]
    return "\n".join(lines) + "\n"


def measure_lookups(sizes: tuple[int, ...] = (10, 100, 1000), engine: str = "linear",
                    repeat: int = 200, rounds: int = 3) -> list[tuple[int, float]]:
    """(comparisons, seconds) per lookup of an unknown number, for each context size: the
    best of ``rounds`` timed rounds (as ``timeit`` does: other work on the machine only ever
    adds time)."""
    from iaxsim.dialplan import Dialplan

    out = []
    for n in sizes:
        dp = Dialplan.from_string(_context(n), "calibration.conf")
        reps = max(20, repeat * 10 // max(10, n))
        # distinct numbers: the matcher remembers answers, and a remembered answer is not a lookup
        numbers = [str(8000000 + i) for i in range(rounds * reps + 1)]
        ask = dp.reference_lookup if engine == "linear" else dp.lookup
        _, cost = ask(numbers[-1], "external", engine=engine)
        best = float("inf")
        for r in range(rounds):
            t = time.perf_counter()
            for number in numbers[r * reps:(r + 1) * reps]:
                ask(number, "external", engine=engine)
            best = min(best, (time.perf_counter() - t) / reps)
        out.append((cost.comparisons, best))
    return out


def calibrate_cpu(sizes: tuple[int, ...] = (10, 100, 1000), engine: str = "linear") -> CpuModel:
    """A :class:`CpuModel` fitted to this machine's matcher timings (both terms ≥ 0)."""
    points = measure_lookups(sizes, engine)
    x = np.array([c for c, _ in points], dtype=float)
    y = np.array([t for _, t in points], dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    return CpuModel(base=float(max(intercept, 0.0)), per_comparison=float(max(slope, 0.0)))
