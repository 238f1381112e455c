"""Renumbering proposal: give every server its own leading digit(s) with the fewest changes.

The scheme (what "fewest changes" is measured over):

* every new extension has one length ``L`` (by default the plan's most common length,
  lengthened when a server would not fit), so no prefix hazard can remain;
* the number space is cut into *units*: the ``k``-digit leading prefixes (``k = 1``: one
  leading digit per unit; when the servers outnumber the free leading digits, ``k = 2``
  — a two-digit site prefix — and so on). A unit is free when its first digit is not ``0``
  and it does not start with a reserved prefix (outside-line digit, emergency number,
  extra reserved prefixes);
* each server gets at least one unit and no unit goes to two servers, so no two servers
  share a number (no conflict);
* an extension is *kept* when it already has length ``L``, starts with one of its server's
  units and collides with no reserved prefix; every other extension is *changed*.

The assignment maximising kept extensions is exact: choosing one "mandatory" unit per
server and giving every other unit to the server with most extensions in it reduces to a
rectangular assignment problem (cost = best(u) − value(s, u)), solved by SciPy's
``linear_sum_assignment``; ties go to the proposal handing out the fewest units (see
:func:`assign_units`). Changed extensions get ``unit + old last digits`` when that is free (``6012 →
7012``), else the lowest free number in the server's units.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from iaxsim.numbering.analysis import (DEFAULT_EMERGENCY, DEFAULT_OUTSIDE_LINE, PlanAnalysis,
                                       _digits, analyze)
from iaxsim.numbering.plan import NumberingPlan, PlanError

__all__ = ["renumber", "RenumberResult", "free_units", "assign_units"]


@dataclass
class RenumberResult:
    """A renumbering proposal: old → new table, the new plan, and both analyses."""

    mapping: pd.DataFrame  # server, old, new, changed
    plan: NumberingPlan
    units: dict[str, tuple[str, ...]]
    length: int
    unit_digits: int
    before: PlanAnalysis
    after: PlanAnalysis

    @property
    def n_changed(self) -> int:
        """How many extensions get a new number."""
        return int(self.mapping["changed"].sum())

    def summary(self, limit: int = 20) -> str:
        """Readable proposal: scheme, counts, the first changes, before/after headline numbers."""
        out = [f"Renumbering: {self.n_changed} of {len(self.mapping)} extensions change "
               f"(length {self.length}, {self.unit_digits}-digit leading prefixes)"]
        for s, units in self.units.items():
            kept = int(((self.mapping["server"] == s) & ~self.mapping["changed"]).sum())
            total = int((self.mapping["server"] == s).sum())
            out.append(f"  {s}: prefixes {', '.join(units)}; keeps {kept} of {total}")
        changed = self.mapping[self.mapping["changed"]]
        for row in changed.head(limit).itertuples():
            out.append(f"  {row.server} {row.old} -> {row.new}")
        if len(changed) > limit:
            out.append(f"  ... and {len(changed) - limit} more")
        b, a = self.before, self.after
        out.append("Before -> after: conflicts {} -> {}, prefix hazards {} -> {}, reserved collisions "
                   "{} -> {}, overlap score {:.2f} -> {:.2f}, link.conf patterns {} -> {}".format(
                       b.n_conflicts, a.n_conflicts, b.n_prefix_hazards, a.n_prefix_hazards,
                       b.n_reserved_collisions, a.n_reserved_collisions, b.overlap_score,
                       a.overlap_score, sum(b.pattern_counts.values()), sum(a.pattern_counts.values())))
        return "\n".join(out)


def _collides(number: str, reserved: tuple[str, ...]) -> bool:
    return any(number.startswith(r) or r.startswith(number) for r in reserved)


def free_units(k: int, reserved: tuple[str, ...], first_digits: str = "123456789") -> list[str]:
    """Every ``k``-digit leading prefix whose first digit is allowed and that no reserved prefix covers."""
    out = []
    for first in first_digits:
        for rest in range(10 ** (k - 1)):
            unit = first + (str(rest).zfill(k - 1) if k > 1 else "")
            if not any(unit.startswith(r) for r in reserved):
                out.append(unit)
    return out


def _unit_capacity(unit: str, length: int, reserved: tuple[str, ...]) -> int:
    """Numbers of ``length`` digits under ``unit`` that collide with no reserved prefix."""
    total = 10 ** (length - len(unit))
    for r in reserved:
        if r.startswith(unit) and len(r) <= length:
            total -= 10 ** (length - len(r))
        elif unit.startswith(r):
            return 0
    return max(total, 0)


def assign_units(values: np.ndarray) -> list[set[int]]:
    """Give each row (server) >= 1 column (unit), each column to <= 1 row, maximising value sum.

    ``values[s, u]`` = extensions server ``s`` keeps if it owns unit ``u``. Returns, per
    server, the set of unit indices it gets. Each server's one mandatory unit is a
    rectangular assignment (:func:`scipy.optimize.linear_sum_assignment`); every other unit
    worth something goes to the server keeping most in it (the first such server on a tie).

    Among assignments keeping as many extensions, the fewest units are handed out: a
    server gets a spare unit (one worth nothing to anyone) only when it would own no unit
    otherwise, and the spare units are the lowest free ones, given out in server order.
    """
    n, m = values.shape
    if n > m:
        raise ValueError(f"assign_units: {n} servers but only {m} units")
    best = values.max(axis=0)
    spare = best <= 0
    # Lexicographic cost in one integer-valued matrix: extensions lost first, then the
    # number of spare units taken, then their positions. A spare term is n*m + index, so
    # the n picks' spare terms add up to less than the weight of one lost extension.
    tie = np.where(spare, n * m + np.arange(m), 0)
    cost = (best[None, :] - values) * (n * (n * m + m) + 1) + tie[None, :]
    _, cols = linear_sum_assignment(cost)
    mandatory = [int(u) for u in cols]
    spares = iter(sorted(u for u in mandatory if spare[u]))
    mandatory = [next(spares) if spare[u] else u for u in mandatory]
    owned = [{u} for u in mandatory]
    for u in range(m):
        if u not in mandatory and not spare[u]:
            owned[int(np.argmax(values[:, u]))].add(u)
    return owned


def renumber(plan: NumberingPlan, outside_line: Iterable[str] = DEFAULT_OUTSIDE_LINE,
             emergency: Iterable[str] = DEFAULT_EMERGENCY, reserved: Iterable[str] = (),
             length: int | None = None, unit_digits: int | None = None,
             first_digits: str = "123456789", mode: str = "block",
             block_digits: int = 2) -> RenumberResult:
    """Propose a renumbering of ``plan`` (see the module docstring for the scheme).

    ``length`` and ``unit_digits`` override the automatic choices; ``first_digits`` lists
    the leading digits units may start with (``0`` is excluded by default); ``mode`` and
    ``block_digits`` are passed to the before/after :func:`analyze`.
    """
    if not plan.servers:
        raise PlanError("renumber: the plan has no servers")
    res = (_digits(outside_line, "outside_line") + _digits(emergency, "emergency")
           + _digits(reserved, "reserved"))
    if not first_digits or not all(c in "0123456789" for c in first_digits):
        raise PlanError(f"first_digits must be digits, not {first_digits!r}")
    n = len(plan.servers)
    sizes = [len(plan.extensions[s]) for s in plan.servers]

    k = unit_digits
    if k is None:
        k = 1
        while len(free_units(k, res, first_digits)) < n:
            k += 1
            if k > 6:
                raise PlanError("renumber: no scheme of leading prefixes fits this many servers")
    units = free_units(k, res, first_digits)
    if len(units) < n:
        raise PlanError(f"renumber: {n} servers but only {len(units)} free {k}-digit prefixes")

    if length is None:
        lengths = Counter(len(e) for s in plan.servers for e in plan.extensions[s])
        length = max(lengths.items(), key=lambda kv: (kv[1], kv[0]))[0] if lengths else k + 2
        length = max(length, k + 1)
        while min(sorted((_unit_capacity(u, length, res) for u in units), reverse=True)[:n]) < max(sizes):
            length += 1
    elif length <= k:
        raise PlanError(f"renumber: length {length} leaves no digits after the {k}-digit prefix")

    unit_index = {u: i for i, u in enumerate(units)}
    values = np.zeros((n, len(units)))
    for si, s in enumerate(plan.servers):
        for e in plan.extensions[s]:
            if len(e) == length and not _collides(e, res):
                ui = unit_index.get(e[:k])
                if ui is not None:
                    values[si, ui] += 1
    owned = assign_units(values)

    rows = []
    new_plan: dict[str, list[str]] = {}
    names: dict[tuple[str, str], str] = {}
    for si, s in enumerate(plan.servers):
        my_units = sorted(units[i] for i in owned[si])
        unit_set = set(my_units)
        exts = plan.extensions[s]
        kept = {e for e in exts if len(e) == length and e[:k] in unit_set and not _collides(e, res)}
        used = set(kept)
        if sum(_unit_capacity(u, length, res) for u in my_units) < len(exts):
            raise PlanError(f"renumber: server {s} does not fit in {length}-digit numbers; "
                            "pass a longer length")
        pool = _free_numbers(my_units, length, res, used)
        mapping = {}
        for e in exts:
            if e in kept:
                mapping[e] = e
                continue
            tail = e.zfill(length - k)[-(length - k):]
            guess = None
            for u in my_units:
                cand = u + tail
                if cand not in used and not _collides(cand, res):
                    guess = cand
                    break
            if guess is None:
                guess = next(x for x in pool if x not in used)
            used.add(guess)
            mapping[e] = guess
        for e in exts:
            rows.append((s, e, mapping[e], mapping[e] != e))
            if (s, e) in plan.names:
                names[(s, mapping[e])] = plan.names[(s, e)]
        new_plan[s] = sorted(mapping.values())
    table = pd.DataFrame(rows, columns=["server", "old", "new", "changed"])
    new = NumberingPlan.from_dict(new_plan, names=names)
    before, after = (analyze(p, outside_line=outside_line, emergency=emergency, reserved=reserved,
                             mode=mode, block_digits=block_digits) for p in (plan, new))
    return RenumberResult(table, new, {s: tuple(sorted(units[i] for i in owned[si]))
                                       for si, s in enumerate(plan.servers)},
                          length, k, before, after)


def _free_numbers(units: list[str], length: int, reserved: tuple[str, ...],
                  used: set[str]) -> Iterator[str]:
    """Lazily yield free numbers of ``length`` under ``units``, lowest first."""
    for u in units:
        width = length - len(u)
        for i in range(10 ** width):
            cand = u + str(i).zfill(width)
            if cand not in used and not _collides(cand, reserved):
                yield cand
