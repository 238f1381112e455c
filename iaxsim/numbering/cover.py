"""Pattern cover: few Asterisk patterns that match exactly a set of extensions.

``cover(["6000", …, "6099"]) == ["_60XX"]`` and 6000–6049 gives ``["_60[0-4]X"]``.

A pattern over digits is a product of digit sets, one set per position (``_60[0-4]X`` =
{6}×{0}×{0..4}×{0..9}); it is kept internally as a tuple of 10-bit masks. The cover is
built in three steps:

1. *Factor*: the numbers of one length form a trie; tries are hash-consed so that equal
   sub-tries (equal suffix sets) are one node. At each node the digits leading to the same
   child are merged into one set, and the child's cover is appended to it. Patterns
   produced this way are pairwise disjoint and their union is exactly the input.
2. *Merge*: two patterns that differ in exactly one position are replaced by one with the
   union of the two sets there (the union of two such products is again a product);
   repeated until nothing merges.
3. The same is done on the reversed numbers (factoring from the last digit); the smaller
   result wins (skipped when the forward cover exceeds ``REVERSE_LIMIT`` patterns).
4. *Expand and drop* (as Espresso does): each pattern, largest first, gains every digit
   at every position that keeps it inside the set; patterns may now overlap (harmless: they
   route to the same server), and a pattern whose numbers are all matched by other kept
   patterns is dropped, smallest first.

The cover is always exact. It is minimal for sets of up to ``EXACT_LIMIT`` numbers per
length (step 5) and for single ranges; for larger scattered sets it is a small cover, not
a proven minimum — the general problem is multi-valued logic minimisation (NP-hard).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import product

__all__ = ["cover", "cover_masks", "numbers_from_specs", "render", "parse_simple", "pattern_size",
           "ALL_DIGITS", "verify_cover"]

ALL_DIGITS = 0x3FF  # bits 0..9
#: Step 3 (factoring the reversed numbers) runs only while the forward cover has at most
#: this many patterns: on large scattered sets it costs 15 % and saved < 0.1 % of patterns.
REVERSE_LIMIT = 2000
#: Step 4 (expand and drop) runs only on covers of at most this many patterns (cost).
EXPAND_LIMIT = 5000
#: Step 5 (exact minimum) runs on sets of at most this many numbers of one length.
EXACT_LIMIT = 32
_Z = 0x3FE  # 1-9
_N = 0x3FC  # 2-9

Masks = tuple[int, ...]


def cover_masks(numbers: Iterable[str]) -> list[Masks]:
    """The cover of ``numbers`` (digit strings) as tuples of digit masks, sorted."""
    by_len: dict[int, set[str]] = {}
    for n in numbers:
        if not n.isdigit() or not n.isascii():
            raise ValueError(f"cover: {n!r} is not a digit string")
        by_len.setdefault(len(n), set()).add(n)
    out: list[Masks] = []
    for length in sorted(by_len):
        group = by_len[length]
        fwd = _merge(_factor(sorted(group)))
        if 1 < len(fwd) <= REVERSE_LIMIT:
            rev = _merge(_factor(sorted(s[::-1] for s in group)))
            if len(rev) < len(fwd):
                fwd = [tuple(reversed(p)) for p in rev]
        if 1 < len(fwd) <= EXPAND_LIMIT:
            pairs, grew = _expand(fwd, group)
            if grew:
                fwd = _irredundant(pairs)
        if len(fwd) > 1 and len(group) <= EXACT_LIMIT:
            better = _exact_minimum(group, length, len(fwd))
            if better is not None:
                fwd = better
        out.extend(sorted(fwd, key=_order_key))
    return out


def _primes(numbers: frozenset[str], length: int,
            memo: dict[frozenset[str], list[Masks]]) -> list[Masks]:
    """Every maximal product of digit sets inside ``numbers`` (all of one ``length``)."""
    if length == 0:
        return [()]
    if length == 1:
        mask = 0
        for n in numbers:
            mask |= 1 << (ord(n) - 48)
        return [(mask,)]
    got = memo.get(numbers)
    if got is not None:
        return got
    tmp: dict[int, set[str]] = {}
    for n in numbers:
        tmp.setdefault(ord(n[0]) - 48, set()).add(n[1:])
    by_first = {d: frozenset(v) for d, v in tmp.items()}
    digits = sorted(by_first)
    found: dict[Masks, list[int]] = {}  # tail -> masks seen with it

    def grow(i: int, mask: int, common: frozenset[str]) -> None:
        for tail in _primes(common, length - 1, memo):
            found.setdefault(tail, []).append(mask)
        for j in range(i + 1, len(digits)):
            nxt = common & by_first[digits[j]]
            if nxt:
                grow(j, mask | (1 << digits[j]), nxt)

    for i, d in enumerate(digits):
        grow(i, 1 << d, by_first[d])
    out = []
    for tail, masks in found.items():
        kept: list[int] = []  # maximal: no other mask with the same tail contains this one
        for m in sorted(masks, key=lambda x: -_POP[x]):
            if not any(k & m == m for k in kept):
                kept.append(m)
                out.append((m,) + tail)
    memo[numbers] = out
    return out


def _exact_minimum(group: set[str], length: int, upper: int,
                   budget: int = 20_000) -> list[Masks] | None:
    """A cover with fewer than ``upper`` patterns, as small as possible, or None.

    Branch and bound over the maximal products (every minimum cover can be made of
    maximal ones): take the uncovered number with the fewest products covering it and try
    each. ``budget`` bounds the search nodes; the best cover found is exact either way.
    """
    primes = _primes(frozenset(group), length, {})
    if len(primes) > 400:
        return None
    members = [frozenset(_members(p)) for p in primes]
    covering: dict[str, list[int]] = {n: [] for n in group}
    for i, mem in enumerate(members):
        for n in mem:
            covering[n].append(i)
    biggest = max(len(m) for m in members)
    best_size = upper
    best: list[int] | None = None
    nodes = 0

    def search(uncovered: frozenset[str], chosen: list[int]) -> None:
        nonlocal best_size, best, nodes
        if not uncovered:
            if len(chosen) < best_size:
                best_size, best = len(chosen), list(chosen)
            return
        nodes += 1
        if nodes > budget or len(chosen) + -(-len(uncovered) // biggest) >= best_size:
            return
        pivot = min(uncovered, key=lambda n: len(covering[n]))
        for i in sorted(covering[pivot], key=lambda i: -len(members[i] & uncovered)):
            chosen.append(i)
            search(uncovered - members[i], chosen)
            chosen.pop()

    search(frozenset(group), [])
    if best is None:
        return None
    return [primes[i] for i in best]


def numbers_from_specs(specs: Iterable[str]) -> list[str]:
    """Expand ``["6000-6049", "6100"]`` into digit strings; ranges keep the width of ``first``."""
    from iaxsim.numbering.plan import PlanError

    out: list[str] = []
    for spec in specs:
        first, sep, last = spec.strip().partition("-")
        last = last if sep else first
        if not (first.isdigit() and last.isdigit() and first.isascii() and last.isascii()):
            raise PlanError(f"{spec!r} is not NUMBER or FIRST-LAST")
        if len(first) != len(last) or int(first) > int(last):
            raise PlanError(f"{spec!r}: a range needs equal widths and first <= last")
        out.extend(str(n).zfill(len(first)) for n in range(int(first), int(last) + 1))
    return out


def cover(numbers: Iterable[str]) -> list[str]:
    """The cover of ``numbers`` as Asterisk extension names (``_60XX``, ``6001``)."""
    return [render(p) for p in cover_masks(numbers)]


_POP = [bin(m).count("1") for m in range(1024)]
_KEY = [(_POP[m], (m & -m).bit_length()) for m in range(1024)]
_DIGITS = [[str(d) for d in range(10) if m >> d & 1] for m in range(1024)]


def _order_key(p: Masks) -> tuple[tuple[int, int], ...]:
    return tuple([_KEY[m] for m in p])


def _factor(strings: list[str]) -> list[Masks]:
    """Hash-consed trie factorisation of equal-length sorted strings."""
    if not strings:
        return []
    length = len(strings[0])
    intern: dict[tuple[tuple[int, int], ...], int] = {(): 0}
    nodes: list[tuple[tuple[int, int], ...]] = [()]  # node id -> tuple of (digit, child id)

    def build(lo: int, hi: int, pos: int) -> int:
        if pos == length:
            return 0
        kids = []
        i = lo
        while i < hi:
            ch = strings[i][pos]
            j = i + 1
            while j < hi and strings[j][pos] == ch:
                j += 1
            kids.append((ord(ch) - 48, build(i, j, pos + 1)))
            i = j
        key = tuple(kids)
        nid = intern.get(key)
        if nid is None:
            nid = len(nodes)
            intern[key] = nid
            nodes.append(key)
        return nid

    import sys
    old = sys.getrecursionlimit()
    if length + 50 > old:
        sys.setrecursionlimit(length + 100)
    root = build(0, len(strings), 0)
    memo: dict[int, list[Masks]] = {0: [()]}

    def expand(nid: int) -> list[Masks]:
        got = memo.get(nid)
        if got is not None:
            return got
        by_child: dict[int, int] = {}
        for digit, child in nodes[nid]:
            by_child[child] = by_child.get(child, 0) | (1 << digit)
        res = [(mask,) + tail for child, mask in by_child.items() for tail in expand(child)]
        memo[nid] = res
        return res

    return list(expand(root))


def _merge(patterns: list[Masks]) -> list[Masks]:
    """Merge patterns differing in exactly one position until none do."""
    if len(patterns) < 2:
        return patterns
    pats = set(patterns)
    length = len(next(iter(pats)))
    changed = True
    while changed:
        changed = False
        for pos in range(length):
            groups: dict[Masks, int] = {}
            get = groups.get
            for p in pats:
                key = p[:pos] + p[pos + 1:]
                groups[key] = get(key, 0) | p[pos]
            if len(groups) == len(pats):
                continue
            changed = True
            pats = {key[:pos] + (mask,) + key[pos:] for key, mask in groups.items()}
    return list(pats)


def _members(p: Masks) -> Iterable[str]:
    return map("".join, product(*[_DIGITS[m] for m in p]))


def _expand(patterns: list[Masks], members: set[str],
            budget: int = 2_000_000) -> tuple[list[tuple[Masks, Masks]], bool]:
    """Grow each pattern while it stays inside ``members`` (Espresso's EXPAND).

    ``slots[pos]`` maps a number with position ``pos`` removed to the mask of digits that
    complete it inside the set; the digits a pattern may hold at ``pos`` are the AND of
    that mask over every combination of its other positions. Returns the patterns and
    whether any grew.
    """
    if not patterns:
        return [], False
    length = len(patterns[0])
    slots: list[dict[str, int]] = [{} for _ in range(length)]
    for n in members:
        for pos in range(length):
            key = n[:pos] + n[pos + 1:]
            slots[pos][key] = slots[pos].get(key, 0) | (1 << (ord(n[pos]) - 48))
    out = []
    grew = False
    spent = 0
    for orig in sorted(patterns, key=pattern_size, reverse=True):
        p = list(orig)
        low = [str((m & -m).bit_length() - 1) for m in p]  # the pattern's smallest number
        for pos in range(length):
            # quick reject: the smallest number's completions add nothing at pos
            if not slots[pos].get("".join(low[:pos] + low[pos + 1:]), 0) & ~p[pos]:
                continue
            others = [_DIGITS[m] for i, m in enumerate(p) if i != pos]
            size = 1
            for o in others:
                size *= len(o)
            if spent + size > budget:
                continue
            spent += size
            slot = slots[pos]
            mask = ALL_DIGITS
            for combo in product(*others):
                mask &= slot.get("".join(combo), 0)
                if mask == p[pos]:
                    break
            if mask != p[pos]:
                p[pos] = mask
                low[pos] = str((mask & -mask).bit_length() - 1)
                grew = True
        out.append((orig, tuple(p)))
    return out, grew


def _inside(number: str, p: Masks) -> bool:
    return all(m >> (ord(c) - 48) & 1 for c, m in zip(number, p))


def _irredundant(pairs: list[tuple[Masks, Masks]]) -> list[Masks]:
    """Drop grown patterns whose every number another kept pattern also matches.

    The original patterns are disjoint, so a number ``n`` is matched ``1 + extra[n]`` times,
    where ``extra[n]`` counts the patterns that grew over it. A pattern can go when every
    one of its numbers is still matched at least twice (``extra[n] >= 1``), checked lazily
    since most patterns fail on their first number; removing it lowers the count of each of
    its numbers. Smallest patterns are tried first.
    """
    extra: dict[str, int] = {}
    for orig, grown in pairs:
        if grown != orig:
            for n in _members(grown):
                if not _inside(n, orig):
                    extra[n] = extra.get(n, 0) + 1
    if not extra:
        return [g for _, g in pairs]
    kept = []
    for _, grown in sorted(pairs, key=lambda pr: pattern_size(pr[1])):
        if all(extra.get(n, 0) >= 1 for n in _members(grown)):
            for n in _members(grown):
                extra[n] -= 1
        else:
            kept.append(grown)
    return kept


def render(p: Sequence[int]) -> str:
    """Asterisk syntax for a mask tuple: ``6001`` when every set is one digit, else ``_…``."""
    if all(m and (m & (m - 1)) == 0 for m in p):
        return "".join(str(m.bit_length() - 1) for m in p)
    return "_" + "".join(_render_set(m) for m in p)


@lru_cache(maxsize=1024)
def _render_set(m: int) -> str:
    if m <= 0 or m > ALL_DIGITS:
        raise ValueError(f"render: bad digit mask {m:#x}")
    if m & (m - 1) == 0:
        return str(m.bit_length() - 1)
    if m == ALL_DIGITS:
        return "X"
    if m == _Z:
        return "Z"
    if m == _N:
        return "N"
    digits = [d for d in range(10) if m >> d & 1]
    parts = []
    i = 0
    while i < len(digits):
        j = i
        while j + 1 < len(digits) and digits[j + 1] == digits[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{digits[i]}-{digits[j]}")
        else:
            parts.extend(str(d) for d in digits[i:j + 1])
        i = j + 1
    return "[" + "".join(parts) + "]"


def parse_simple(pattern: str) -> Masks:
    """Masks of a pattern made only of digits, ``X``/``Z``/``N`` and digit sets.

    This reads back what :func:`render` writes (used for sizes and bookkeeping); it is not
    a dialplan matcher and refuses ``.``, ``!`` and anything else.
    """
    if not pattern.startswith("_"):
        if not pattern.isdigit():
            raise ValueError(f"{pattern!r}: not a digit literal")
        return tuple(1 << (ord(c) - 48) for c in pattern)
    out = []
    s = pattern[1:]
    i = 0
    while i < len(s):
        c = s[i].upper()
        if c.isdigit():
            out.append(1 << (ord(c) - 48))
        elif c == "X":
            out.append(ALL_DIGITS)
        elif c == "Z":
            out.append(_Z)
        elif c == "N":
            out.append(_N)
        elif c == "[":
            end = s.find("]", i)
            if end < 0:
                raise ValueError(f"{pattern!r}: unterminated set")
            body = s[i + 1:end]
            mask = 0
            k = 0
            while k < len(body):
                if k + 2 < len(body) and body[k + 1] == "-":
                    a, b = body[k], body[k + 2]
                    if not (a.isdigit() and b.isdigit()) or a > b:
                        raise ValueError(f"{pattern!r}: bad range {a}-{b}")
                    for d in range(int(a), int(b) + 1):
                        mask |= 1 << d
                    k += 3
                else:
                    if not body[k].isdigit():
                        raise ValueError(f"{pattern!r}: non-digit {body[k]!r} in set")
                    mask |= 1 << int(body[k])
                    k += 1
            if not mask:
                raise ValueError(f"{pattern!r}: empty set")
            out.append(mask)
            i = end
        elif c == "-":
            pass
        else:
            raise ValueError(f"{pattern!r}: unsupported character {s[i]!r}")
        i += 1
    return tuple(out)


def pattern_size(p: Sequence[int]) -> int:
    """How many numbers a mask tuple matches."""
    size = 1
    for m in p:
        size *= _POP[m]
    return size


def verify_cover(patterns: Sequence[str], numbers: Iterable[str], context: str = "cover",
                 exhaustive_limit: int = 100_000, sample: int = 2000, seed: int = 0) -> None:
    """Check with the dialplan engine that ``patterns`` match exactly ``numbers``.

    Loads the patterns as a context and asks the engine whether each member exists; for
    non-members it asks about every number of the same length when there are at most
    ``exhaustive_limit`` of them, otherwise about every one-digit neighbour of each member
    plus ``sample`` random numbers. Raises ``AssertionError`` naming the first mismatch.
    """
    import random

    from iaxsim.dialplan import Dialplan

    members = set(numbers)
    text = f"[{context}]\n" + "".join(f"exten => {p},1,NoOp()\n" for p in patterns)
    dp = Dialplan.from_string(text, path="<cover>")
    for n in sorted(members):
        if not dp.exists(n, context):
            raise AssertionError(f"cover misses {n}")
    lengths = {len(n) for n in members}
    rng = random.Random(seed)
    probes: set[str] = set()
    for length in lengths:
        if 10 ** length <= exhaustive_limit:
            probes.update(str(i).zfill(length) for i in range(10 ** length))
        else:
            for n in members:
                if len(n) != length:
                    continue
                for pos in range(length):
                    for d in "0123456789":
                        probes.add(n[:pos] + d + n[pos + 1:])
                if len(probes) > 4 * exhaustive_limit:
                    break
            probes.update(str(rng.randrange(10 ** length)).zfill(length) for _ in range(sample))
    for n in sorted(probes - members):
        if dp.exists(n, context):
            raise AssertionError(f"cover also matches {n}, which is not in the set")
