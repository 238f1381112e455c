"""Dialplan matcher benchmark: find() lookups/s per engine against a naive regex scan.

Run: ``.venv/bin/python benchmarks/bench_dialplan.py`` (``--quick`` for a short run,
``--link-only`` for the last section alone).

For 10 … 100k patterns in one context it measures: load time (text → sorted context),
trie lookups/s, linear walks/s and the naive approach a user would write (one compiled
regex per pattern, scanned in file order), each ratio against that regex scan measured in
the same run; then the linear/trie time ratio at the extension counts Asterisk's sample
extensions.conf quotes for its own matchers (the linear figures time the plain walk that
defines the cost, ``reference_lookup``); then the linear engine's indexed lookups
(``iaxsim.dialplan.linear_index``) against that walk on the largest ``link.conf`` context of
the synthetic 50-site plan (``plan synth --servers 50 --per-server 400 --overlap 0.3 --length 5
--seed 1``), dialled digit by digit in the three modes as the simulator asks.  Deterministic:
patterns and numbers come from a seeded generator.
"""
from __future__ import annotations

import argparse
import gc
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iaxsim.dialplan import Dialplan  # noqa: E402

ASTERISK_CURVE = {50: 1.32, 88: 2.23, 138: 3.44, 238: 5.8, 438: 10.4, 1000: 25.0, 10000: 374.0}
_CLASS = {"X": "[0-9]", "N": "[2-9]", "Z": "[1-9]"}


def make_patterns(n: int, seed: int = 1, workload: str = "blocks") -> list[str]:
    """``n`` distinct 8-digit patterns.

    ``blocks``: each pattern owns its own block of numbers (a distinct literal prefix one digit
    longer than needed, then X) — a link.conf of non-overlapping ranges.  ``mixed``: literal
    prefixes of 2-6 digits followed by N/Z/X/sets, so many patterns overlap (a stress case).
    """
    rng = random.Random(seed)
    if workload == "blocks":
        width = len(str(n - 1)) + 1
        return ["_" + str(p).zfill(width) + "X" * (8 - width) for p in rng.sample(range(10 ** width), n)]
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        plen = rng.randint(2, 6)
        prefix = "".join(rng.choice("0123456789") for _ in range(plen))
        tail = []
        for _ in range(8 - plen):
            r = rng.random()
            tail.append("X" if r < 0.6 else "N" if r < 0.75 else "Z" if r < 0.85 else "[1-5]" if r < 0.95 else str(rng.randint(0, 9)))
        p = "_" + prefix + "".join(tail)
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def fill(pattern: str, rng: random.Random) -> str:
    """A number the pattern matches."""
    out = []
    i = 1
    while i < len(pattern):
        c = pattern[i]
        if c == "[":
            j = pattern.index("]", i)
            lo, hi = pattern[i + 1], pattern[j - 1]
            out.append(str(rng.randint(int(lo), int(hi))))
            i = j + 1
            continue
        out.append({"X": str(rng.randint(0, 9)), "N": str(rng.randint(2, 9)), "Z": str(rng.randint(1, 9))}.get(c, c))
        i += 1
    return "".join(out)


def numbers_for(patterns: list[str], count: int, seed: int = 2) -> list[str]:
    """80 % numbers some pattern matches, 20 % random 8-digit numbers (mostly misses)."""
    rng = random.Random(seed)
    nums = []
    for _ in range(count):
        if rng.random() < 0.8:
            nums.append(fill(rng.choice(patterns), rng))
        else:
            nums.append("".join(rng.choice("0123456789") for _ in range(8)))
    return nums


def regex_of(pattern: str) -> re.Pattern:
    """The regex a user would write for one Asterisk pattern."""
    body = pattern[1:]
    rx = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "[":
            j = body.index("]", i)
            rx.append(body[i:j + 1])
            i = j + 1
            continue
        rx.append(_CLASS.get(c.upper(), ".+" if c == "." else ".*" if c == "!" else re.escape(c)))
        i += 1
    return re.compile("".join(rx))


def per_second(fn, items: list[str], min_time: float) -> float:
    """Calls per CPU second of ``fn`` over ``items`` (repeated until ``min_time`` CPU s passed).

    CPU time (``time.process_time``) rather than wall time, so other work on a shared machine
    does not count against the figure (it still competes for the CPU caches).
    """
    done = 0
    start = time.process_time()
    while True:
        for x in items:
            fn(x)
        done += len(items)
        elapsed = time.process_time() - start
        if elapsed >= min_time:
            return done / elapsed


def context_text(patterns: list[str]) -> str:
    """One context holding every pattern."""
    return "[bench]\n" + "".join(f"exten => {p},1,NoOp()\n" for p in patterns)


def run_sizes(sizes: list[int], workload: str, min_time: float) -> list[tuple]:
    """Measure load time and lookups/s for each size; prints one row per size."""
    print(f"\n# workload '{workload}': find() lookups per CPU second, one context, 8-digit numbers")
    print(f"{'patterns':>9} {'load s':>7} {'trie s':>7} {'gc s':>6} {'trie/s':>9} {'linear/s':>9} {'regex/s':>9} {'trie×rx':>8} {'lin×rx':>7} {'warm/s':>9} {'memo/s':>9}")
    rows = []
    costs = []
    for n in sizes:
        pats = make_patterns(n, workload=workload)
        text = context_text(pats)
        t0 = time.process_time()
        dp = Dialplan.from_string(text, cache_size=0)
        load = time.process_time() - t0
        nums = numbers_for(pats, 2000)
        t0 = time.process_time()
        dp.find(nums[0], "bench", engine="trie")  # build the trie outside the lookup timing
        build = time.process_time() - t0
        t0 = time.process_time()
        gc.collect()  # the one full collection a freshly loaded big plan costs, paid here
        collect = time.process_time() - t0
        trie = per_second(lambda x: dp.find(x, "bench", engine="trie"), nums, min_time)
        warm = per_second(lambda x: dp.find(x, "bench", engine="trie"), nums[:20], min_time / 2)
        few = nums[: max(20, 200000 // n)]
        linear = per_second(lambda x: dp.reference_lookup(x, "bench"), few, min_time)
        regexes = [regex_of(p) for p in pats]

        def scan(x, regexes=regexes):
            for rx in regexes:
                if rx.fullmatch(x):
                    return rx
            return None

        regex = per_second(scan, few, min_time)
        memo_dp = Dialplan.from_string(text)
        memo_dp.find(nums[0], "bench", engine="trie")  # build its trie outside the timing
        gc.collect()
        memo = per_second(lambda x: memo_dp.find(x, "bench", engine="trie"), nums, min_time / 2)
        del memo_dp
        sample = nums[: max(20, min(400, 400000 // n))]
        tcost = sum(dp.lookup(x, "bench", engine="trie")[1].comparisons for x in sample) / len(sample)
        lcost = sum(dp.reference_lookup(x, "bench")[1].comparisons for x in sample) / len(sample)
        costs.append((n, tcost, lcost))
        rows.append((n, load, trie, linear, regex, warm, memo))
        print(f"{n:>9} {load:>7.3f} {build:>7.3f} {collect:>6.3f} {trie:>9.0f} {linear:>9.0f} {regex:>9.0f} {trie / regex:>8.1f} "
              f"{linear / regex:>7.2f} {warm:>9.0f} {memo:>9.0f}")
    base = rows[0][2]
    print("  trie lookup time relative to the smallest size: "
          + ", ".join(f"{n}: {base / trie:.2f}" for n, _, trie, *_ in rows))
    print("  counted cost per lookup (LookupCost.comparisons, machine-independent): "
          + ", ".join(f"{n}: trie {t:.1f} / linear {lin:.0f}" for n, t, lin in costs))
    return rows


def run_link_conf(min_time: float, count: int) -> None:
    """Indexed linear lookups against the plain walk on the largest link.conf of the 50-site plan."""
    from iaxsim.numbering import link_confs, synthetic_plan

    plan = synthetic_plan(50, 400, 0.3, 5, 1)
    texts = link_confs(plan, "exact")
    server = max(texts, key=lambda s: texts[s].count("exten =>"))
    dp = Dialplan.from_string(texts[server], default_context="link", cache_size=0)
    size = len(dp.contexts["link"].extensions)
    rng = random.Random(5)
    everyone = [n for s in plan.servers for n in plan.extensions[s]]
    numbers = [rng.choice(everyone) for _ in range(count)]
    # what the simulator asks while a number is dialled: each prefix, in the three modes
    asks = [(n[:i], m) for n in numbers for i in range(1, len(n) + 1) for m in ("match", "matchmore", "canmatch")]
    for q, m in asks[:300]:  # the answers and costs agree, field by field
        assert dp.lookup(q, "link", mode=m) == dp.reference_lookup(q, "link", mode=m), (q, m)
    dp = Dialplan.from_string(texts[server], default_context="link", cache_size=0)
    t0 = time.process_time()
    for q, m in asks:  # first pass: builds the index's buckets on the way
        dp.lookup(q, "link", mode=m)
    cold = len(asks) / (time.process_time() - t0)
    walk = per_second(lambda a: dp.reference_lookup(a[0], "link", mode=a[1]), asks[:600], min_time)
    indexed = per_second(lambda a: dp.lookup(a[0], "link", mode=a[1]), asks, min_time)
    tested = sum(dp.reference_lookup(q, "link", mode=m)[1].comparisons for q, m in asks[:600]) / 600
    print(f"\n# linear engine on server {server}'s link.conf ({size} extensions, 5-digit numbers), "
          f"{len(numbers)} numbers dialled digit by digit, match/matchmore/canmatch: {len(asks)} lookups")
    print(f"  plain walk {walk:,.0f}/s; indexed {indexed:,.0f}/s (first pass, buckets built on the way: "
          f"{cold:,.0f}/s); indexed / walk {indexed / walk:.1f}; extensions tested per lookup "
          f"(the cost, both) {tested:.0f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run (smaller sizes, shorter timings)")
    ap.add_argument("--link-only", action="store_true", help="only the link.conf section (indexed vs walk)")
    args = ap.parse_args(argv)
    if args.link_only:
        run_link_conf(1.0 if not args.quick else 0.3, 2000 if not args.quick else 300)
        return 0
    sizes = [10, 100, 1000, 10000] if args.quick else [10, 100, 1000, 10000, 100000]
    min_time = 0.2 if args.quick else 1.0
    print("columns: load = CPU s to parse and sort the text; trie s = CPU s to build the trie (lazily, on the")
    print("first trie lookup); gc s = the first full garbage collection after loading (Python walks every")
    print("object of a freshly loaded plan once; paid here, outside the lookup timings);")
    print("trie/linear/regex = lookups per CPU s (linear: the plain walk, reference_lookup) with the")
    print("memo off (regex = one compiled regex per pattern scanned in file order, the baseline);")
    print("×rx = ratio to that baseline; warm = trie on 20 repeated numbers (CPU caches warm);")
    print("memo = trie with the default answer memo (4096 entries) over the same 2000 numbers")
    run_sizes(sizes, "blocks", min_time)
    run_sizes(sizes[:-1] if not args.quick else sizes[:3], "mixed", min_time)

    print("\n# linear/trie time ratio beside Asterisk's published figures (extensions.conf.sample), 'blocks'")
    print(f"{'extensions':>10} {'iaxsim':>8} {'Asterisk':>9}")
    for n, published in ASTERISK_CURVE.items():
        if args.quick and n > 1000:
            continue
        pats = make_patterns(n, seed=3)
        dp = Dialplan.from_string(context_text(pats), cache_size=0)
        nums = numbers_for(pats, 500, seed=4)
        dp.find(nums[0], "bench", engine="trie")
        gc.collect()
        t = per_second(lambda x: dp.find(x, "bench", engine="trie"), nums, min_time / 2)
        lin = per_second(lambda x: dp.reference_lookup(x, "bench"), nums[: max(20, 100000 // n)], min_time / 2)
        print(f"{n:>10} {t / lin:>8.1f} {published:>9.2f}")
    run_link_conf(min_time, 2000 if not args.quick else 300)
    return 0


if __name__ == "__main__":
    sys.exit(main())
