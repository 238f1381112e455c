"""Numbering-plan benchmark: analysis and pattern cover on 20 servers x 5,000 extensions.

Run: ``.venv/bin/python benchmarks/bench_numbering.py`` (``--quick``: 20 x 1,000).

Plans come from ``synthetic_plan(20, N, overlap, length=6, seed=1)`` at overlap 0, 0.3 and
1.0. For each it measures ``analyze()`` (block and exact mode) and the exact pattern cover of
every server (the link.conf work), each against a baseline measured in the same run:

* analysis: the naive prefix-hazard check a user would write (every number against every
  other with ``startswith``), timed on a 4,000-number sample and scaled by (n/4,000)²
  (it is quadratic), beside the bisect scan ``analyze`` uses on the same sample;
* cover: the hand-written cover an administrator would make — one ``_...X`` pattern per
  complete decade, a literal for every other number — pattern count and time.

Target (issue): analysis and cover of 20 x 5,000 under 5 s. Wall times are printed; the
"analysis + cover" line also gives the process CPU time, which other load on the machine
inflates less.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iaxsim.numbering import analyze, cover, find_prefix_pairs, synthetic_plan  # noqa: E402


CPU = {"used": 0.0}


def timed(fn, *args, **kw):
    """Wall time of one call; its CPU time is added to ``CPU['used']``."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    CPU["used"] += time.process_time() - c0
    return out, time.perf_counter() - t0


def decade_cover(numbers: list[str]) -> list[str]:
    """Baseline: ``_600X`` for each full decade, literals for the rest."""
    decades: dict[str, list[str]] = {}
    for n in numbers:
        decades.setdefault(n[:-1], []).append(n)
    out = []
    for prefix, members in decades.items():
        out.extend([f"_{prefix}X"] if len(members) == 10 else members)
    return out


def naive_prefix_pairs(numbers: list[str]) -> int:
    count = 0
    for a in numbers:
        for b in numbers:
            if a != b and b.startswith(a):
                count += 1
    return count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 x 1,000 extensions")
    args = ap.parse_args()
    per = 1000 if args.quick else 5000
    servers = 20
    print(f"numbering benchmark: {servers} servers x {per} extensions, 6 digits")
    print(f"{'overlap':>7} {'step':<28} {'seconds':>8} {'baseline s':>11} {'ratio':>8}  note")
    worst_total = 0.0
    for overlap in (0.0, 0.3, 1.0):
        plan, t_syn = timed(synthetic_plan, servers, per, overlap, 6, seed=1)
        print(f"{overlap:>7} {'synthetic_plan':<28} {t_syn:>8.3f} {'-':>11} {'-':>8}")
        CPU["used"] = 0.0
        rep, t_block = timed(analyze, plan, mode="block")
        cpu_analysis = CPU["used"]
        _, t_exact = timed(analyze, plan, mode="exact")
        numbers = [e for s in plan.servers for e in plan.extensions[s]]
        sample = random.Random(0).sample(numbers, 4000)
        # plant some short numbers so both checks find pairs
        sample = sorted(set(sample + [n[:4] for n in sample[:50]]))
        naive_count, t_naive = timed(naive_prefix_pairs, sample)
        fast, t_fast = timed(find_prefix_pairs, sample)
        assert naive_count == len(fast)
        scale = (len(numbers) / len(sample)) ** 2
        est_naive = t_naive * scale
        print(f"{overlap:>7} {'analyze (block)':<28} {t_block:>8.3f} {est_naive:>11.1f} "
              f"{est_naive / t_block:>7.0f}x  baseline: naive prefix check, est. from 4k sample")
        print(f"{overlap:>7} {'analyze (exact)':<28} {t_exact:>8.3f} {est_naive:>11.1f} "
              f"{est_naive / t_exact:>7.0f}x")
        print(f"{overlap:>7} {'prefix pairs, 4k sample':<28} {t_fast:>8.4f} {t_naive:>11.3f} "
              f"{t_naive / t_fast:>7.0f}x  both measured")
        CPU["used"] = 0.0
        t_cov = 0.0
        n_pat = 0
        t_base = 0.0
        n_base = 0
        for s in plan.servers:
            pats, t = timed(cover, plan.extensions[s])
            t_cov += t
            n_pat += len(pats)
        cpu_cover = CPU["used"]
        for s in plan.servers:
            base, t = timed(decade_cover, list(plan.extensions[s]))
            t_base += t
            n_base += len(base)
        print(f"{overlap:>7} {'cover, all servers':<28} {t_cov:>8.3f} {t_base:>11.3f} "
              f"{t_cov / t_base:>7.1f}x  time vs decade cover (slower is expected)")
        print(f"{overlap:>7} {'  patterns':<28} {n_pat:>8} {n_base:>11} "
              f"{n_base / n_pat:>7.1f}x  fewer patterns than the decade cover")
        total = t_block + t_cov
        worst_total = max(worst_total, total)
        print(f"{overlap:>7} {'analysis + cover':<28} {total:>8.3f} {'5.0 target':>11} "
              f"{total / 5.0:>7.2f}x  of the target (CPU time {cpu_analysis + cpu_cover:.3f} s)")
        print(f"{'':>7} overlap score {rep.overlap_score:.2f}, candidates {rep.candidate_histogram.to_dict()}")
    print(f"worst analysis + cover: {worst_total:.2f} s (target < 5 s): "
          f"{'met' if worst_total < 5.0 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
