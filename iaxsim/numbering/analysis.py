"""Numbering-plan analysis: conflicts, prefix hazards, pattern overlap, reserved prefixes.

``analyze(plan)`` returns a :class:`PlanAnalysis` holding DataFrames and a text summary.

Definitions (all counts are over distinct numbers unless stated):

* **conflict** — one number owned by two or more servers: unroutable, the linked servers
  cannot tell which phone is meant.
* **prefix hazard** — a pair (short, long) where ``short`` is a proper prefix of ``long``
  (``600`` and ``6001``). Dialling ``short`` keeps Asterisk waiting the inter-digit timeout
  (5 s by default, TIMEOUT(digit)) because more digits could still match. ``scope`` says
  whether the two numbers sit on different servers (``cross-server``) or one (``same server``).
* **pattern overlap** — with the link.conf patterns generated in ``mode`` (see
  :mod:`iaxsim.numbering.generate`), ``pattern_overlap.loc[A, B]`` is how many of B's
  extensions A's patterns match. ``routes`` lists, per dialled number, its owners and the
  *candidates*: every server whose patterns match it (what a linked server may try).
* **overlap score** — computed on blocks of ``10**block_digits`` numbers (same length, same
  leading digits) whatever ``mode`` is. For a pair (A, B) it is the share of their
  extensions that lie in a block the other one also uses:
  ``(A's extensions in B's blocks + B's extensions in A's blocks) / (|A| + |B|)``; for the
  plan it is the share of all extensions lying in a block used by more than one server.
  0 = every server keeps to its own blocks; 1 = every block is shared (fully interleaved).
* **reserved-prefix collision** — an extension that starts with a reserved prefix (the
  outside-line digit, an emergency number, any extra reserved prefix) or is itself a
  prefix of one: either way the dialled digits become ambiguous.
* **length uniformity** — the extension lengths per server; a plan is uniform when all its
  extensions have one length (the usual remedy for prefix hazards).
"""
from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from iaxsim.numbering.generate import MODES, claim_key, link_conf_sizes, server_patterns
from iaxsim.numbering.plan import NumberingPlan, PlanError

__all__ = ["analyze", "PlanAnalysis", "DEFAULT_OUTSIDE_LINE", "DEFAULT_EMERGENCY",
           "DIGIT_TIMEOUT_S", "find_prefix_pairs"]

DEFAULT_OUTSIDE_LINE = ("9",)
DEFAULT_EMERGENCY = ("112", "911", "999")
DIGIT_TIMEOUT_S = 5.0
_LIST_LIMIT = 10


@dataclass
class PlanAnalysis:
    """The result of :func:`analyze`; DataFrames plus headline numbers and :meth:`summary`."""

    plan: NumberingPlan
    mode: str
    block_digits: int
    digit_timeout: float
    conflicts: pd.DataFrame
    prefix_hazards: pd.DataFrame
    pattern_overlap: pd.DataFrame
    pair_scores: pd.DataFrame
    routes: pd.DataFrame
    lengths: pd.DataFrame
    reserved_collisions: pd.DataFrame
    pattern_counts: dict[str, int]
    overlap_score: float
    reserved: dict[str, tuple[str, ...]] = field(default_factory=dict)
    link_sizes: dict[str, int] | None = None

    @property
    def n_conflicts(self) -> int:
        """Numbers owned by more than one server."""
        return len(self.conflicts)

    @property
    def n_prefix_hazards(self) -> int:
        """(short, long) prefix pairs, same-server and cross-server."""
        return len(self.prefix_hazards)

    @property
    def n_reserved_collisions(self) -> int:
        """Extensions colliding with a reserved prefix."""
        return len(self.reserved_collisions)

    @property
    def uniform_length(self) -> bool:
        """True when every extension of the plan has the same length."""
        return self.lengths["length"].nunique() <= 1

    @property
    def is_clean(self) -> bool:
        """No conflict, no prefix hazard, no reserved collision."""
        return not (self.n_conflicts or self.n_prefix_hazards or self.n_reserved_collisions)

    @property
    def candidate_histogram(self) -> pd.Series:
        """How many dialled numbers have 0, 1, 2 … candidate servers."""
        return self.routes["n_candidates"].value_counts().sort_index()

    def __str__(self) -> str:
        return self.summary()

    TABLES = ("conflicts", "prefix_hazards", "pattern_overlap", "pair_scores", "routes", "lengths",
              "reserved_collisions")

    def write_tables(self, folder: str | Path) -> list[Path]:
        """Write every DataFrame as ``folder/<name>.csv`` (tuples joined with ``;``)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in self.TABLES:
            df = getattr(self, name).copy()
            for col in df.columns:
                if df[col].dtype == object:
                    df[col] = df[col].map(lambda v: ";".join(v) if isinstance(v, tuple) else v)
            path = out / f"{name}.csv"
            df.to_csv(path, index=(name == "pattern_overlap"))
            written.append(path)
        return written

    def to_dict(self) -> dict[str, object]:
        """Headline figures and findings as plain JSON-ready data."""
        ps, hist = self.pair_scores, self.candidate_histogram
        return {
            "servers": list(self.plan.servers),
            "extensions": len(self.plan),
            "mode": self.mode,
            "block_digits": self.block_digits,
            "pattern_counts": dict(self.pattern_counts),
            "link_conf_sizes": dict(self.link_sizes) if self.link_sizes is not None else None,
            "conflicts": [{"number": n, "servers": list(servers)}
                          for n, servers in zip(self.conflicts["number"], self.conflicts["servers"])],
            "prefix_hazards": [{"short": r.short, "long": r.long, "scope": r.scope}
                               for r in self.prefix_hazards.itertuples()],
            "reserved_collisions": [{"server": r.server, "extension": r.extension,
                                     "reserved": r.reserved, "kind": r.kind}
                                    for r in self.reserved_collisions.itertuples()],
            "uniform_length": bool(self.uniform_length),
            "overlap_score": float(self.overlap_score),
            "pair_scores": [{"a": a, "b": b, "score": float(score)} for a, b, score in
                            zip(ps["server_a"], ps["server_b"], ps["score"])],
            "candidates_histogram": {int(k): int(v) for k, v in
                                     zip(hist.index.tolist(), hist.tolist())},
            "clean": bool(self.is_clean),
        }

    def summary(self, limit: int = _LIST_LIMIT) -> str:
        """A readable multi-line report, listing at most ``limit`` items per finding."""
        plan = self.plan
        out = []
        lens = self.lengths.groupby("length")["count"].sum()
        len_txt = ", ".join(f"{n} of {length} digits" for length, n in lens.items())
        out.append(f"Plan: {len(plan.servers)} servers, {len(plan)} extensions ({len_txt or 'none'})")
        for s in plan.servers:
            exts = plan.extensions[s]
            span = f"{exts[0]}..{exts[-1]}" if exts else "-"
            out.append(f"  {s}: {len(exts)} extension{'s' if len(exts) != 1 else ''}, {span}, "
                       f"reached by {self.pattern_counts[s]} pattern(s)")
        block = 10 ** self.block_digits
        out.append(f"Link patterns: {self.mode} mode"
                   + (f" ({block}-number blocks)" if self.mode == "block" else "")
                   + f", {sum(self.pattern_counts.values())} reaching the servers in total")
        if self.link_sizes is not None:
            out.append("Patterns in each server's own link.conf: "
                       + ", ".join(f"{s} {n}" for s, n in self.link_sizes.items()))
        out.append("")
        out.append(f"Conflicts (same number on several servers, unroutable): {self.n_conflicts}")
        head = self.conflicts.head(limit)
        for number, servers in zip(head["number"], head["servers"]):
            out.append(f"  {number}: {', '.join(servers)}")
        _more(out, self.n_conflicts, limit)
        cross = int((self.prefix_hazards["scope"] == "cross-server").sum()) if self.n_prefix_hazards else 0
        out.append(f"Prefix hazards (dialling the shorter number waits the {self.digit_timeout:g} s "
                   f"digit timeout): {self.n_prefix_hazards} ({cross} cross-server)")
        head = self.prefix_hazards.head(limit)
        for short, short_servers, long, long_servers in zip(
                head["short"], head["short_servers"], head["long"], head["long_servers"]):
            out.append(f"  {short} ({', '.join(short_servers)}) is a prefix of "
                       f"{long} ({', '.join(long_servers)})")
        _more(out, self.n_prefix_hazards, limit)
        res = ", ".join(f"{k} {'/'.join(v)}" for k, v in self.reserved.items() if v)
        out.append(f"Reserved-prefix collisions ({res or 'none reserved'}): {self.n_reserved_collisions}")
        for row in self.reserved_collisions.head(limit).itertuples():
            out.append(f"  {row.server} {row.extension} collides with {row.kind} {row.reserved}")
        _more(out, self.n_reserved_collisions, limit)
        if self.uniform_length:
            out.append("Length: uniform")
        else:
            per = (self.lengths.groupby("server")["length"]
                   .apply(lambda s: "/".join(str(x) for x in sorted(s))))
            out.append("Length: NOT uniform (" + ", ".join(f"{s} {per[s]}" for s in per.index) + ")")
        out.append("")
        out.append(f"Overlap score: {self.overlap_score:.2f} "
                   f"(0 = disjoint blocks, 1 = fully interleaved; {block}-number blocks)")
        shared = self.pair_scores[self.pair_scores["score"] > 0].sort_values("score", ascending=False)
        for row in shared.head(limit).itertuples():
            out.append(f"  {row.server_a}-{row.server_b}: {row.score:.2f} "
                       f"({row.b_in_a_blocks} of {row.server_b}'s extensions in {row.server_a}'s blocks, "
                       f"{row.a_in_b_blocks} of {row.server_a}'s in {row.server_b}'s)")
        _more(out, len(shared), limit)
        hist = self.candidate_histogram
        out.append("Candidate servers per dialled number: "
                   + (", ".join(f"{k}: {v}" for k, v in hist.items()) or "none"))
        waits = int(self.routes["waits"].sum())
        out.append(f"Numbers that wait the digit timeout when dialled: {waits}")
        out.append("")
        out.append("Verdict: " + ("clean" if self.is_clean and self.overlap_score == 0 else
                                  "clean but interleaved (more patterns and candidates than needed)"
                                  if self.is_clean else "needs attention"))
        return "\n".join(out)


def _more(out: list[str], total: int, limit: int) -> None:
    if total > limit:
        out.append(f"  ... and {total - limit} more")


def find_prefix_pairs(numbers: Iterable[str]) -> list[tuple[str, str]]:
    """Every (short, long) pair of distinct numbers where ``short`` is a prefix of ``long``."""
    ordered = sorted(set(numbers))
    pairs = []
    for i, n in enumerate(ordered):
        j = bisect.bisect_left(ordered, n + ":", i + 1)  # ':' sorts right after '9'
        for k in range(i + 1, j):
            pairs.append((n, ordered[k]))
    return pairs


def analyze(plan: NumberingPlan, mode: str = "block", block_digits: int = 2,
            outside_line: Iterable[str] = DEFAULT_OUTSIDE_LINE,
            emergency: Iterable[str] = DEFAULT_EMERGENCY,
            reserved: Iterable[str] = (), digit_timeout: float = DIGIT_TIMEOUT_S,
            link_sizes: bool = False) -> PlanAnalysis:
    """Analyse ``plan``: see the module docstring for every definition.

    ``mode``/``block_digits`` choose the link.conf patterns whose overlap is measured;
    ``outside_line``, ``emergency`` and ``reserved`` are the prefixes extensions must avoid.
    ``link_sizes=True`` also counts the patterns of every server's own link.conf (one cover
    per server of everybody else's numbers: seconds on 100k-extension plans).
    """
    if mode not in MODES:
        raise PlanError(f"unknown link.conf mode {mode!r} (choose from {', '.join(MODES)})")
    if not isinstance(block_digits, int) or block_digits < 0:
        raise PlanError(f"block_digits must be a non-negative integer, not {block_digits!r}")
    reserved_map = {"outside-line prefix": _digits(outside_line, "outside_line"),
                    "emergency number": _digits(emergency, "emergency"),
                    "reserved prefix": _digits(reserved, "reserved")}
    owners = plan.owners()

    conflicts = pd.DataFrame(
        [(n, s, len(s)) for n, s in sorted(owners.items(), key=lambda kv: (len(kv[0]), kv[0]))
         if len(s) > 1], columns=["number", "servers", "n_servers"])

    hazard_rows = []
    for short, long in find_prefix_pairs(owners):
        short_owners, long_owners = owners[short], owners[long]
        scope = "same server" if len(short_owners) == 1 and short_owners == long_owners else "cross-server"
        hazard_rows.append((short, short_owners, long, long_owners, scope))
    hazards = pd.DataFrame(hazard_rows, columns=["short", "short_servers", "long", "long_servers", "scope"])

    # --- claims: which servers' patterns match which claim unit
    def claims_for(m: str) -> tuple[dict[tuple[int, str], list[str]],
                                    dict[tuple[int, str], Counter[str]]]:
        key_servers: dict[tuple[int, str], list[str]] = {}
        key_counts: dict[tuple[int, str], Counter[str]] = {}
        for s in plan.servers:
            for e in plan.extensions[s]:
                key = claim_key(e, m, block_digits)
                c = key_counts.get(key)
                if c is None:
                    key_counts[key] = c = Counter()
                    key_servers[key] = []
                if not c[s]:
                    key_servers[key].append(s)
                c[s] += 1
        return key_servers, key_counts

    mode_servers, mode_counts = claims_for(mode)
    block_servers, block_counts = (mode_servers, mode_counts) if mode == "block" else claims_for("block")

    overlap = {a: {b: 0 for b in plan.servers} for a in plan.servers}
    for key, servers in mode_servers.items():
        if len(servers) < 2:
            continue
        counts = mode_counts[key]
        for a in servers:
            for b in servers:
                if a != b:
                    overlap[a][b] += counts[b]
    pattern_overlap = pd.DataFrame(overlap, dtype="int64").T.reindex(index=list(plan.servers),
                                                                      columns=list(plan.servers))
    pattern_overlap.index.name = "patterns_of"
    pattern_overlap.columns.name = "extensions_of"

    block_pair: dict[str, Counter[str]] = {a: Counter() for a in plan.servers}
    shared_total = 0
    for key, servers in block_servers.items():
        if len(servers) < 2:
            continue
        counts = block_counts[key]
        shared_total += sum(counts.values())
        for a in servers:
            for b in servers:
                if a != b:
                    block_pair[a][b] += counts[b]
    pair_rows = []
    sizes = {s: len(plan.extensions[s]) for s in plan.servers}
    for i, a in enumerate(plan.servers):
        for b in plan.servers[i + 1:]:
            b_in_a, a_in_b = block_pair[a][b], block_pair[b][a]
            denom = sizes[a] + sizes[b]
            pair_rows.append((a, b, a_in_b, b_in_a, (a_in_b + b_in_a) / denom if denom else 0.0))
    pair_scores = pd.DataFrame(pair_rows, columns=["server_a", "server_b", "a_in_b_blocks",
                                                   "b_in_a_blocks", "score"])
    overlap_score = shared_total / len(plan) if len(plan) else 0.0

    # --- routes per dialled number
    by_len: dict[int, tuple[int, list[str], set[str]]] = {}
    for length, prefix in mode_servers:
        entry = by_len.setdefault(length, (len(prefix), [], set()))
        entry[2].add(prefix)
    by_len = {length: (m, sorted(ps), ps) for length, (m, _, ps) in by_len.items()}
    lengths_sorted = sorted(by_len)
    route_rows = []
    exact = mode == "exact"
    for n in sorted(owners, key=lambda x: (len(x), x)):
        ln = len(n)
        key = (ln, n) if exact else (ln, n[:ln - min(block_digits, ln - 1)])
        cands = tuple(mode_servers.get(key, ()))
        own = owners[n]
        wrong = len(cands) - sum(1 for o in own if o in cands)
        waits = False
        for length in lengths_sorted[bisect.bisect_right(lengths_sorted, len(n)):]:
            m, ordered, pset = by_len[length]
            if len(n) >= m:
                if n[:m] in pset:
                    waits = True
                    break
            else:
                i = bisect.bisect_left(ordered, n)
                if i < len(ordered) and ordered[i].startswith(n):
                    waits = True
                    break
        route_rows.append((n, own, cands, len(cands), wrong, waits))
    routes = pd.DataFrame(route_rows, columns=["number", "owners", "candidates", "n_candidates",
                                               "wrong_candidates", "waits"])

    len_rows = []
    for s in plan.servers:
        for length, count in sorted(Counter(len(e) for e in plan.extensions[s]).items()):
            len_rows.append((s, length, count))
    lengths = pd.DataFrame(len_rows, columns=["server", "length", "count"])

    res_rows = []
    for s in plan.servers:
        for e in plan.extensions[s]:
            for kind, prefixes in reserved_map.items():
                for r in prefixes:
                    if e.startswith(r) or r.startswith(e):
                        res_rows.append((s, e, r, kind))
    reserved_collisions = pd.DataFrame(res_rows, columns=["server", "extension", "reserved", "kind"])

    pattern_counts = {s: len(server_patterns(plan, s, mode, block_digits)) for s in plan.servers}
    sizes_out = link_conf_sizes(plan, mode, block_digits) if link_sizes else None
    return PlanAnalysis(plan, mode, block_digits, digit_timeout, conflicts, hazards, pattern_overlap,
                        pair_scores, routes, lengths, reserved_collisions, pattern_counts, overlap_score,
                        {k: v for k, v in reserved_map.items()}, sizes_out)


def _digits(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    out = []
    for v in values:
        v = str(v).strip()
        if not v.isdigit() or not v.isascii():
            raise PlanError(f"{what}: {v!r} is not a digit prefix")
        out.append(v)
    return tuple(out)
