"""Matcher cost against context size: the linear scan against the trie, beside Asterisk's own figures.

Asterisk's sample ``extensions.conf`` quotes how much faster its pattern trie
(``extenpatternmatchnew=yes``) is than the default linear scan for contexts of 50 … 10 000
extensions (:data:`ASTERISK_TRIE_SPEEDUP`). :func:`matcher_cost_curve` measures the same
comparison with this project's matchers — deterministic work counts, not timings: for a
context of *n* literal extensions (what an interleaved numbering plan forces into
``external.conf``) it looks up a seeded sample of its numbers with both engines and reports
the mean comparisons per lookup (patterns tested by the linear scan, nodes visited by the trie).

A count ratio is not a time ratio: a trie step does more work than one linear pattern test.
:func:`fit_step_cost` finds the one constant *k* (cost of a trie step in linear tests) that best
maps our count ratio onto Asterisk's published ratios, so the two curves can be compared in shape.
"""
from __future__ import annotations

import random
from typing import Iterable, Mapping

import pandas as pd
from scipy.stats import gmean

from iaxsim.errors import IaxsimError

__all__ = ["ASTERISK_TRIE_SPEEDUP", "lookup_costs", "matcher_cost_curve", "fit_step_cost"]

#: Speed-up of the trie over the linear matcher quoted in Asterisk's sample extensions.conf
#: (extensions in the context → times faster).
ASTERISK_TRIE_SPEEDUP: dict[int, float] = {50: 1.32, 88: 2.23, 138: 3.44, 238: 5.8, 438: 10.4,
                                           1000: 25.0, 10000: 374.0}


def _context_numbers(n: int, length: int, seed: int) -> list[str]:
    """``n`` distinct ``length``-digit numbers drawn from [2…, 9…) (seeded), sorted."""
    lo, hi = 2 * 10 ** (length - 1), 9 * 10 ** (length - 1)
    if n > hi - lo:
        raise IaxsimError(f"{n} extensions do not fit in {length}-digit numbers; use a longer length")
    rng = random.Random(seed)
    return sorted(str(x) for x in rng.sample(range(lo, hi), n))


def lookup_costs(numbers: Iterable[str], sample: Iterable[str]) -> dict[str, float]:
    """Mean comparisons per lookup of ``sample`` in a context holding ``numbers`` as literal
    extensions, for each engine (``{"linear": …, "trie": …}``). Every sampled number must be found."""
    from iaxsim.dialplan import Dialplan

    numbers = list(numbers)
    sample = list(sample)
    if not sample:
        raise IaxsimError("lookup_costs needs at least one number to look up")
    text = "[external]\n" + "".join(f"exten => {x},1,Dial(SIP/{x})\n" for x in numbers)
    dp = Dialplan.from_string(text, f"<{len(numbers)} extensions>")
    mean = {}
    for engine in ("linear", "trie"):
        total = 0
        for number in sample:
            ext, cost = dp.lookup(number, "external", engine=engine)
            if ext is None or ext.name != number:
                raise IaxsimError(f"{engine} matcher did not find {number} among {len(numbers)} extensions")
            total += cost.comparisons
        mean[engine] = total / len(sample)
    return mean


def matcher_cost_curve(sizes: Iterable[int], lookups: int = 200, length: int = 5,
                       seed: int = 0) -> pd.DataFrame:
    """Mean comparisons per successful lookup in a context of ``n`` literal extensions, per engine.

    Columns: ``extensions``, ``linear``, ``trie`` (mean comparisons per lookup), ``ratio``
    (linear ÷ trie) and ``lookups``. Numbers and the looked-up sample come from ``seed``.
    """
    rows = []
    for n in sizes:
        if not isinstance(n, int) or n < 1:
            raise IaxsimError(f"context size must be a positive integer, not {n!r}")
        numbers = _context_numbers(n, length, seed)
        rng = random.Random(seed + n)
        mean = lookup_costs(numbers, [rng.choice(numbers) for _ in range(lookups)])
        rows.append({"extensions": n, "linear": mean["linear"], "trie": mean["trie"],
                     "ratio": mean["linear"] / mean["trie"], "lookups": lookups})
    return pd.DataFrame(rows)


def fit_step_cost(curve: pd.DataFrame, published: Mapping[int, float] = ASTERISK_TRIE_SPEEDUP) -> float:
    """Least-squares (in log space) cost ``k`` of one trie step in linear tests: ratio / k ≈ published.

    Uses the sizes present in both ``curve`` and ``published``; that is the geometric mean of
    ``ratio / published`` over them.
    """
    common = [(r, published[int(n)]) for n, r in zip(curve["extensions"], curve["ratio"])
              if int(n) in published]
    if not common:
        raise IaxsimError("no context size of the curve has a published speed-up to compare with")
    return float(gmean([r / p for r, p in common]))
